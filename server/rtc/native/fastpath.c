/*
 * Tessera's relay fast path, native part: SRTP protection of outgoing RTP
 * with cipher contexts made once per session (Node's crypto makes a cipher
 * object per packet, about a quarter of the relay's CPU), and a datagram
 * written to a UDP socket's descriptor with one sendto (no libuv request,
 * no address lookup). The same bytes as server/rtc/srtp-protect.ts, which
 * srtp-protect.test.ts checks; used only when this file was built
 * (scripts/build.mjs), else the TypeScript path runs.
 *
 * Uses the OpenSSL that Node itself links and exports, through Node's own
 * headers: no library of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <node_api.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define PROFILE_AES128_CM_HMAC_SHA1_80 0x0001
#define PROFILE_AEAD_AES_128_GCM 0x0007

typedef struct {
  int profile;
  EVP_CIPHER_CTX *cipher;
  EVP_MAC_CTX *mac; /* AES-CM only */
  unsigned char salt[14];
} Protector;

/* Marks the externals this file makes, so that protect() never takes another's. */
static const napi_type_tag PROTECTOR_TAG = {0x7465737365726131ULL, 0x7372747070726f74ULL};

static void protector_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Protector *p = data;
  if (p->cipher) EVP_CIPHER_CTX_free(p->cipher);
  if (p->mac) EVP_MAC_CTX_free(p->mac);
  free(p);
}

#define THROW(msg)                            \
  do {                                        \
    napi_throw_error(env, NULL, msg);         \
    return NULL;                              \
  } while (0)
#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) THROW("fastpath: bad argument"); \
  } while (0)

static int buffer_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

/* newProtector(profile, key, salt, authKey?) → an external holding the session's contexts. */
static napi_value new_protector(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) THROW("fastpath: newProtector(profile, key, salt, authKey?)");
  int32_t profile;
  CHECK(napi_get_value_int32(env, argv[0], &profile));
  unsigned char *key, *salt, *auth = NULL;
  size_t keyLen, saltLen, authLen = 0;
  if (!buffer_arg(env, argv[1], &key, &keyLen) || keyLen != 16) THROW("fastpath: the key must be 16 bytes");
  if (!buffer_arg(env, argv[2], &salt, &saltLen)) THROW("fastpath: the salt must be a Buffer");
  if (profile == PROFILE_AEAD_AES_128_GCM) {
    if (saltLen < 12) THROW("fastpath: a GCM salt is 12 bytes");
    saltLen = 12;
  } else if (profile == PROFILE_AES128_CM_HMAC_SHA1_80) {
    if (saltLen < 14) THROW("fastpath: an AES-CM salt is 14 bytes");
    saltLen = 14;
    if (argc < 4 || !buffer_arg(env, argv[3], &auth, &authLen) || authLen == 0) THROW("fastpath: AES-CM needs an authentication key");
  } else {
    THROW("fastpath: unsupported SRTP profile");
  }
  Protector *p = calloc(1, sizeof(Protector));
  if (!p) THROW("fastpath: out of memory");
  p->profile = profile;
  memcpy(p->salt, salt, saltLen);
  p->cipher = EVP_CIPHER_CTX_new();
  const EVP_CIPHER *kind = profile == PROFILE_AEAD_AES_128_GCM ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
  int ok = p->cipher && EVP_EncryptInit_ex(p->cipher, kind, NULL, key, NULL) == 1;
  if (ok && profile == PROFILE_AEAD_AES_128_GCM) ok = EVP_CIPHER_CTX_ctrl(p->cipher, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
  if (ok && auth) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    p->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0), OSSL_PARAM_construct_end()};
    ok = p->mac && EVP_MAC_init(p->mac, auth, authLen, params) == 1;
  }
  if (!ok) {
    protector_free(env, p, NULL);
    THROW("fastpath: OpenSSL could not make the session's contexts");
  }
  napi_value external;
  if (napi_create_external(env, p, protector_free, NULL, &external) != napi_ok || napi_type_tag_object(env, external, &PROTECTOR_TAG) != napi_ok) {
    protector_free(env, p, NULL);
    THROW("fastpath: could not wrap the contexts");
  }
  return external;
}

/*
 * protect(protector, out, headerBytes, payload, ssrc, seq, roc): `out`
 * holds the RTP header in its first headerBytes; the payload is encrypted
 * after it and the tag written after that (out is exactly that long).
 */
static napi_value protect(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) THROW("fastpath: protect(protector, out, headerBytes, payload, ssrc, seq, roc)");
  Protector *p;
  bool tagged = false;
  if (napi_check_object_type_tag(env, argv[0], &PROTECTOR_TAG, &tagged) != napi_ok || !tagged) THROW("fastpath: bad argument (not a protector)");
  CHECK(napi_get_value_external(env, argv[0], (void **)&p));
  unsigned char *out, *payload;
  size_t outLen, payloadLen;
  int32_t headerBytes;
  uint32_t ssrc, seq, roc;
  if (!buffer_arg(env, argv[1], &out, &outLen) || !buffer_arg(env, argv[3], &payload, &payloadLen)) THROW("fastpath: out and payload must be Buffers");
  CHECK(napi_get_value_int32(env, argv[2], &headerBytes));
  CHECK(napi_get_value_uint32(env, argv[4], &ssrc));
  CHECK(napi_get_value_uint32(env, argv[5], &seq));
  CHECK(napi_get_value_uint32(env, argv[6], &roc));
  size_t tag = p->profile == PROFILE_AEAD_AES_128_GCM ? 16 : 10;
  if (headerBytes < 12 || (size_t)headerBytes + payloadLen + tag != outLen) THROW("fastpath: out must be header + payload + tag long");
  if (payloadLen > (size_t)0x7fffffff) THROW("fastpath: payload too large");
  int n;
  unsigned char iv[16];
  if (p->profile == PROFILE_AEAD_AES_128_GCM) {
    /* RFC 7714 §8.1: 00 00 || SSRC || ROC || SEQ, XOR the salt. */
    iv[0] = iv[1] = 0;
    iv[2] = ssrc >> 24, iv[3] = ssrc >> 16, iv[4] = ssrc >> 8, iv[5] = ssrc;
    iv[6] = roc >> 24, iv[7] = roc >> 16, iv[8] = roc >> 8, iv[9] = roc;
    iv[10] = seq >> 8, iv[11] = seq;
    for (int i = 0; i < 12; i++) iv[i] ^= p->salt[i];
    unsigned char end[16];
    if (EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(p->cipher, NULL, &n, out, headerBytes) != 1 ||
        EVP_EncryptUpdate(p->cipher, out + headerBytes, &n, payload, (int)payloadLen) != 1 || EVP_EncryptFinal_ex(p->cipher, end, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(p->cipher, EVP_CTRL_GCM_GET_TAG, 16, out + headerBytes + payloadLen) != 1)
      THROW("fastpath: AES-GCM failed");
    return NULL;
  }
  /* RFC 3711 §4.1.1: IV = (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16). */
  memcpy(iv, p->salt, 14);
  iv[14] = iv[15] = 0;
  iv[4] ^= ssrc >> 24, iv[5] ^= ssrc >> 16, iv[6] ^= ssrc >> 8, iv[7] ^= ssrc;
  iv[8] ^= roc >> 24, iv[9] ^= roc >> 16, iv[10] ^= roc >> 8, iv[11] ^= roc;
  iv[12] ^= seq >> 8, iv[13] ^= seq;
  size_t end = headerBytes + payloadLen;
  unsigned char rocBytes[4] = {roc >> 24, roc >> 16, roc >> 8, roc};
  unsigned char digest[20];
  size_t digestLen;
  if (EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(p->cipher, out + headerBytes, &n, payload, (int)payloadLen) != 1 ||
      EVP_MAC_init(p->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(p->mac, out, end) != 1 || EVP_MAC_update(p->mac, rocBytes, 4) != 1 ||
      EVP_MAC_final(p->mac, digest, &digestLen, sizeof digest) != 1)
    THROW("fastpath: AES-CM or HMAC-SHA1 failed");
  memcpy(out + end, digest, 10);
  return NULL;
}

/*
 * sendTo(fd, datagram, port, ipv4) → true when the kernel took the
 * datagram (a firewall rule dropping it, EPERM, counts: the datagram is
 * lost on the way, as on any network), false when it would block (the
 * caller then sends it the usual way). Throws on any other error, with its
 * errno text.
 */
static napi_value send_to(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW("fastpath: sendTo(fd, datagram, port, ipv4)");
  int32_t fd;
  uint32_t port, ip;
  unsigned char *data;
  size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (!buffer_arg(env, argv[1], &data, &len)) THROW("fastpath: the datagram must be a Buffer");
  CHECK(napi_get_value_uint32(env, argv[2], &port));
  CHECK(napi_get_value_uint32(env, argv[3], &ip));
  if (fd < 0 || port == 0 || port > 65535) THROW("fastpath: bad descriptor or port");
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(ip);
  ssize_t sent;
  do sent = sendto(fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  while (sent < 0 && errno == EINTR);
  napi_value result;
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  if (sent < 0 && errno != EPERM) THROW(strerror(errno));
  napi_get_boolean(env, true, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"newProtector", NULL, new_protector, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, protect, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
