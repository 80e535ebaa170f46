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
#include "fastpath.h"

static void protector_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Protector *p = data;
  p->magic = 0;
  if (p->cipher) EVP_CIPHER_CTX_free(p->cipher);
  if (p->mac) EVP_MAC_CTX_free(p->mac);
  free(p);
}

/* The protector argument `v`, one that seals (decrypts 0) or opens (1); NULL once it has thrown. */
static Protector *protector_arg(napi_env env, napi_value v, int decrypts) {
  Protector *p = NULL;
  if (napi_get_value_external(env, v, (void **)&p) != napi_ok || p == NULL || p->magic != PROTECTOR_MAGIC)
    THROW(decrypts ? "fastpath: bad argument (not an unprotector)" : "fastpath: bad argument (not a protector)");
  if (p->decrypts != decrypts) THROW(decrypts ? "fastpath: bad argument (not an unprotector)" : "fastpath: bad argument (an unprotector cannot protect)");
  return p;
}

int buffer_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

/* newProtector(profile, key, salt, authKey?) → an external holding the session's contexts; newUnprotector the same, for the other way. */
static napi_value make_protector(napi_env env, napi_callback_info info, int decrypts) {
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
  p->magic = PROTECTOR_MAGIC;
  p->profile = profile;
  p->decrypts = decrypts;
  memcpy(p->salt, salt, saltLen);
  p->cipher = EVP_CIPHER_CTX_new();
  const EVP_CIPHER *kind = profile == PROFILE_AEAD_AES_128_GCM ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
  /* AES-CM's counter mode is the same both ways; GCM's opening checks the tag. */
  int ok = p->cipher && (decrypts && profile == PROFILE_AEAD_AES_128_GCM ? EVP_DecryptInit_ex(p->cipher, kind, NULL, key, NULL)
                                                                           : EVP_EncryptInit_ex(p->cipher, kind, NULL, key, NULL)) == 1;
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
  if (napi_create_external(env, p, protector_free, NULL, &external) != napi_ok) {
    protector_free(env, p, NULL);
    THROW("fastpath: could not wrap the contexts");
  }
  return external;
}

static napi_value new_protector(napi_env env, napi_callback_info info) {
  return make_protector(env, info, 0);
}

static napi_value new_unprotector(napi_env env, napi_callback_info info) {
  return make_protector(env, info, 1);
}

/* The IV of one packet (RFC 7714 §8.1 for GCM, 12 bytes; RFC 3711 §4.1.1 for AES-CM, 16). */
static void packet_iv(const Protector *p, unsigned char iv[16], uint32_t ssrc, uint32_t seq, uint32_t roc) {
  if (p->profile == PROFILE_AEAD_AES_128_GCM) {
    /* 00 00 || SSRC || ROC || SEQ, XOR the salt. */
    iv[0] = iv[1] = 0;
    iv[2] = ssrc >> 24, iv[3] = ssrc >> 16, iv[4] = ssrc >> 8, iv[5] = ssrc;
    iv[6] = roc >> 24, iv[7] = roc >> 16, iv[8] = roc >> 8, iv[9] = roc;
    iv[10] = seq >> 8, iv[11] = seq;
    for (int i = 0; i < 12; i++) iv[i] ^= p->salt[i];
    return;
  }
  /* (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16). */
  memcpy(iv, p->salt, 14);
  iv[14] = iv[15] = 0;
  iv[4] ^= ssrc >> 24, iv[5] ^= ssrc >> 16, iv[6] ^= ssrc >> 8, iv[7] ^= ssrc;
  iv[8] ^= roc >> 24, iv[9] ^= roc >> 16, iv[10] ^= roc >> 8, iv[11] ^= roc;
  iv[12] ^= seq >> 8, iv[13] ^= seq;
}

/* AES-CM's tag: HMAC-SHA1 over the packet (header and encrypted payload) and the ROC, first 10 bytes. 0 when OpenSSL failed. */
static int cm_tag(Protector *p, const unsigned char *packet, size_t len, uint32_t roc, unsigned char digest[20]) {
  unsigned char rocBytes[4] = {roc >> 24, roc >> 16, roc >> 8, roc};
  size_t digestLen;
  return EVP_MAC_init(p->mac, NULL, 0, NULL) == 1 && EVP_MAC_update(p->mac, packet, len) == 1 && EVP_MAC_update(p->mac, rocBytes, 4) == 1 &&
         EVP_MAC_final(p->mac, digest, &digestLen, 20) == 1;
}

/*
 * Encrypts `payload` into out + headerBytes and writes the tag after it;
 * `out` holds the RTP header in its first headerBytes. 0 when OpenSSL failed.
 */
static int seal(Protector *p, unsigned char *out, size_t headerBytes, const unsigned char *payload, size_t payloadLen, uint32_t ssrc,
                uint32_t seq, uint32_t roc) {
  int n;
  unsigned char iv[16];
  packet_iv(p, iv, ssrc, seq, roc);
  if (p->profile == PROFILE_AEAD_AES_128_GCM) {
    unsigned char end[16];
    return EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 && EVP_EncryptUpdate(p->cipher, NULL, &n, out, (int)headerBytes) == 1 &&
           EVP_EncryptUpdate(p->cipher, out + headerBytes, &n, payload, (int)payloadLen) == 1 && EVP_EncryptFinal_ex(p->cipher, end, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(p->cipher, EVP_CTRL_GCM_GET_TAG, 16, out + headerBytes + payloadLen) == 1;
  }
  size_t end = headerBytes + payloadLen;
  unsigned char digest[20];
  if (EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) != 1 || EVP_EncryptUpdate(p->cipher, out + headerBytes, &n, payload, (int)payloadLen) != 1 ||
      !cm_tag(p, out, end, roc, digest))
    return 0;
  memcpy(out + end, digest, 10);
  return 1;
}

/*
 * Opens one SRTP packet: checks its tag and decrypts its payload into
 * out + headerBytes, after a copy of its header. 0 when the tag does not
 * match (nothing in `out` is to be used).
 */
static int open_packet(Protector *p, const unsigned char *packet, size_t len, size_t headerBytes, unsigned char *out, uint32_t ssrc, uint32_t seq,
                       uint32_t roc) {
  int n;
  unsigned char iv[16];
  packet_iv(p, iv, ssrc, seq, roc);
  memcpy(out, packet, headerBytes);
  if (p->profile == PROFILE_AEAD_AES_128_GCM) {
    size_t payloadLen = len - 16 - headerBytes;
    unsigned char tag[16], end[16];
    memcpy(tag, packet + len - 16, 16);
    return EVP_DecryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 && EVP_DecryptUpdate(p->cipher, NULL, &n, packet, (int)headerBytes) == 1 &&
           EVP_DecryptUpdate(p->cipher, out + headerBytes, &n, packet + headerBytes, (int)payloadLen) == 1 &&
           EVP_CIPHER_CTX_ctrl(p->cipher, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 && EVP_DecryptFinal_ex(p->cipher, end, &n) == 1;
  }
  unsigned char digest[20];
  size_t body = len - 10;
  if (!cm_tag(p, packet, body, roc, digest) || CRYPTO_memcmp(digest, packet + body, 10) != 0) return 0;
  return EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 &&
         EVP_EncryptUpdate(p->cipher, out + headerBytes, &n, packet + headerBytes, (int)(body - headerBytes)) == 1;
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
  Protector *p = protector_arg(env, argv[0], 0);
  if (!p) return NULL;
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
  if (!seal(p, out, (size_t)headerBytes, payload, payloadLen, ssrc, seq, roc)) THROW("fastpath: SRTP protection failed");
  return NULL;
}

/*
 * protectRtcp(protector, out, length, index): `out` holds a compound RTCP
 * packet in its first `length` bytes (its first SSRC at bytes 4–7); all
 * after the first 8 bytes is encrypted in place under SRTCP index `index`
 * and the trailer written after it (out is exactly length + trailer long):
 * for GCM the tag, then E and the index (RFC 7714 §9, the E-flag and index
 * authenticated with the first 8 bytes); for AES-CM E and the index, then
 * the first 10 bytes of HMAC-SHA1 over everything before (RFC 3711 §3.4).
 * The protector is one made from the SRTCP session keys. Its IV is the
 * SRTP one with the index split as a rollover counter and a sequence
 * number: the same 48-bit layout in both profiles.
 */
static napi_value protect_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW("fastpath: protectRtcp(protector, out, length, index)");
  Protector *p = protector_arg(env, argv[0], 0);
  if (!p) return NULL;
  unsigned char *out;
  size_t outLen;
  int32_t length;
  uint32_t index;
  if (!buffer_arg(env, argv[1], &out, &outLen)) THROW("fastpath: out must be a Buffer");
  CHECK(napi_get_value_int32(env, argv[2], &length));
  CHECK(napi_get_value_uint32(env, argv[3], &index));
  int gcm = p->profile == PROFILE_AEAD_AES_128_GCM;
  size_t trailer = gcm ? 20 : 14;
  if (length < 8 || (size_t)length + trailer != outLen) THROW("fastpath: out must be the RTCP packet (8 bytes at least) + trailer long");
  if (index > 0x7fffffff) THROW("fastpath: the SRTCP index is 31 bits");
  uint32_t ssrc = (uint32_t)out[4] << 24 | (uint32_t)out[5] << 16 | (uint32_t)out[6] << 8 | out[7];
  unsigned char word[4] = {0x80 | index >> 24, index >> 16, index >> 8, index};
  unsigned char iv[16];
  packet_iv(p, iv, ssrc, index & 0xffff, index >> 16);
  size_t body = (size_t)length - 8;
  int n, ok;
  if (gcm) {
    unsigned char end[16];
    ok = EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 && EVP_EncryptUpdate(p->cipher, NULL, &n, out, 8) == 1 &&
         EVP_EncryptUpdate(p->cipher, NULL, &n, word, 4) == 1 && EVP_EncryptUpdate(p->cipher, out + 8, &n, out + 8, (int)body) == 1 &&
         EVP_EncryptFinal_ex(p->cipher, end, &n) == 1 && EVP_CIPHER_CTX_ctrl(p->cipher, EVP_CTRL_GCM_GET_TAG, 16, out + length) == 1;
    memcpy(out + length + 16, word, 4);
  } else {
    unsigned char digest[20];
    size_t digestLen;
    ok = EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 && EVP_EncryptUpdate(p->cipher, out + 8, &n, out + 8, (int)body) == 1;
    memcpy(out + length, word, 4);
    ok = ok && EVP_MAC_init(p->mac, NULL, 0, NULL) == 1 && EVP_MAC_update(p->mac, out, (size_t)length + 4) == 1 &&
         EVP_MAC_final(p->mac, digest, &digestLen, 20) == 1;
    if (ok) memcpy(out + length + 4, digest, 10);
  }
  if (!ok) THROW("fastpath: SRTCP protection failed");
  return NULL;
}

/*
 * unprotect(unprotector, packet, headerBytes, out, ssrc, seq, roc) → true
 * when the packet's tag matched and `out` (packet minus tag long) holds its
 * header and decrypted payload; false when it did not match.
 */
static napi_value unprotect(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) THROW("fastpath: unprotect(unprotector, packet, headerBytes, out, ssrc, seq, roc)");
  Protector *p = protector_arg(env, argv[0], 1);
  if (!p) return NULL;
  unsigned char *packet, *out;
  size_t len, outLen;
  int32_t headerBytes;
  uint32_t ssrc, seq, roc;
  if (!buffer_arg(env, argv[1], &packet, &len) || !buffer_arg(env, argv[3], &out, &outLen)) THROW("fastpath: packet and out must be Buffers");
  CHECK(napi_get_value_int32(env, argv[2], &headerBytes));
  CHECK(napi_get_value_uint32(env, argv[4], &ssrc));
  CHECK(napi_get_value_uint32(env, argv[5], &seq));
  CHECK(napi_get_value_uint32(env, argv[6], &roc));
  size_t tag = p->profile == PROFILE_AEAD_AES_128_GCM ? 16 : 10;
  if (len > (size_t)0x7fffffff || headerBytes < 12 || (size_t)headerBytes + tag > len || outLen != len - tag)
    THROW("fastpath: out must be the packet minus its tag, the header inside the packet");
  napi_value result;
  napi_get_boolean(env, open_packet(p, packet, len, (size_t)headerBytes, out, ssrc, seq & 0xffff, roc), &result);
  return result;
}

/*
 * unprotectRtcp(unprotector, packet, out) → true when the SRTCP packet's
 * tag matched and `out` (the packet minus its trailer long: GCM 20 bytes,
 * AES-CM 14) holds the compound RTCP packet, decrypted when its E-flag
 * says it was encrypted; false when the tag did not match. The unprotector
 * is one made from the SRTCP session keys. The reverse of protectRtcp.
 */
static napi_value unprotect_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) THROW("fastpath: unprotectRtcp(unprotector, packet, out)");
  Protector *p = protector_arg(env, argv[0], 1);
  if (!p) return NULL;
  unsigned char *packet, *out;
  size_t len, outLen;
  if (!buffer_arg(env, argv[1], &packet, &len) || !buffer_arg(env, argv[2], &out, &outLen)) THROW("fastpath: packet and out must be Buffers");
  int gcm = p->profile == PROFILE_AEAD_AES_128_GCM;
  size_t trailer = gcm ? 20 : 14;
  if (len > (size_t)0x7fffffff || len < 8 + trailer || outLen != len - trailer) THROW("fastpath: out must be the SRTCP packet minus its trailer");
  size_t body = len - trailer;
  const unsigned char *word = gcm ? packet + len - 4 : packet + body;
  uint32_t index = (uint32_t)(word[0] & 0x7f) << 24 | (uint32_t)word[1] << 16 | (uint32_t)word[2] << 8 | word[3];
  int encrypted = word[0] >> 7;
  uint32_t ssrc = (uint32_t)packet[4] << 24 | (uint32_t)packet[5] << 16 | (uint32_t)packet[6] << 8 | packet[7];
  unsigned char iv[16];
  packet_iv(p, iv, ssrc, index & 0xffff, index >> 16);
  int n, ok;
  memcpy(out, packet, encrypted ? 8 : body);
  if (gcm) {
    unsigned char tag[16], end[16];
    memcpy(tag, packet + body, 16);
    /* Encrypted: the first 8 bytes and the E|index word are authenticated; else all before the tag and the word. */
    ok = EVP_DecryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 && EVP_DecryptUpdate(p->cipher, NULL, &n, packet, encrypted ? 8 : (int)body) == 1 &&
         EVP_DecryptUpdate(p->cipher, NULL, &n, word, 4) == 1 &&
         (!encrypted || EVP_DecryptUpdate(p->cipher, out + 8, &n, packet + 8, (int)(body - 8)) == 1) &&
         EVP_CIPHER_CTX_ctrl(p->cipher, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 && EVP_DecryptFinal_ex(p->cipher, end, &n) == 1;
  } else {
    unsigned char digest[20];
    size_t digestLen;
    ok = EVP_MAC_init(p->mac, NULL, 0, NULL) == 1 && EVP_MAC_update(p->mac, packet, len - 10) == 1 && EVP_MAC_final(p->mac, digest, &digestLen, 20) == 1 &&
         CRYPTO_memcmp(digest, packet + len - 10, 10) == 0;
    if (ok && encrypted)
      ok = EVP_EncryptInit_ex(p->cipher, NULL, NULL, NULL, iv) == 1 && EVP_EncryptUpdate(p->cipher, out + 8, &n, packet + 8, (int)(body - 8)) == 1;
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static void address(struct sockaddr_in *to, uint32_t port, uint32_t ip) {
  memset(to, 0, sizeof *to);
  to->sin_family = AF_INET;
  to->sin_port = htons((uint16_t)port);
  to->sin_addr.s_addr = htonl(ip);
}

/* One sendto without waiting: 1 when the kernel took the datagram (or a firewall rule dropped it, EPERM), 0 when the socket is full, -1 on any other error (errno). */
static int send_datagram(int fd, const struct sockaddr_in *to, const unsigned char *data, size_t len) {
  ssize_t sent;
  do sent = sendto(fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
  while (sent < 0 && errno == EINTR);
  if (sent >= 0 || errno == EPERM) return 1;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;
  return -1;
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
  address(&to, port, ip);
  int sent = send_datagram(fd, &to, data, len);
  if (sent < 0) THROW(strerror(errno));
  napi_value result;
  napi_get_boolean(env, sent == 1, &result);
  return result;
}

static void route_free(napi_env env, void *data, void *hint) {
  (void)hint;
  Route *r = data;
  r->magic = 0;
  if (r->protectorRef) napi_delete_reference(env, r->protectorRef);
  if (r->slabRef) napi_delete_reference(env, r->slabRef);
  free(r);
}

Route *route_arg(napi_env env, napi_value v) {
  Route *r = NULL;
  if (napi_get_value_external(env, v, (void **)&r) != napi_ok || r == NULL || r->magic != ROUTE_MAGIC) return NULL;
  return r;
}

/* newRoute(protector, slab, slotBytes, header, absOffset, ssrc) → an external; it sends nowhere until routeTo. */
static napi_value new_route(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) THROW("fastpath: newRoute(protector, slab, slotBytes, header, absOffset, ssrc)");
  Protector *p = protector_arg(env, argv[0], 0);
  if (!p) return NULL;
  unsigned char *slab, *header;
  size_t slabLen, headerLen;
  uint32_t slotBytes, ssrc;
  int32_t absOffset;
  if (!buffer_arg(env, argv[1], &slab, &slabLen) || !buffer_arg(env, argv[3], &header, &headerLen)) THROW("fastpath: the slab and header must be Buffers");
  CHECK(napi_get_value_uint32(env, argv[2], &slotBytes));
  CHECK(napi_get_value_int32(env, argv[4], &absOffset));
  CHECK(napi_get_value_uint32(env, argv[5], &ssrc));
  if (slotBytes == 0 || slabLen % slotBytes != 0 || slabLen / slotBytes == 0) THROW("fastpath: the slab must be whole slots");
  if (headerLen < 12 || headerLen > HEADER_MAX || headerLen + 16 >= slotBytes) THROW("fastpath: the header must be 12 to 64 bytes and fit a slot");
  if (absOffset >= 0 && (size_t)absOffset + 3 > headerLen) THROW("fastpath: abs-send-time lies outside the header");
  Route *r = calloc(1, sizeof(Route));
  if (!r) THROW("fastpath: out of memory");
  r->magic = ROUTE_MAGIC;
  r->protector = p;
  r->slab = slab;
  r->slotBytes = slotBytes;
  r->slots = (uint32_t)(slabLen / slotBytes);
  memcpy(r->header, header, headerLen);
  r->headerBytes = (uint32_t)headerLen;
  r->absOffset = absOffset;
  r->ssrc = ssrc;
  r->fd = -1;
  napi_value external;
  if (napi_create_reference(env, argv[0], 1, &r->protectorRef) != napi_ok || napi_create_reference(env, argv[1], 1, &r->slabRef) != napi_ok ||
      napi_create_external(env, r, route_free, NULL, &external) != napi_ok) {
    route_free(env, r, NULL);
    THROW("fastpath: could not make the route");
  }
  return external;
}

/* routeTo(route, fd, port, ipv4): where sendRtp sends from here on; fd -1 sends nowhere. */
static napi_value route_to(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) THROW("fastpath: routeTo(route, fd, port, ipv4)");
  Route *r = route_arg(env, argv[0]);
  if (!r) THROW("fastpath: bad argument (not a route)");
  int32_t fd;
  uint32_t port, ip;
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_value_uint32(env, argv[2], &port));
  CHECK(napi_get_value_uint32(env, argv[3], &ip));
  if (fd >= 0 && (port == 0 || port > 65535)) THROW("fastpath: bad port");
  r->fd = fd < 0 ? -1 : fd;
  address(&r->to, port, ip);
  return NULL;
}

/*
 * sendRtp(route, payload, seq, timestamp, absSendTime, roc, flags) → the
 * datagram's size when it was written into its slot and sent; minus its
 * size when written but not sent (flags bit 1 clear, no descriptor, the
 * socket full, or a send error: the descriptor is then forgotten and the
 * caller sends the slot's bytes its own way, which reports the error);
 * 0 when it does not fit a slot (nothing written). Flags: bit 0 the
 * marker, bit 1 send, bit 2 the padding bit (the payload ends in padding).
 */
static napi_value send_rtp(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) THROW("fastpath: sendRtp(route, payload, seq, timestamp, absSendTime, roc, flags)");
  Route *r = route_arg(env, argv[0]);
  if (!r) THROW("fastpath: bad argument (not a route)");
  unsigned char *payload;
  size_t payloadLen;
  uint32_t seq, ts, abs, roc, flags;
  if (!buffer_arg(env, argv[1], &payload, &payloadLen)) THROW("fastpath: the payload must be a Buffer");
  CHECK(napi_get_value_uint32(env, argv[2], &seq));
  CHECK(napi_get_value_uint32(env, argv[3], &ts));
  CHECK(napi_get_value_uint32(env, argv[4], &abs));
  CHECK(napi_get_value_uint32(env, argv[5], &roc));
  CHECK(napi_get_value_uint32(env, argv[6], &flags));
  size_t size;
  int done = route_write(r, payload, payloadLen, seq, ts, abs, roc, flags, &size);
  if (done == ROUTE_SEAL_FAILED) THROW("fastpath: SRTP protection failed");
  napi_value result;
  napi_create_int32(env, done == ROUTE_TOO_BIG ? 0 : done == ROUTE_SENT ? (int32_t)size : -(int32_t)size, &result);
  return result;
}

int route_write(Route *r, const unsigned char *payload, size_t payloadLen, uint32_t seq, uint32_t ts, uint32_t abs, uint32_t roc, uint32_t flags,
                size_t *size) {
  return route_write_patched(r, payload, payloadLen, NULL, 0, seq, ts, abs, roc, flags, size);
}

int route_write_patched(Route *r, const unsigned char *payload, size_t payloadLen, const unsigned char *patch, size_t patchLen, uint32_t seq,
                        uint32_t ts, uint32_t abs, uint32_t roc, uint32_t flags, size_t *size) {
  size_t tag = r->protector->profile == PROFILE_AEAD_AES_128_GCM ? 16 : 10;
  *size = r->headerBytes + payloadLen + tag;
  if (*size > r->slotBytes) return ROUTE_TOO_BIG;
  seq &= 0xffff;
  unsigned char *out = r->slab + (size_t)(seq % r->slots) * r->slotBytes;
  memcpy(out, r->header, r->headerBytes);
  out[0] = (unsigned char)((flags & RTP_PADDING ? 0x20 : 0) | (out[0] & 0xdf));
  out[1] = (unsigned char)((flags & RTP_MARKER ? 0x80 : 0) | (out[1] & 0x7f));
  out[2] = seq >> 8, out[3] = seq;
  out[4] = ts >> 24, out[5] = ts >> 16, out[6] = ts >> 8, out[7] = ts;
  if (r->absOffset >= 0) out[r->absOffset] = abs >> 16, out[r->absOffset + 1] = abs >> 8, out[r->absOffset + 2] = abs;
  if (patchLen > 0 && patchLen <= payloadLen) {
    /* The payload laid out in the slot with its patch, then sealed where it lies (OpenSSL encrypts in place). */
    unsigned char *body = out + r->headerBytes;
    memcpy(body, patch, patchLen);
    memcpy(body + patchLen, payload + patchLen, payloadLen - patchLen);
    payload = body;
  }
  if (!seal(r->protector, out, r->headerBytes, payload, payloadLen, r->ssrc, seq, roc)) return ROUTE_SEAL_FAILED;
  if (!(flags & RTP_SEND) || r->fd < 0) return ROUTE_UNSENT;
  int sent = send_datagram(r->fd, &r->to, out, *size);
  if (sent < 0) r->fd = -1;
  return sent == 1 ? ROUTE_SENT : ROUTE_UNSENT;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"newProtector", NULL, new_protector, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, protect, NULL, NULL, NULL, napi_default, NULL},
      {"protectRtcp", NULL, protect_rtcp, NULL, NULL, NULL, napi_default, NULL},
      {"newUnprotector", NULL, new_unprotector, NULL, NULL, NULL, napi_default, NULL},
      {"unprotect", NULL, unprotect, NULL, NULL, NULL, napi_default, NULL},
      {"unprotectRtcp", NULL, unprotect_rtcp, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, send_to, NULL, NULL, NULL, napi_default, NULL},
      {"newRoute", NULL, new_route, NULL, NULL, NULL, napi_default, NULL},
      {"routeTo", NULL, route_to, NULL, NULL, NULL, napi_default, NULL},
      {"sendRtp", NULL, send_rtp, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  fanout_define(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
