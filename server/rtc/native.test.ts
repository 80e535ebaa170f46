import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { describe, test } from "node:test";
import { randomBytes } from "node:crypto";
import { absSendTime, headerTemplate } from "./rtp-header.js";
import { ipv4Number, nativeFastPath, pendingSends, RTP_MARKER, RTP_PADDING, RTP_SEND, udpDescriptor, type NativeFastPath } from "./native.js";
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES128_CM_HMAC_SHA1_80, SrtpProtector, type SrtpSessionKeys } from "./srtp-protect.js";

async function bound(): Promise<Socket> {
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}

test("IPv4 addresses become the number sendTo takes; anything else does not", () => {
  assert.equal(ipv4Number("127.0.0.1"), 0x7f000001);
  assert.equal(ipv4Number("255.255.255.255"), 0xffffffff);
  for (const bad of ["::1", "1.2.3", "1.2.3.256", "a.b.c.d", "1.2.3.4.5", ""]) assert.equal(ipv4Number(bad), undefined, bad);
});

test("sendTo writes a datagram to a UDP socket's descriptor; a closed one is an error, not a crash", async () => {
  const native = nativeFastPath as NativeFastPath;
  assert.ok(native, "the native fast path is built");
  const [from, to] = [await bound(), await bound()];
  try {
    const fd = udpDescriptor(from);
    assert.equal(typeof fd, "number");
    const got = once(to, "message");
    assert.equal(native.sendTo(fd as number, Buffer.from("stripe"), to.address().port, 0x7f000001), true);
    const [msg, rinfo] = (await got) as [Buffer, { port: number }];
    assert.equal(msg.toString(), "stripe");
    assert.equal(rinfo.port, from.address().port, "it left from the socket's own port");
    assert.throws(() => native.sendTo(fd as number, Buffer.alloc(1), 0, 0x7f000001), /bad descriptor or port/);
  } finally {
    from.close();
    to.close();
  }
  assert.throws(() => native.sendTo(1_000_000, Buffer.alloc(1), 9, 0x7f000001), /Bad file descriptor/);
});

test("pendingSends counts a socket's sends until each is done, from one turn of the event loop after it starts", async () => {
  const [from, to] = [await bound(), await bound()];
  try {
    const sends = pendingSends(from);
    assert.equal(pendingSends(from), sends, "one counter per socket");
    assert.equal(sends.count, 1, "sends made before it are assumed on their way until the loop turns");
    await new Promise((r) => setImmediate(r));
    assert.equal(sends.count, 0);
    let called = 0;
    const got = once(to, "message");
    from.send(Buffer.from("a"), to.address().port, "127.0.0.1", () => called++);
    from.send(Buffer.from("b"), to.address().port, "127.0.0.1");
    assert.equal(sends.count, 2, "both wait for their address lookup");
    await got;
    await new Promise((r) => setImmediate(r));
    assert.equal(sends.count, 0);
    assert.equal(called, 1, "the caller's own callback still runs");
  } finally {
    to.close();
  }
  const sends = pendingSends(from);
  from.close();
  assert.throws(() => from.send(Buffer.from("c"), 9, "127.0.0.1"), /Not running/);
  assert.equal(sends.count, 0, "a send that throws is not counted");
});

describe("a native route: header, protection, history slot and sendto in one call", () => {
  const ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
  const MID = "urn:ietf:params:rtp-hdrext:sdes:mid";
  const SLOT = 1500;
  const SLOTS = 4;

  for (const [name, profile] of [
    ["AEAD_AES_128_GCM", PROFILE_AEAD_AES_128_GCM],
    ["AES128_CM_HMAC_SHA1_80", PROFILE_AES128_CM_HMAC_SHA1_80],
  ] as const) {
    test(`${name}: the datagram sent and the one kept are the TypeScript path's bytes; what cannot be sent is still written`, async () => {
      const native = nativeFastPath as NativeFastPath;
      assert.ok(native, "the native fast path is built");
      const gcm = profile === PROFILE_AEAD_AES_128_GCM;
      const keys: SrtpSessionKeys = { profile, key: randomBytes(16), salt: randomBytes(gcm ? 12 : 14), authKey: gcm ? undefined : randomBytes(20) };
      const typescript = new SrtpProtector(keys, null);
      const handle = new SrtpProtector(keys, native).nativeHandle as object;
      const ssrc = 0xfeedc0de;
      const { header, absOffset } = headerTemplate(
        96,
        ssrc,
        [
          { id: 1, uri: MID },
          { id: 3, uri: ABS },
        ],
        "0",
      );
      const slab = Buffer.alloc(SLOT * SLOTS);
      const route = native.newRoute(handle, slab, SLOT, header, absOffset, ssrc);
      /** What the TypeScript path writes for the same packet. */
      const expected = (payload: Buffer, seq: number, ts: number, abs: number, roc: number, marker: boolean, padding = false) => {
        const out = Buffer.alloc(header.length + payload.length + typescript.trailer);
        header.copy(out);
        if (padding) out[0] |= 0x20;
        out[1] = (marker ? 0x80 : 0) | 96;
        out.writeUInt16BE(seq, 2);
        out.writeUInt32BE(ts, 4);
        out.writeUIntBE(abs, absOffset, 3);
        return typescript.protect(out, header.length, payload, ssrc, seq, roc);
      };
      const slot = (seq: number, size: number) => slab.subarray((seq % SLOTS) * SLOT, (seq % SLOTS) * SLOT + size);
      const [from, to] = [await bound(), await bound()];
      try {
        const payload = randomBytes(1100);
        const abs = absSendTime(performance.now());
        assert.equal(
          native.sendRtp(route, payload, 7, 90_000, abs, 0, RTP_MARKER | RTP_SEND),
          -expected(payload, 7, 90_000, abs, 0, true).length,
          "no descriptor yet: written, not sent",
        );
        native.routeTo(route, udpDescriptor(from) as number, to.address().port, 0x7f000001);
        const got = once(to, "message");
        const want = expected(payload, 65535, 0xffffffff, abs, 3, false);
        assert.equal(native.sendRtp(route, payload, 65535, 0xffffffff, abs, 3, RTP_SEND), want.length);
        const [msg, rinfo] = (await got) as [Buffer, { port: number }];
        assert.deepEqual(msg, want, "sent");
        assert.equal(rinfo.port, from.address().port);
        assert.deepEqual(slot(65535, want.length), want, "kept in its slot");
        const quiet = expected(payload, 2, 1234, abs, 4, true);
        assert.equal(native.sendRtp(route, payload, 2, 1234, abs, 4, RTP_MARKER), -quiet.length, "not asked to send");
        assert.deepEqual(slot(2, quiet.length), quiet);
        const pad = Buffer.alloc(255);
        pad[254] = 255;
        const padded = expected(pad, 4, 1234, abs, 4, false, true);
        assert.equal(native.sendRtp(route, pad, 4, 1234, abs, 4, RTP_PADDING), -padded.length);
        assert.deepEqual(slot(4, padded.length), padded, "the padding bit set, under protection");
        assert.equal(native.sendRtp(route, randomBytes(SLOT), 3, 0, abs, 0, RTP_SEND), 0, "too large for a slot: nothing written");
      } finally {
        from.close();
        to.close();
      }
      const size = expected(Buffer.alloc(10), 1, 1, 0, 0, false).length;
      assert.equal(native.sendRtp(route, Buffer.alloc(10), 1, 1, 0, 0, RTP_SEND), -size, "a closed descriptor: written, not sent, no crash");
      assert.equal(native.sendRtp(route, Buffer.alloc(10), 1, 1, 0, 0, RTP_SEND), -size, "and the route forgot it");
    });
  }

  test("bad arguments are errors, not crashes", () => {
    const native = nativeFastPath as NativeFastPath;
    const handle = new SrtpProtector({ profile: PROFILE_AEAD_AES_128_GCM, key: Buffer.alloc(16), salt: Buffer.alloc(12) }, native).nativeHandle as object;
    const header = headerTemplate(96, 1, [], undefined).header;
    assert.throws(() => native.newRoute({}, Buffer.alloc(SLOT), SLOT, header, -1, 1), /not a protector/);
    assert.throws(() => native.newRoute(handle, Buffer.alloc(SLOT + 1), SLOT, header, -1, 1), /whole slots/);
    assert.throws(() => native.newRoute(handle, Buffer.alloc(SLOT), SLOT, Buffer.alloc(65), -1, 1), /12 to 64 bytes/);
    assert.throws(() => native.newRoute(handle, Buffer.alloc(SLOT), SLOT, header, 10, 1), /outside the header/);
    const route = native.newRoute(handle, Buffer.alloc(SLOT), SLOT, header, -1, 1);
    assert.throws(() => native.sendRtp(handle, Buffer.alloc(10), 1, 1, 0, 0, 0), /not a route/);
    assert.throws(() => native.protect(route, Buffer.alloc(SLOT), 12, Buffer.alloc(10), 1, 1, 0), /not a protector/, "a route is no protector");
    assert.throws(() => native.sendRtp(Buffer.alloc(64), Buffer.alloc(10), 1, 1, 0, 0, 0), /not a route/);
    assert.throws(() => native.sendRtp(route, "payload" as unknown as Buffer, 1, 1, 0, 0, 0), /payload must be a Buffer/);
    assert.throws(() => native.routeTo(route, 3, 0, 0x7f000001), /bad port/);
  });
});
