import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { SrtpSession } from "werift";
import { frame } from "../relay/layer-fixtures.js";
import { nullObserver } from "../relay/observer.js";
import { shiftIds, type IdSpots } from "../relay/picture-id-munger.js";
import { locateVp8Ids } from "../relay/vp8.js";
import type { RelayPacket } from "../relay/up-track.js";
import { NativeLane, type LaneSender } from "./fanout-lane.js";
import {
  LANE_DATAGRAM_BYTES,
  LANE_LAST_SEQ,
  LANE_PACKETS,
  LANE_PAYLOAD_BYTES,
  LANE_ROC,
  LANE_ROC_STARTED,
  LANE_STATE,
  LANE_UNSENT_SEQ,
  LANE_UNSENT_SIZE,
  nativeFastPath,
  udpDescriptor,
  type NativeFastPath,
} from "./native.js";
import { absSendTime, headerTemplate } from "./rtp-header.js";
import { HISTORY, SLOT_LARGE } from "./sent-datagrams.js";
import { IDS_SHIFTED, PayloadRing, SentPackets } from "./sent-packets.js";
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES128_CM_HMAC_SHA1_80, SrtpProtector, type SrtpSessionKeys } from "./srtp-protect.js";
import type { SsrcState } from "./sender-internals.js";

const ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

async function bound(): Promise<Socket> {
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}

/** werift's own rollover counting (a session's local context), to hold the native one to. */
function weriftRollover(): { update(seq: number): number; state: SsrcState } {
  const keys = { localMasterKey: Buffer.alloc(16), localMasterSalt: Buffer.alloc(14), remoteMasterKey: Buffer.alloc(16), remoteMasterSalt: Buffer.alloc(14) };
  const context = (
    new SrtpSession({ keys, profile: 1 }) as unknown as {
      localContext: { getSrtpSsrcState(s: number): SsrcState; updateRolloverCount(q: number, s: SsrcState): void };
    }
  ).localContext;
  const state = context.getSrtpSsrcState(1);
  return {
    state,
    update(seq) {
      context.updateRolloverCount(seq, state);
      return state.rolloverCounter;
    },
  };
}

/** One viewer's side of a fan-out: keys, header, route, slab, records, history, a socket to read. */
async function viewer(native: NativeFastPath, profile: number, ssrc: number) {
  const gcm = profile === PROFILE_AEAD_AES_128_GCM;
  const keys: SrtpSessionKeys = { profile, key: randomBytes(16), salt: randomBytes(gcm ? 12 : 14), authKey: gcm ? undefined : randomBytes(20) };
  const typescript = new SrtpProtector(keys, null);
  const { header, absOffset } = headerTemplate(96, ssrc, [{ id: 3, uri: ABS }], undefined);
  const slab = Buffer.alloc(SLOT_LARGE * HISTORY);
  const route = native.newRoute(new SrtpProtector(keys, native).nativeHandle as object, slab, SLOT_LARGE, header, absOffset, ssrc);
  const socket = await bound();
  /** The datagram the TypeScript path would write. */
  const expected = (payload: Buffer, seq: number, ts: number, abs: number, roc: number, marker: boolean) => {
    const out = Buffer.alloc(header.length + payload.length + typescript.trailer);
    header.copy(out);
    out[1] = (marker ? 0x80 : 0) | 96;
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(ts >>> 0, 4);
    out.writeUIntBE(abs, absOffset, 3);
    return typescript.protect(out, header.length, payload, ssrc, seq, roc);
  };
  return { route, slab, socket, expected, sent: new SentPackets(1024), history: new Int32Array(2 * HISTORY).fill(-1), state: new Float64Array(LANE_STATE) };
}

describe("the native fan-out: one call sends a packet to every member", () => {
  for (const [name, profile] of [
    ["AEAD_AES_128_GCM", PROFILE_AEAD_AES_128_GCM],
    ["AES128_CM_HMAC_SHA1_80", PROFILE_AES128_CM_HMAC_SHA1_80],
  ] as const) {
    test(`${name}: each member gets the TypeScript path's bytes under its own numbers and rollover counter, and what NACKs need is kept`, async () => {
      const native = nativeFastPath as NativeFastPath;
      assert.ok(native, "the native fast path is built");
      const sink = await bound();
      const [a, b] = [await viewer(native, profile, 0xa), await viewer(native, profile, 0xb)];
      const from = udpDescriptor(sink) as number;
      try {
        native.routeTo(a.route, from, a.socket.address().port, 0x7f000001);
        native.routeTo(b.route, from, b.socket.address().port, 0x7f000001);
        const ring = new PayloadRing(5);
        const fanout = native.newFanout(ring.id);
        for (const v of [a, b]) v.sent.useRing(ring);
        // a: numbers 3 ahead, starting fresh; b: 65000 ahead with werift's state already counting.
        const rocA = weriftRollover();
        const rocB = weriftRollover();
        rocB.update(60000);
        b.state[LANE_ROC] = rocB.state.rolloverCounter;
        b.state[LANE_LAST_SEQ] = rocB.state.lastSequenceNumber as number;
        b.state[LANE_ROC_STARTED] = 1;
        assert.equal(native.fanoutAdd(fanout, a.route, a.state, a.sent.records, a.history, 3, 1000, 0, 0, 0), 0);
        assert.equal(native.fanoutAdd(fanout, b.route, b.state, b.sent.records, b.history, 65000, 0xfffffff0, 8, 0, 0), 1);
        const elapsed = new Float64Array(2);
        const abs = absSendTime(performance.now());
        const received = { a: [] as Buffer[], b: [] as Buffer[] };
        a.socket.on("message", (m: Buffer) => received.a.push(m));
        b.socket.on("message", (m: Buffer) => received.b.push(m));
        const want = { a: [] as Buffer[], b: [] as Buffer[] };
        for (let seq = 65530; seq < 65530 + 10; seq++) {
          const n = seq & 0xffff;
          const payload = randomBytes(900 + (n % 7));
          const marker = n % 3 === 0;
          assert.equal(native.fanoutSend(fanout, payload, n, n * 3000, abs, marker, elapsed, -1, 0, 0, -1, 0), 0, "everything went");
          ring.put(n, payload);
          assert.ok(elapsed[0] >= 0 && elapsed[1] >= elapsed[0], "elapsed counts up member by member");
          const [outA, outB] = [(n + 3) & 0xffff, (n + 65000) & 0xffff];
          const [tsA, tsB] = [(n * 3000 + 1000) >>> 0, (n * 3000 + 0xfffffff0) >>> 0];
          want.a.push(a.expected(payload, outA, tsA, abs, rocA.update(outA), marker));
          want.b.push(b.expected(payload, outB, tsB, abs, rocB.update(outB), marker));
          for (const [v, out, ts, roc, bits] of [
            [a, outA, tsA, rocA, 0],
            [b, outB, tsB, rocB, 8],
          ] as const) {
            const i = out % HISTORY;
            assert.deepEqual([v.history[2 * i], v.history[2 * i + 1]], [out, (v === a ? want.a : want.b).at(-1)?.length], "its history entry");
            const r = v.sent.takeForResend(out, 0, 10);
            assert.ok(r >= 0, "its record, resendable");
            assert.equal(v.sent.payload(r), payload, "its payload found in the fan-out's ring");
            assert.deepEqual(
              [v.sent.seq(r), v.sent.timestamp(r), v.sent.abs(r), v.sent.roc(r), v.sent.bits(r)],
              [out, ts, abs, roc.state.rolloverCounter, (marker ? 1 : 0) | bits],
            );
          }
        }
        await waitFor(() => received.a.length === 10 && received.b.length === 10);
        assert.deepEqual(received.a, want.a, "a: the same bytes, in order");
        assert.deepEqual(received.b, want.b, "b: the same bytes, in order");
        assert.equal(rocA.state.rolloverCounter, 1, "a's numbers wrapped");
        for (const [v, roc] of [
          [a, rocA],
          [b, rocB],
        ] as const) {
          assert.deepEqual(
            [v.state[LANE_ROC], v.state[LANE_LAST_SEQ], v.state[LANE_ROC_STARTED]],
            [roc.state.rolloverCounter, roc.state.lastSequenceNumber, 1],
          );
          assert.equal(v.state[LANE_PACKETS], 10);
          assert.equal(
            v.state[LANE_DATAGRAM_BYTES],
            (v === a ? want.a : want.b).reduce((sum, d) => sum + d.length, 0),
          );
        }
        assert.equal(a.state[LANE_PAYLOAD_BYTES], b.state[LANE_PAYLOAD_BYTES]);
        // Taking a out moves b into its place; b alone gets the next packet.
        assert.equal(native.fanoutRemove(fanout, 0), 1);
        assert.equal(native.fanoutRemove(fanout, 0), -1, "the last one: nothing moves");
        assert.throws(() => native.fanoutRemove(fanout, 0), /no such member/);
        assert.equal(native.fanoutSend(fanout, Buffer.alloc(10), 1, 1, 0, false, elapsed, -1, 0, 0, -1, 0), 0, "no members: nothing to do");
      } finally {
        for (const s of [sink, a.socket, b.socket]) s.close();
      }
    });
  }

  test("each member's picture ID and TL0PICIDX offsets are added to the payload it is sent, and its records say so for resends", async () => {
    const native = nativeFastPath as NativeFastPath;
    const sink = await bound();
    const [plain, shifted] = [await viewer(native, PROFILE_AEAD_AES_128_GCM, 1), await viewer(native, PROFILE_AES128_CM_HMAC_SHA1_80, 2)];
    try {
      const ring = new PayloadRing(9);
      const fanout = native.newFanout(ring.id);
      for (const v of [plain, shifted]) v.sent.useRing(ring);
      for (const v of [plain, shifted]) native.routeTo(v.route, udpDescriptor(sink) as number, v.socket.address().port, 0x7f000001);
      native.fanoutAdd(fanout, plain.route, plain.state, plain.sent.records, plain.history, 0, 0, 0, 0, 0);
      native.fanoutAdd(fanout, shifted.route, shifted.state, shifted.sent.records, shifted.history, 0, 0, 0, 0x7ffe, 250);
      const got = { plain: [] as Buffer[], shifted: [] as Buffer[] };
      plain.socket.on("message", (m: Buffer) => got.plain.push(m));
      shifted.socket.on("message", (m: Buffer) => got.shifted.push(m));
      const want = { plain: [] as Buffer[], shifted: [] as Buffer[] };
      const spots: IdSpots = { pidBits: 0, pidAt: 0, pid: 0, tl0At: -1, tl0: 0 };
      // 15-bit picture IDs with TL0PICIDX (the fixture's), then a 7-bit one without.
      const payloads = [frame(0x7fff, 0, 300), frame(3, 1, 300), Buffer.from([0x90, 0x80, 0x05, 1, 2, 3, 4, 5])];
      payloads[0][4] = 10; // its TL0PICIDX: 10 + 250 wraps
      payloads.forEach((payload, seq) => {
        assert.ok(locateVp8Ids(payload, spots));
        native.fanoutSend(fanout, payload, seq, 0, 0, false, new Float64Array(2), spots.pidAt, spots.pidBits, spots.pid, spots.tl0At, spots.tl0);
        ring.put(seq, payload);
        want.plain.push(plain.expected(payload, seq, 0, 0, 0, false));
        const sent = shiftIds(payload, locateVp8Ids, 0x7ffe, 250);
        assert.notDeepEqual(sent, payload);
        want.shifted.push(shifted.expected(sent, seq, 0, 0, 0, false));
        for (const [v, ids] of [
          [plain, 0],
          [shifted, (IDS_SHIFTED | (250 << 16) | 0x7ffe) >>> 0],
        ] as const) {
          assert.equal(v.sent.ids(v.sent.takeForResend(seq, 0, 10)) >>> 0, ids, "the record holds the offsets it went with");
        }
      });
      await waitFor(() => got.plain.length === 3 && got.shifted.length === 3);
      assert.deepEqual(got.plain, want.plain, "no offsets: the payload as it came");
      assert.deepEqual(got.shifted, want.shifted, "the munger's bytes, under protection");
    } finally {
      for (const s of [sink, plain.socket, shifted.socket]) s.close();
    }
  });

  test("a member whose datagram cannot go is told how: left in its slot, or too large to be written", async () => {
    const native = nativeFastPath as NativeFastPath;
    const v = await viewer(native, PROFILE_AEAD_AES_128_GCM, 7);
    v.socket.close();
    const fanout = native.newFanout(0);
    native.fanoutAdd(fanout, v.route, v.state, v.sent.records, v.history, 0, 0, 0, 0, 0);
    const elapsed = new Float64Array(1);
    assert.equal(native.fanoutSend(fanout, Buffer.alloc(100), 5, 1, 0, false, elapsed, -1, 0, 0, -1, 0), 1, "no descriptor: not sent");
    const size = v.expected(Buffer.alloc(100), 5, 1, 0, 0, false).length;
    assert.deepEqual([v.state[LANE_UNSENT_SEQ], v.state[LANE_UNSENT_SIZE]], [5, size]);
    assert.deepEqual([v.history[10], v.history[11]], [5, size], "written into its slot all the same");
    assert.equal(native.fanoutSend(fanout, Buffer.alloc(SLOT_LARGE), 6, 1, 0, false, elapsed, -1, 0, 0, -1, 0), 1);
    assert.deepEqual([v.state[LANE_UNSENT_SEQ], v.state[LANE_UNSENT_SIZE]], [6, 0], "too large: not written");
    assert.equal(v.history[12], -1, "its history untouched");
    assert.equal(v.state[LANE_PACKETS], 1, "only the written one counted");
  });

  test("bad arguments are errors, not crashes", async () => {
    const native = nativeFastPath as NativeFastPath;
    const v = await viewer(native, PROFILE_AEAD_AES_128_GCM, 7);
    v.socket.close();
    const fanout = native.newFanout(0);
    const add = (over: Partial<{ f: object; r: object; s: unknown; rec: unknown; h: unknown }>) =>
      native.fanoutAdd(
        over.f ?? fanout,
        over.r ?? v.route,
        (over.s ?? v.state) as Float64Array,
        (over.rec ?? v.sent.records) as Uint32Array,
        (over.h ?? v.history) as Int32Array,
        0,
        0,
        0,
        0,
        0,
      );
    assert.throws(() => native.newFanout(128), /ring 0 to 127/);
    assert.throws(() => add({ f: v.route }), /not a fan-out/);
    assert.throws(() => add({ r: fanout }), /not a route/);
    assert.throws(() => add({ s: new Float64Array(7) }), /Float64Array of 8/);
    assert.throws(() => add({ s: new Uint32Array(8) }), /Float64Array of 8/);
    assert.throws(() => add({ rec: new Uint32Array(8 * 3) }), /power of two/);
    assert.throws(() => add({ h: new Int32Array(2 * 4) }), /two words per slot/);
    assert.throws(() => native.fanoutSend(v.route, Buffer.alloc(1), 0, 0, 0, false, new Float64Array(1), -1, 0, 0, -1, 0), /not a fan-out/);
    add({});
    assert.throws(() => native.fanoutSend(fanout, Buffer.alloc(1), 0, 0, 0, false, new Float64Array(0), -1, 0, 0, -1, 0), /a place per member/);
    assert.throws(() => native.fanoutSend(fanout, "x" as unknown as Buffer, 0, 0, 0, false, new Float64Array(1), -1, 0, 0, -1, 0), /payload must be a Buffer/);
  });
});

describe("NativeLane", () => {
  test("hands each member's counts and rollover state to its sender, and a member that cannot send leaves and sends its own way", async () => {
    const native = nativeFastPath as NativeFastPath;
    const v = await viewer(native, PROFILE_AEAD_AES_128_GCM, 9);
    const sink = await bound();
    native.routeTo(v.route, udpDescriptor(sink) as number, v.socket.address().port, 0x7f000001);
    const calls: string[] = [];
    const synced: number[] = [];
    const sender: LaneSender = {
      laneSynced: (s) => synced.push(s[LANE_PACKETS]),
      laneTick: () => calls.push("tick"),
      laneLeft: () => calls.push("left"),
      laneUnsent: (_p, seq, _ts, size) => calls.push(`unsent ${seq} ${size > 0 ? "in its slot" : "not written"}`),
    };
    const member = {
      packets: 0,
      last: undefined as RelayPacket | undefined,
      sent: (n: number) => (member.packets += n),
      left: (last?: RelayPacket) => (member.last = last),
    };
    const lane = new NativeLane({ kind: "video", mimeType: "video/h264", clockRate: 90000 }, nullObserver);
    const roc: SsrcState = { rolloverCounter: 2, lastSequenceNumber: 65500, rolloverHasProcessed: true };
    const entry = lane.add(sender, { sent: member.sent, left: member.left }, v.route, v.sent, v.history, { seq: 10, ts: 0, pictureId: 0, tl0: 0 }, 0, roc);
    const packet = (seq: number, bytes = 500): RelayPacket => ({
      sequenceNumber: seq,
      timestamp: seq,
      marker: false,
      payload: Buffer.alloc(bytes),
      keyframe: false,
      temporal: -1,
      receivedAt: performance.now(),
    });
    try {
      lane.send(packet(65530)); // 65540: its numbers wrap
      assert.deepEqual(calls, ["tick"], "the first packet hands over and ticks");
      assert.deepEqual([synced, member.packets], [[1], 1]);
      assert.equal(entry.state[LANE_ROC], 3, "its rollover counter went on from the sender's");
      lane.send(packet(65531));
      assert.ok(v.sent.takeForResend(5, 0, 10) >= 0, "its payload is kept for NACKs");
      lane.send(packet(65532, SLOT_LARGE));
      assert.equal(lane.size, 0, "a packet too large for a slot: it left");
      assert.deepEqual(calls.slice(-2), ["left", "unsent 6 not written"]);
      assert.equal(member.last?.sequenceNumber, 65532, "its DownTrack takes up the packet it is to send");
      assert.equal(member.packets, 3, "counted for it");
    } finally {
      sink.close();
      v.socket.close();
    }
  });
});

async function waitFor(ok: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
