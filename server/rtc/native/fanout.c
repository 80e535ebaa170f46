/*
 * One call per packet for every viewer of a track in its steady state
 * (server/rtc/fanout-lane.ts): for each member, its numbers offset as its
 * rewriter would, the SRTP rollover counter kept as werift's context keeps
 * it, the packet written, protected and sent through the member's route
 * (route_write), and what the sender keeps for NACKs and reports written
 * into arrays the TypeScript side owns. The members are held together in
 * one array, so a packet walks one cache-friendly list instead of a dozen
 * objects per viewer.
 */
#include <math.h>
#include <time.h>

#include "fastpath.h"

/* A member's state: a Float64Array of the TypeScript side, read and reset there. */
enum { S_PACKETS, S_PAYLOAD_BYTES, S_DATAGRAM_BYTES, S_ROC, S_LAST_SEQ, S_ROC_STARTED, S_UNSENT_SEQ, S_UNSENT_SIZE, S_COUNT };
/*
 * A record of SentPackets (sent-packets.ts): eight 32-bit words, the last
 * two a double. R_IDS: the picture ID and TL0PICIDX offsets the payload was
 * sent with (R_IDS_SHIFTED set), so a resend writes the same bytes.
 * R_BITS: the header bits in its low byte, then R_FROM_LANE, the fan-out's
 * ring (its payloads by incoming sequence number, kept on the TypeScript
 * side) in bits 9-15, the incoming sequence number in the high 16 bits.
 */
enum { R_SEQ, R_TIMESTAMP, R_ABS, R_ROC, R_BITS, R_IDS, R_RESENT_AT = 6, R_WORDS = 8 };
#define R_IDS_SHIFTED 0x80000000u
#define R_FROM_LANE 0x100u
/* The most payload bytes a picture ID rewrite touches (VP8's and VP9's descriptors put both fields well within it). */
#define PATCH_MAX 16
/* werift's rollover bounds (srtp context.js), kept the same so both sides agree on the counter. */
#define MAX_ROC_DISORDER 100u
#define MAX_SEQUENCE 65535u

typedef struct {
  Route *route;
  napi_ref routeRef;
  double *state;
  napi_ref stateRef;
  uint32_t *records;
  uint32_t recordMask;
  napi_ref recordsRef;
  int32_t *history;
  uint32_t historyMask;
  napi_ref historyRef;
  uint32_t seqOffset, tsOffset, bits;
  /* Added to the payload's picture ID (mod its width) and TL0PICIDX (mod 256), as its PictureIdMunger would. */
  uint32_t pidOffset, tl0Offset;
} Member;

typedef struct {
  uint32_t magic; /* FANOUT_MAGIC */
  Member *members;
  uint32_t count, capacity;
  /* The ring its records name (7 bits). */
  uint32_t ring;
} Fanout;

static void member_release(napi_env env, Member *m) {
  if (m->routeRef) napi_delete_reference(env, m->routeRef);
  if (m->stateRef) napi_delete_reference(env, m->stateRef);
  if (m->recordsRef) napi_delete_reference(env, m->recordsRef);
  if (m->historyRef) napi_delete_reference(env, m->historyRef);
  memset(m, 0, sizeof *m);
}

static void fanout_free(napi_env env, void *data, void *hint) {
  (void)hint;
  Fanout *f = data;
  f->magic = 0;
  for (uint32_t i = 0; i < f->count; i++) member_release(env, &f->members[i]);
  free(f->members);
  free(f);
}

static Fanout *fanout_arg(napi_env env, napi_value v) {
  Fanout *f = NULL;
  if (napi_get_value_external(env, v, (void **)&f) != napi_ok || f == NULL || f->magic != FANOUT_MAGIC) return NULL;
  return f;
}

/* A typed array of `type`: its data, its length in elements; 0 when `v` is not one. */
static int typed_arg(napi_env env, napi_value v, napi_typedarray_type type, void **data, size_t *length) {
  bool is;
  napi_typedarray_type t;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &t, length, data, NULL, NULL) != napi_ok) return 0;
  return t == type;
}

static int power_of_two(size_t n) {
  return n > 0 && (n & (n - 1)) == 0;
}

/* newFanout(ring) → an external holding no members, whose records name `ring` (0-127). */
static napi_value new_fanout(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t ring;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &ring) != napi_ok || ring > 127) THROW("fastpath: newFanout(ring), ring 0 to 127");
  Fanout *f = calloc(1, sizeof(Fanout));
  if (!f) THROW("fastpath: out of memory");
  f->magic = FANOUT_MAGIC;
  f->ring = ring;
  napi_value external;
  if (napi_create_external(env, f, fanout_free, NULL, &external) != napi_ok) {
    free(f);
    THROW("fastpath: could not make the fan-out");
  }
  return external;
}

/*
 * fanoutAdd(fanout, route, state, records, history, seqOffset, tsOffset, bits, pidOffset, tl0Offset)
 * → the member's index. `state` a Float64Array of S_COUNT (its rollover
 * fields set), `records` SentPackets' Uint32Array (R_WORDS a record, a power
 * of two of them), `history` SentDatagrams' Int32Array (sequence number and
 * size per slot, a power of two of slots), `bits` what each record's header
 * bits carry besides the marker (the playout delay's), and what is added to
 * each payload's picture ID and TL0PICIDX.
 */
static napi_value fanout_add(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) THROW("fastpath: fanoutAdd(fanout, route, state, records, history, seqOffset, tsOffset, bits, pidOffset, tl0Offset)");
  Fanout *f = fanout_arg(env, argv[0]);
  if (!f) THROW("fastpath: bad argument (not a fan-out)");
  Route *r = route_arg(env, argv[1]);
  if (!r) THROW("fastpath: bad argument (not a route)");
  void *state, *records, *history;
  size_t stateLen, recordsLen, historyLen;
  if (!typed_arg(env, argv[2], napi_float64_array, &state, &stateLen) || stateLen < S_COUNT) THROW("fastpath: the state must be a Float64Array of 8");
  if (!typed_arg(env, argv[3], napi_uint32_array, &records, &recordsLen) || recordsLen % R_WORDS != 0 || !power_of_two(recordsLen / R_WORDS))
    THROW("fastpath: the records must be a Uint32Array of a power of two of 8-word records");
  if (!typed_arg(env, argv[4], napi_int32_array, &history, &historyLen) || historyLen % 2 != 0 || !power_of_two(historyLen / 2) ||
      historyLen / 2 != r->slots)
    THROW("fastpath: the history must be an Int32Array of two words per slot of the route");
  uint32_t seqOffset, tsOffset, bits, pidOffset, tl0Offset;
  CHECK(napi_get_value_uint32(env, argv[5], &seqOffset));
  CHECK(napi_get_value_uint32(env, argv[6], &tsOffset));
  CHECK(napi_get_value_uint32(env, argv[7], &bits));
  CHECK(napi_get_value_uint32(env, argv[8], &pidOffset));
  CHECK(napi_get_value_uint32(env, argv[9], &tl0Offset));
  if (f->count == f->capacity) {
    uint32_t capacity = f->capacity ? f->capacity * 2 : 16;
    Member *grown = realloc(f->members, capacity * sizeof(Member));
    if (!grown) THROW("fastpath: out of memory");
    f->members = grown;
    f->capacity = capacity;
  }
  Member *m = &f->members[f->count];
  memset(m, 0, sizeof *m);
  m->route = r;
  m->state = state;
  m->records = records;
  m->recordMask = (uint32_t)(recordsLen / R_WORDS) - 1;
  m->history = history;
  m->historyMask = (uint32_t)(historyLen / 2) - 1;
  m->seqOffset = seqOffset;
  m->tsOffset = tsOffset;
  m->bits = bits;
  m->pidOffset = pidOffset & 0x7fff;
  m->tl0Offset = tl0Offset & 0xff;
  if (napi_create_reference(env, argv[1], 1, &m->routeRef) != napi_ok || napi_create_reference(env, argv[2], 1, &m->stateRef) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &m->recordsRef) != napi_ok || napi_create_reference(env, argv[4], 1, &m->historyRef) != napi_ok) {
    member_release(env, m);
    THROW("fastpath: could not hold the member's arrays");
  }
  napi_value result;
  napi_create_uint32(env, f->count++, &result);
  return result;
}

/* fanoutRemove(fanout, index) → the index the last member moved from into `index`, or -1 when none moved. */
static napi_value fanout_remove(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) THROW("fastpath: fanoutRemove(fanout, index)");
  Fanout *f = fanout_arg(env, argv[0]);
  if (!f) THROW("fastpath: bad argument (not a fan-out)");
  uint32_t index;
  CHECK(napi_get_value_uint32(env, argv[1], &index));
  if (index >= f->count) THROW("fastpath: no such member");
  member_release(env, &f->members[index]);
  uint32_t last = --f->count;
  int32_t moved = -1;
  if (index != last) {
    f->members[index] = f->members[last];
    memset(&f->members[last], 0, sizeof(Member));
    moved = (int32_t)last;
  }
  napi_value result;
  napi_create_int32(env, moved, &result);
  return result;
}

/* The rollover counter as werift's updateRolloverCount keeps it, for the next packet `seq`. */
static uint32_t next_roc(double *s, uint32_t seq) {
  uint32_t last = (uint32_t)s[S_LAST_SEQ];
  if (s[S_ROC_STARTED] == 0) {
    s[S_ROC_STARTED] = 1;
  } else if (seq == 0) {
    if (last > MAX_ROC_DISORDER) s[S_ROC] += 1;
  } else if (last < MAX_ROC_DISORDER && seq > MAX_SEQUENCE - MAX_ROC_DISORDER) {
    if (s[S_ROC] > 0) s[S_ROC] -= 1;
  } else if (seq < MAX_ROC_DISORDER && last > MAX_SEQUENCE - MAX_ROC_DISORDER) {
    s[S_ROC] += 1;
  }
  s[S_LAST_SEQ] = seq;
  return (uint32_t)s[S_ROC];
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Where a payload's picture ID and TL0PICIDX are (picture-id-munger.ts's
 * IdSpots): pidAt -1 when it has none.
 */
typedef struct {
  int32_t pidAt;
  uint32_t pidBits, pid;
  int32_t tl0At;
  uint32_t tl0;
} Ids;

/* The first bytes of `payload` as member `m` sends them (its offsets added to the IDs) into `patch`: their count, 0 when unchanged. */
static size_t shifted_ids(const Member *m, const Ids *ids, const unsigned char *payload, size_t payloadLen, unsigned char patch[PATCH_MAX]) {
  if (ids->pidAt < 0 || (m->pidOffset == 0 && m->tl0Offset == 0)) return 0;
  size_t len = (size_t)ids->pidAt + (ids->pidBits == 15 ? 2 : 1);
  if (ids->tl0At >= 0 && (size_t)ids->tl0At + 1 > len) len = (size_t)ids->tl0At + 1;
  if (len > PATCH_MAX || len > payloadLen) return 0;
  memcpy(patch, payload, len);
  uint32_t mask = ids->pidBits == 15 ? 0x7fff : 0x7f;
  uint32_t pid = (ids->pid + m->pidOffset) & mask;
  if (ids->pidBits == 15) {
    patch[ids->pidAt] = (unsigned char)(0x80 | pid >> 8);
    patch[ids->pidAt + 1] = (unsigned char)pid;
  } else {
    patch[ids->pidAt] = (unsigned char)pid;
  }
  if (ids->tl0At >= 0) patch[ids->tl0At] = (unsigned char)((ids->tl0 + m->tl0Offset) & 0xff);
  return len;
}

/*
 * fanoutSend(fanout, payload, seq, timestamp, absSendTime, marker, elapsed,
 *            pidAt, pidBits, pid, tl0At, tl0)
 * → how many members' datagrams did not go: for each, its state's
 * S_UNSENT_SEQ holds the sequence number it was given and S_UNSENT_SIZE the
 * datagram's size (left in its slot), or 0 when it does not fit a slot (not
 * written); the caller sends those its own way. elapsed[i] gets the ms from
 * the call's start to member i's send. The payload's picture ID (pidBits 7
 * or 15 wide at pidAt, -1: none) and TL0PICIDX (at tl0At, -1: none) are
 * what each member's offsets are added to.
 */
static napi_value fanout_send(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 12) THROW("fastpath: fanoutSend(fanout, payload, seq, timestamp, absSendTime, marker, elapsed, pidAt, pidBits, pid, tl0At, tl0)");
  Fanout *f = fanout_arg(env, argv[0]);
  if (!f) THROW("fastpath: bad argument (not a fan-out)");
  unsigned char *payload;
  size_t payloadLen;
  uint32_t seq, ts, abs;
  bool marker;
  void *elapsedData;
  size_t elapsedLen;
  if (!buffer_arg(env, argv[1], &payload, &payloadLen)) THROW("fastpath: the payload must be a Buffer");
  CHECK(napi_get_value_uint32(env, argv[2], &seq));
  CHECK(napi_get_value_uint32(env, argv[3], &ts));
  CHECK(napi_get_value_uint32(env, argv[4], &abs));
  CHECK(napi_get_value_bool(env, argv[5], &marker));
  if (!typed_arg(env, argv[6], napi_float64_array, &elapsedData, &elapsedLen) || elapsedLen < f->count)
    THROW("fastpath: elapsed must be a Float64Array of a place per member");
  double *elapsed = elapsedData;
  Ids ids;
  CHECK(napi_get_value_int32(env, argv[7], &ids.pidAt));
  CHECK(napi_get_value_uint32(env, argv[8], &ids.pidBits));
  CHECK(napi_get_value_uint32(env, argv[9], &ids.pid));
  CHECK(napi_get_value_int32(env, argv[10], &ids.tl0At));
  CHECK(napi_get_value_uint32(env, argv[11], &ids.tl0));
  if (ids.pidAt >= 0 && ids.pidBits != 7 && ids.pidBits != 15) THROW("fastpath: a picture ID is 7 or 15 bits");
  uint32_t flags = RTP_SEND | (marker ? RTP_MARKER : 0);
  const double infinity = -INFINITY;
  double start = now_ms();
  int32_t unsent = 0;
  for (uint32_t i = 0; i < f->count; i++) {
    Member *m = &f->members[i];
    double *s = m->state;
    uint32_t out = (seq + m->seqOffset) & 0xffff;
    uint32_t outTs = ts + m->tsOffset;
    uint32_t roc = next_roc(s, out);
    size_t size;
    unsigned char patch[PATCH_MAX];
    size_t patchLen = shifted_ids(m, &ids, payload, payloadLen, patch);
    int done = route_write_patched(m->route, payload, payloadLen, patch, patchLen, out, outTs, abs, roc, flags, &size);
    if (done == ROUTE_SEAL_FAILED) THROW("fastpath: SRTP protection failed");
    s[S_UNSENT_SEQ] = -1;
    if (done != ROUTE_TOO_BIG) {
      int32_t *h = m->history + (out & m->historyMask) * 2;
      h[0] = (int32_t)out;
      h[1] = (int32_t)size;
      uint32_t *rec = m->records + (out & m->recordMask) * R_WORDS;
      rec[R_SEQ] = out;
      rec[R_TIMESTAMP] = outTs;
      rec[R_ABS] = abs;
      rec[R_ROC] = roc;
      rec[R_BITS] = (flags & RTP_MARKER) | (m->bits & 0xff) | R_FROM_LANE | f->ring << 9 | (seq & 0xffff) << 16;
      rec[R_IDS] = patchLen > 0 ? R_IDS_SHIFTED | m->tl0Offset << 16 | m->pidOffset : 0;
      memcpy(rec + R_RESENT_AT, &infinity, sizeof infinity);
      s[S_PACKETS] += 1;
      s[S_PAYLOAD_BYTES] += (double)payloadLen;
      s[S_DATAGRAM_BYTES] += (double)size;
    }
    if (done != ROUTE_SENT) {
      s[S_UNSENT_SEQ] = out;
      s[S_UNSENT_SIZE] = done == ROUTE_TOO_BIG ? 0 : (double)size;
      unsent++;
    }
    elapsed[i] = now_ms() - start;
  }
  napi_value result;
  napi_create_int32(env, unsent, &result);
  return result;
}

void fanout_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"newFanout", NULL, new_fanout, NULL, NULL, NULL, napi_default, NULL},
      {"fanoutAdd", NULL, fanout_add, NULL, NULL, NULL, napi_default, NULL},
      {"fanoutRemove", NULL, fanout_remove, NULL, NULL, NULL, napi_default, NULL},
      {"fanoutSend", NULL, fanout_send, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
