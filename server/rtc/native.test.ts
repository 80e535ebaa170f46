import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { test } from "node:test";
import { ipv4Number, nativeFastPath, pendingSends, udpDescriptor, type NativeFastPath } from "./native.js";

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
