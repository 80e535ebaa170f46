/*
 * What the native part's files share (fastpath.c: protection, routes;
 * fanout.c: one call per packet for many routes).
 */
#ifndef TESSERA_FASTPATH_H
#define TESSERA_FASTPATH_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define PROFILE_AES128_CM_HMAC_SHA1_80 0x0001
#define PROFILE_AEAD_AES_128_GCM 0x0007

/*
 * The first field of everything these files wrap in an external: checked
 * before use, so that a call never takes another kind of external for its
 * own (a type tag would do the same through a property lookup per call,
 * about 1.7 % of the relay's samples at 100 viewers).
 */
#define PROTECTOR_MAGIC 0x74737270u /* "tsrp" */
#define ROUTE_MAGIC 0x74727465u     /* "trte" */
#define FANOUT_MAGIC 0x7466616eu    /* "tfan" */

typedef struct {
  uint32_t magic; /* PROTECTOR_MAGIC */
  int profile;
  int decrypts; /* made by newUnprotector: opens packets instead of sealing them */
  EVP_CIPHER_CTX *cipher;
  EVP_MAC_CTX *mac; /* AES-CM only */
  unsigned char salt[14];
} Protector;

/*
 * A route: everything one viewer's sender needs to write, protect and send
 * a packet in one call, with numbers for arguments (no Buffer but the
 * payload is looked up per packet). The header template, SSRC and slab are
 * the sender's; the slab is the history the packets are kept in for NACKs,
 * `slots` slots of slotBytes, a packet's slot its sequence number modulo
 * slots. Holds references to the protector and the slab while it lives.
 */
#define HEADER_MAX 64
typedef struct {
  uint32_t magic; /* ROUTE_MAGIC */
  Protector *protector;
  napi_ref protectorRef;
  unsigned char *slab;
  napi_ref slabRef;
  uint32_t slotBytes, slots;
  unsigned char header[HEADER_MAX];
  uint32_t headerBytes;
  int32_t absOffset;
  uint32_t ssrc;
  int fd;
  struct sockaddr_in to;
} Route;

#define THROW(msg)                    \
  do {                                \
    napi_throw_error(env, NULL, msg); \
    return NULL;                      \
  } while (0)
#define CHECK(call)                                           \
  do {                                                        \
    if ((call) != napi_ok) THROW("fastpath: bad argument"); \
  } while (0)

/* sendRtp's flags. */
#define RTP_MARKER 1
#define RTP_SEND 2
#define RTP_PADDING 4

/* What route_write did with a packet. */
enum { ROUTE_TOO_BIG = 0, ROUTE_SENT = 1, ROUTE_UNSENT = 2, ROUTE_SEAL_FAILED = 3 };

Route *route_arg(napi_env env, napi_value v);
int buffer_arg(napi_env env, napi_value v, unsigned char **data, size_t *len);
/*
 * Writes one packet into its slot (header from the template, the protected
 * payload) and, with RTP_SEND, sends it; `size` gets the datagram's size.
 * ROUTE_UNSENT when written but not sent (not asked to, no descriptor, the
 * socket full, or a send error: the descriptor is then forgotten).
 */
int route_write(Route *r, const unsigned char *payload, size_t payloadLen, uint32_t seq, uint32_t ts, uint32_t abs, uint32_t roc, uint32_t flags,
                size_t *size);
/* The same, with the payload's first patchLen bytes replaced by `patch` (its picture IDs rewritten). */
int route_write_patched(Route *r, const unsigned char *payload, size_t payloadLen, const unsigned char *patch, size_t patchLen, uint32_t seq,
                        uint32_t ts, uint32_t abs, uint32_t roc, uint32_t flags, size_t *size);
/* fanout.c's functions, added to the module's exports. */
void fanout_define(napi_env env, napi_value exports);

#endif
