import assert from "node:assert/strict";
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RTCPeerConnection, RtpHeader, SrtcpSession, SrtpSession } from "werift";
import { nativeFastPath, type NativeFastPath } from "./native.js";
import { rtcCensus } from "./census.js";
import { peerConfig, publishCodecs } from "./peer-config.js";
import { isOpenedNatively, openSrtpNatively, rtpHeaderBytes, takeOver, takeOverRtcp } from "./srtp-receive.js";

/** Two werift SRTP sessions keyed for each other: what `from` encrypts, `to` decrypts. */
function pair(profile: number) {
  const salt = () => randomBytes(profile === ProtectionProfileAeadAes128Gcm ? 12 : 14);
  const [k1, s1, k2, s2] = [randomBytes(16), salt(), randomBytes(16), salt()];
  const from = new SrtpSession({ keys: { localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 }, profile });
  const to = () => new SrtpSession({ keys: { localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 }, profile });
  return { from, to };
}

type Decrypting = { decrypt(packet: Buffer): Buffer };

describe("incoming SRTP opened natively", () => {
  for (const [name, profile] of [
    ["AEAD_AES_128_GCM", ProtectionProfileAeadAes128Gcm],
    ["AES128_CM_HMAC_SHA1_80", ProtectionProfileAes128CmHmacSha1_80],
  ] as const) {
    test(`${name}: the same packets as werift's decrypt, across a rollover, with CSRCs, extensions and padding; a forged one is dropped as werift drops it`, () => {
      const native = nativeFastPath as NativeFastPath;
      assert.ok(native, "the native fast path is built");
      const { from, to } = pair(profile);
      const reference = to() as unknown as Decrypting;
      const session = to();
      assert.equal(isOpenedNatively(session), false);
      assert.equal(takeOver(session as never, native), true);
      assert.equal(isOpenedNatively(session), true);
      const opened = session as unknown as Decrypting;
      const ssrc = 0x5eed1e55;
      for (const seq of [65530, 65533, 65535, 0, 1, 3]) {
        const payload = randomBytes(200 + (seq % 900));
        const header = new RtpHeader({ sequenceNumber: seq, timestamp: 3000 * seq, marker: seq === 0, payloadType: 96, ssrc });
        if (seq === 65533) header.csrc = [1, 2];
        if (seq === 1) {
          header.extension = true;
          header.extensionProfile = 0xbede;
          header.extensions = [{ id: 3, payload: Buffer.from([1, 2, 3]) }];
        }
        if (seq === 3) {
          // Padding: three bytes, the last one its count.
          header.padding = true;
          header.paddingSize = 3;
        }
        const packet = from.encrypt(seq === 3 ? Buffer.concat([payload, Buffer.from([0, 0, 3])]) : payload, header);
        assert.deepEqual(opened.decrypt(packet), reference.decrypt(packet), `seq ${seq}`);
      }
      const state = (session as unknown as { remoteContext: { srtpSSRCStates: Record<number, { rolloverCounter: number }> } }).remoteContext.srtpSSRCStates[
        ssrc
      ];
      assert.equal(state.rolloverCounter, 1, "the rollover counter moved as werift's does");
      const forged = from.encrypt(randomBytes(100), new RtpHeader({ sequenceNumber: 4, timestamp: 1, payloadType: 96, ssrc }));
      forged[forged.length - 1] ^= 1;
      assert.throws(() => opened.decrypt(forged), /authenticate/);
      assert.equal(state.rolloverCounter, 1, "a forged packet moves nothing");
      assert.throws(() => opened.decrypt(Buffer.from([0x80, 96, 0, 1])), /authenticate/, "too short for a header: werift's answer");
    });
  }

  test("a session werift's internals do not match is left alone", () => {
    const native = nativeFastPath as NativeFastPath;
    assert.equal(takeOver({}, native), false);
    const decrypt = (p: Buffer) => p;
    const session = {
      decrypt,
      remoteContext: { profile: 99, srtpSessionKey: Buffer.alloc(16), srtpSessionSalt: Buffer.alloc(12), srtpSSRCStates: {}, updateRolloverCount() {} },
    };
    assert.equal(takeOver(session, native), false, "an unknown profile");
    assert.equal(session.decrypt, decrypt);
  });

  test("unprotect refuses what is not its own with an error, not a crash", () => {
    const native = nativeFastPath as NativeFastPath;
    const sealer = native.newProtector(ProtectionProfileAeadAes128Gcm, Buffer.alloc(16), Buffer.alloc(12), undefined);
    const opener = native.newUnprotector(ProtectionProfileAeadAes128Gcm, Buffer.alloc(16), Buffer.alloc(12), undefined);
    assert.throws(() => native.unprotect(sealer, Buffer.alloc(40), 12, Buffer.alloc(24), 1, 1, 0), /not an unprotector/);
    assert.throws(() => native.protect(opener, Buffer.alloc(40), 12, Buffer.alloc(12), 1, 1, 0), /cannot protect/);
    assert.throws(() => native.unprotect(opener, Buffer.alloc(40), 12, Buffer.alloc(40), 1, 1, 0), /minus its tag/);
    assert.throws(() => native.unprotect(opener, Buffer.alloc(20), 12, Buffer.alloc(4), 1, 1, 0), /minus its tag/);
    assert.equal(native.unprotect(opener, Buffer.alloc(40), 12, Buffer.alloc(24), 1, 1, 0), false, "a wrong tag");
  });
});

type SrtcpKeys = { srtcpSessionKey: Buffer; srtcpSessionSalt: Buffer; srtcpSessionAuthTag: Buffer };

/**
 * An SRTCP packet sent unencrypted (E-flag clear, RFC 3711 §3.4), which
 * werift never writes but reads: authenticated only, under `keys`.
 */
function unencrypted(profile: number, keys: SrtcpKeys, rtcp: Buffer, index: number): Buffer {
  const word = Buffer.alloc(4);
  word.writeUInt32BE(index);
  if (profile === ProtectionProfileAes128CmHmacSha1_80) {
    const body = Buffer.concat([rtcp, word]);
    return Buffer.concat([body, createHmac("sha1", keys.srtcpSessionAuthTag).update(body).digest().subarray(0, 10)]);
  }
  // RFC 7714 §9.1: IV 00 00 || SSRC || 00 00 || index, XOR the salt; all of the packet and the word as AAD, nothing encrypted.
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(rtcp.readUInt32BE(4), 2);
  iv.writeUInt32BE(index, 8);
  for (let i = 0; i < 12; i++) iv[i] ^= keys.srtcpSessionSalt[i];
  const cipher = createCipheriv("aes-128-gcm", keys.srtcpSessionKey, iv);
  cipher.setAAD(Buffer.concat([rtcp, word]));
  cipher.final();
  return Buffer.concat([rtcp, cipher.getAuthTag(), word]);
}

describe("incoming SRTCP opened natively", () => {
  for (const [name, profile] of [
    ["AEAD_AES_128_GCM", ProtectionProfileAeadAes128Gcm],
    ["AES128_CM_HMAC_SHA1_80", ProtectionProfileAes128CmHmacSha1_80],
  ] as const) {
    test(`${name}: the same packets as werift's decrypt, encrypted or not, up to the last index; a forged one is dropped as werift drops it`, () => {
      const native = nativeFastPath as NativeFastPath;
      const salt = () => randomBytes(profile === ProtectionProfileAeadAes128Gcm ? 12 : 14);
      const [k1, s1, k2, s2] = [randomBytes(16), salt(), randomBytes(16), salt()];
      const from = new SrtcpSession({ keys: { localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 }, profile });
      const to = () => new SrtcpSession({ keys: { localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 }, profile });
      const reference = to() as unknown as Decrypting;
      const session = to();
      assert.equal(takeOverRtcp(session as never, native), true);
      assert.equal(isOpenedNatively(session), true);
      const opened = session as unknown as Decrypting;
      const keys = (from as unknown as { localContext: SrtcpKeys }).localContext;
      const opener = native.newUnprotector(profile, keys.srtcpSessionKey, keys.srtcpSessionSalt, keys.srtcpSessionAuthTag);
      const ssrc = 0x5eed1e55;
      const state = (from as unknown as { localContext: { getSrtcpSsrcState(ssrc: number): { srtcpIndex: number } } }).localContext.getSrtcpSsrcState(ssrc);
      const rtcp = (words: number) => Buffer.concat([Buffer.from([0x81, 201, 0, words]), Buffer.from([0x5e, 0xed, 0x1e, 0x55]), randomBytes(4 * words - 4)]);
      for (const [index, words] of [
        [0, 1],
        [7, 7],
        [0x7ffffffd, 13],
      ]) {
        state.srtcpIndex = index;
        const packet = from.encrypt(rtcp(words));
        const want = reference.decrypt(packet);
        assert.deepEqual(opened.decrypt(packet), want, `index ${index + 1}, ${words} words`);
        // Not by falling back to werift's: the native part opens it itself.
        const out = Buffer.alloc(want.length);
        assert.equal(native.unprotectRtcp(opener, packet, out), true);
        assert.deepEqual(out, want);
      }
      const plain = rtcp(7);
      const clear = unencrypted(profile, keys, plain, 0x12345);
      assert.deepEqual(reference.decrypt(clear), plain, "werift reads a packet sent unencrypted");
      const out = Buffer.alloc(plain.length);
      assert.equal(native.unprotectRtcp(opener, clear, out), true);
      assert.deepEqual(out, plain, "so does the native part");
      const forged = from.encrypt(rtcp(7));
      forged[12] ^= 1;
      assert.throws(() => opened.decrypt(forged), /authenticate/);
      assert.throws(() => opened.decrypt(Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1])), /authenticate/, "too short for the trailer: werift's answer");
      // Noise of every length up to a few hundred bytes, E-flag set or not: refused each time, never a crash.
      for (let n = 0; n < 400; n++) {
        const noise = randomBytes(n);
        // Where the E-flag would be: before the index (GCM: the last 4 bytes; AES-CM: before the 10-byte tag).
        const flag = n - (profile === ProtectionProfileAeadAes128Gcm ? 4 : 14);
        if (flag >= 0) noise[flag] = n % 2 ? noise[flag] | 0x80 : noise[flag] & 0x7f;
        assert.throws(() => opened.decrypt(noise), /authenticate/, `${n} bytes of noise`);
      }
    });
  }

  test("unprotectRtcp refuses a wrongly sized packet with an error, and a wrong tag with false", () => {
    const native = nativeFastPath as NativeFastPath;
    const opener = native.newUnprotector(ProtectionProfileAeadAes128Gcm, Buffer.alloc(16), Buffer.alloc(12), undefined);
    assert.throws(() => native.unprotectRtcp(opener, Buffer.alloc(27), Buffer.alloc(7)), /minus its trailer/);
    assert.throws(() => native.unprotectRtcp(opener, Buffer.alloc(40), Buffer.alloc(40)), /minus its trailer/);
    assert.equal(native.unprotectRtcp(opener, Buffer.alloc(40), Buffer.alloc(20)), false);
  });
});

describe("rtpHeaderBytes", () => {
  test("fixed header, CSRCs and the extension; -1 for what is not an RTP header ending before the tag", () => {
    const h = Buffer.alloc(60);
    h[0] = 0x80;
    assert.equal(rtpHeaderBytes(h, 10), 12);
    h[0] = 0x82;
    assert.equal(rtpHeaderBytes(h, 10), 20, "two CSRCs");
    h[0] = 0x91;
    h.writeUInt16BE(2, 18);
    assert.equal(rtpHeaderBytes(h, 10), 16 + 4 + 8, "one CSRC and a two-word extension");
    h.writeUInt16BE(20, 18);
    assert.equal(rtpHeaderBytes(h, 10), -1, "an extension longer than the packet");
    assert.equal(rtpHeaderBytes(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 10), -1, "version 1");
    assert.equal(rtpHeaderBytes(Buffer.alloc(21, 0x80), 10), -1, "shorter than a header and a tag");
  });
});

test("the native SRTP's hold on a connection's transports is let go by its owner's close, once, even where no transport says it closed", async (t) => {
  const pc = new RTCPeerConnection(peerConfig({ iceHosts: ["127.0.0.1"], iceServers: [] }, publishCodecs()));
  t.after(() => pc.close());
  pc.addTransceiver("video", { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  const before = rtcCensus().listeners;
  // The transports have no SRTP session before DTLS: nothing of the native part is called.
  const release = openSrtpNatively(pc, {} as NativeFastPath);
  assert.equal(rtcCensus().listeners, before + 1, "one transport (bundled), one hold");
  release();
  assert.equal(rtcCensus().listeners, before);
  release();
  await pc.close();
  assert.equal(rtcCensus().listeners, before, "not let go twice");
});
