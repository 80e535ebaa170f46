import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtcpSession, SrtpSession } from "werift";
import { absSendTime, headerTemplate, ntpTime } from "./rtp-header.js";
import { nativeFastPath, nativeFastPathStatus, type NativeFastPath } from "./native.js";
import { nextSrtcpIndex, PROFILE_AEAD_AES_128_GCM, PROFILE_AES128_CM_HMAC_SHA1_80, SrtpProtector } from "./srtp-protect.js";

/** werift's own SRTP session for a random master key: the reference the fast path must match byte for byte. */
function reference(profile: number, native: NativeFastPath | null) {
  const salt = () => randomBytes(profile === ProtectionProfileAeadAes128Gcm ? 12 : 14);
  const session = new SrtpSession({
    keys: { localMasterKey: randomBytes(16), localMasterSalt: salt(), remoteMasterKey: randomBytes(16), remoteMasterSalt: salt() },
    profile,
  });
  const c = (session as unknown as { localContext: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag: Buffer } }).localContext;
  const keys = { profile, key: c.srtpSessionKey, salt: c.srtpSessionSalt, authKey: c.srtpSessionAuthTag };
  return { context: session, protector: new SrtpProtector(keys, native) };
}

test("the native fast path is built and loads on this machine", () => {
  assert.equal(nativeFastPathStatus, "native");
});

describe("SrtpProtector", () => {
  for (const [name, profile, native] of [
    ["AEAD_AES_128_GCM", PROFILE_AEAD_AES_128_GCM, null],
    ["AES128_CM_HMAC_SHA1_80", PROFILE_AES128_CM_HMAC_SHA1_80, null],
    ["AEAD_AES_128_GCM, native", PROFILE_AEAD_AES_128_GCM, nativeFastPath ?? null],
    ["AES128_CM_HMAC_SHA1_80, native", PROFILE_AES128_CM_HMAC_SHA1_80, nativeFastPath ?? null],
  ] as const) {
    test(`${name}: the same bytes as werift's SRTP context, across a sequence number rollover`, () => {
      assert.equal(profile, name.startsWith("AEAD_AES_128_GCM") ? ProtectionProfileAeadAes128Gcm : ProtectionProfileAes128CmHmacSha1_80);
      const { context, protector } = reference(profile, native);
      assert.equal(protector.isNative, native !== null);
      const ssrc = 0x8badf00d;
      const state = { rolloverCounter: 0, lastSequenceNumber: 0 } as never;
      const ctx = (context as unknown as { localContext: object }).localContext as { updateRolloverCount(seq: number, s: { rolloverCounter: number }): void };
      const template = headerTemplate(96, ssrc, [], undefined).header;
      for (const seq of [65533, 65534, 65535, 0, 1, 2]) {
        const payload = randomBytes(100 + seq);
        const header = new RtpHeader({ sequenceNumber: seq, timestamp: 90_000 + seq, marker: seq === 0, payloadType: 96, ssrc });
        const want = context.encrypt(payload, header);
        ctx.updateRolloverCount(seq, state);
        const out = Buffer.alloc(12 + payload.length + protector.trailer);
        template.copy(out);
        out[1] = (seq === 0 ? 0x80 : 0) | 96;
        out.writeUInt16BE(seq, 2);
        out.writeUInt32BE(90_000 + seq, 4);
        const got = protector.protect(out, 12, payload, ssrc, seq, (state as { rolloverCounter: number }).rolloverCounter);
        assert.deepEqual(got, want, `seq ${seq}`);
      }
      assert.equal((state as { rolloverCounter: number }).rolloverCounter, 1, "the counter rolled over once");
    });

    test(`${name}: SRTCP, the same bytes as werift's SRTCP context, up to the last index`, () => {
      const salt = () => randomBytes(profile === PROFILE_AEAD_AES_128_GCM ? 12 : 14);
      const master = { key: randomBytes(16), salt: salt() };
      const session = new SrtcpSession({
        keys: { localMasterKey: master.key, localMasterSalt: master.salt, remoteMasterKey: randomBytes(16), remoteMasterSalt: salt() },
        profile,
      });
      // The viewer's side of the same keys.
      const viewer = new SrtcpSession({
        keys: { localMasterKey: randomBytes(16), localMasterSalt: salt(), remoteMasterKey: master.key, remoteMasterSalt: master.salt },
        profile,
      });
      type Keys = { srtcpSessionKey: Buffer; srtcpSessionSalt: Buffer; srtcpSessionAuthTag: Buffer };
      const c = (session as unknown as { localContext: Keys & { getSrtcpSsrcState(ssrc: number): { srtcpIndex: number } } }).localContext;
      const protector = new SrtpProtector({ profile, key: c.srtcpSessionKey, salt: c.srtcpSessionSalt, authKey: c.srtcpSessionAuthTag }, native);
      assert.equal(protector.isNative, native !== null);
      assert.equal(protector.rtcpTrailer, profile === PROFILE_AEAD_AES_128_GCM ? 20 : 14);
      const ssrc = 0x8badf00d;
      const state = c.getSrtcpSsrcState(ssrc);
      let index = state.srtcpIndex;
      // A sender report with one report block and a few bytes more, 8-byte header first.
      const rtcp = Buffer.concat([Buffer.from([0x81, 200, 0, 12]), Buffer.from([0x8b, 0xad, 0xf0, 0x0d]), randomBytes(44)]);
      for (const start of [0, 0x7ffffffc]) {
        state.srtcpIndex = index = start;
        for (let n = 0; n < 3; n++) {
          const want = session.encrypt(rtcp);
          index = nextSrtcpIndex(index);
          const out = Buffer.alloc(rtcp.length + protector.rtcpTrailer);
          rtcp.copy(out);
          assert.deepEqual(protector.protectRtcp(out, rtcp.length, index), want, `index ${index}`);
          assert.deepEqual(viewer.decrypt(want), rtcp, "werift reads it back");
        }
      }
      assert.equal(index, 0x7fffffff, "the last index");
      assert.equal(nextSrtcpIndex(index), 0, "then 0");
    });
  }

  test("an unknown profile or a missing AES-CM authentication key is refused", () => {
    assert.throws(() => new SrtpProtector({ profile: 2, key: Buffer.alloc(16), salt: Buffer.alloc(14) }), /unsupported SRTP profile 2/);
    assert.throws(() => new SrtpProtector({ profile: PROFILE_AES128_CM_HMAC_SHA1_80, key: Buffer.alloc(16), salt: Buffer.alloc(14) }), /authentication key/);
  });

  test("the native path refuses bad keys and a wrongly sized packet with an error, not a crash", () => {
    const native = nativeFastPath as NativeFastPath;
    assert.throws(() => native.newProtector(PROFILE_AEAD_AES_128_GCM, Buffer.alloc(15), Buffer.alloc(12), undefined), /key must be 16 bytes/);
    assert.throws(() => native.newProtector(PROFILE_AEAD_AES_128_GCM, Buffer.alloc(16), Buffer.alloc(11), undefined), /GCM salt is 12 bytes/);
    assert.throws(() => native.newProtector(9, Buffer.alloc(16), Buffer.alloc(12), undefined), /unsupported SRTP profile/);
    const protector = new SrtpProtector({ profile: PROFILE_AEAD_AES_128_GCM, key: Buffer.alloc(16), salt: Buffer.alloc(12) }, native);
    assert.throws(() => protector.protect(Buffer.alloc(12 + 100), 12, Buffer.alloc(100), 1, 2, 0), /header \+ payload \+ tag/);
    assert.throws(() => native.protect({}, Buffer.alloc(128), 12, Buffer.alloc(100), 1, 2, 0), /bad argument/);
    assert.throws(() => protector.protectRtcp(Buffer.alloc(28 + 19), 28, 1), /packet \(8 bytes at least\) \+ trailer/);
    assert.throws(() => protector.protectRtcp(Buffer.alloc(28 + 20), 28, 2 ** 31), /31 bits/);
  });
});

describe("the fast path's header", () => {
  test("one-byte extensions in id order, padded to 32 bits; abs-send-time's place is known", () => {
    const { header, absOffset } = headerTemplate(
      100,
      0x01020304,
      [
        { id: 3, uri: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" },
        { id: 1, uri: "urn:ietf:params:rtp-hdrext:sdes:mid" },
        { id: 5, uri: "urn:example:unknown" },
      ],
      "0",
    );
    // V=2 X=1 | PT | seq | ts | SSRC | 0xBEDE, 2 words | id1 len0 '0' | id3 len2 xx xx xx | pad pad
    assert.deepEqual([...header], [0x90, 100, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0xbe, 0xde, 0, 2, 0x10, 0x30, 0x32, 0, 0, 0, 0, 0]);
    assert.equal(absOffset, 19);
    const { header: plain, absOffset: none } = headerTemplate(111, 7, [], undefined);
    assert.deepEqual([plain.length, plain[0], none], [12, 0x80, -1]);
  });

  test("abs-send-time is 6.18 fixed-point seconds; NTP time counts from 1900", () => {
    const a = absSendTime(1000);
    const b = absSendTime(1250);
    assert.equal((b - a + 0x1000000) % 0x1000000, 65_536, "a quarter second is 2^16");
    const ntp = ntpTime(performance.now());
    const seconds = Number(ntp >> 32n);
    assert.ok(Math.abs(seconds - (Date.now() / 1000 + 2_208_988_800)) < 2, `NTP seconds ${seconds}`);
  });
});
