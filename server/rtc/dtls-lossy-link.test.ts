import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { RTCPeerConnection } from "werift";
import { viewerPeerConfig } from "../../e2e/lib/werift-peers.js";
import { HandshakeReassembly, packDatagrams, type HandshakeFragment } from "./dtls-lossy-link.js";
import { keepEarlyDtls } from "./early-dtls.js";

/** A fragment of a handshake message: `body` is the whole message's body. */
const fragment = (body: Buffer, offset: number, size: number, seq = 0, type = 1): HandshakeFragment => ({
  msg_type: type,
  length: body.length,
  message_seq: seq,
  fragment_offset: offset,
  fragment_length: size,
  fragment: body.subarray(offset, offset + size),
});

/** The message the fragments make, as werift's assemble lays them out. */
const assembled = (fragments: HandshakeFragment[]): Buffer => {
  const out = Buffer.alloc(fragments[0].length);
  for (const f of fragments) f.fragment.copy(out, f.fragment_offset);
  return out;
};

const BODY = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 7 + 1) & 0xff));

test("a message's fragments are handed on only once they cover it, in whatever order and however often they come", () => {
  const r = new HandshakeReassembly();
  const first = fragment(BODY, 0, 120);
  const second = fragment(BODY, 120, 80);
  // The end from a first send and the end from a resend: werift 0.25 took these two for the whole message.
  assert.deepEqual(r.take(second), []);
  assert.deepEqual(r.take(fragment(BODY, 120, 80)), []);
  const whole = r.take(first);
  assert.equal(whole.length, 2, "the duplicate end is dropped");
  assert.deepEqual(assembled(whole), BODY);
  // Overlapping fragments of a resend (another fragment size) make it again: handed on again.
  assert.deepEqual(r.take(fragment(BODY, 0, 150)), []);
  assert.deepEqual(assembled(r.take(fragment(BODY, 100, 100))), BODY);
  // A gap keeps it back.
  assert.deepEqual(r.take(fragment(BODY, 0, 50)), []);
  assert.deepEqual(r.take(fragment(BODY, 60, 140)), []);
  assert.deepEqual(assembled(r.take(fragment(BODY, 40, 30))), BODY);
});

test("whole messages pass at once; fragments of different messages are kept apart; bad ones are refused; what is kept is bounded", () => {
  const r = new HandshakeReassembly();
  const whole = fragment(BODY, 0, BODY.length);
  assert.deepEqual(r.take(whole), [whole]);
  assert.deepEqual(r.take(whole), [whole], "a resent whole message is handed on again");
  // Same type, another message_seq (a new handshake's ClientHello): not mixed with the first's.
  const other = Buffer.alloc(200, 9);
  assert.deepEqual(r.take(fragment(BODY, 0, 100, 0)), []);
  assert.deepEqual(r.take(fragment(other, 100, 100, 1)), []);
  assert.deepEqual(assembled(r.take(fragment(other, 0, 100, 1))), other);
  assert.deepEqual(assembled(r.take(fragment(BODY, 100, 100, 0))), BODY);
  // Past the message's end, a fragment whose bytes are not its stated size, a message too long to hold: refused.
  assert.deepEqual(r.take({ ...fragment(BODY, 150, 50), fragment_offset: 160 }), []);
  assert.deepEqual(r.take({ ...fragment(BODY, 0, 50), fragment_length: 60 }), []);
  assert.deepEqual(r.take({ ...fragment(BODY, 0, 50), length: 1 << 20 }), []);
  // Nine messages missing their ends: the first is forgotten, so its end alone no longer completes it.
  for (let seq = 10; seq < 19; seq++) r.take(fragment(BODY, 0, 100, seq));
  assert.deepEqual(r.take(fragment(BODY, 100, 100, 10)), []);
  assert.deepEqual(assembled(r.take(fragment(BODY, 100, 100, 18))), BODY);
  r.clear();
  assert.deepEqual(r.take(fragment(BODY, 100, 100, 17)), [], "cleared");
});

/** A plaintext DTLS record (epoch 0) carrying one handshake fragment of `message` (a whole handshake message with its 12-byte header). */
function record(message: Buffer, recordSeq: number, offset: number, size: number): Buffer {
  const header = Buffer.alloc(13 + 12);
  header[0] = 22;
  header.writeUInt16BE(0xfefd, 1);
  header.writeUIntBE(recordSeq, 5, 6);
  header.writeUInt16BE(12 + size, 11);
  message.copy(header, 13, 0, 6); // type, length, message_seq
  header.writeUIntBE(offset, 19, 3);
  header.writeUIntBE(size, 22, 3);
  return Buffer.concat([header, message.subarray(12 + offset, 12 + offset + size)]);
}

/** A record that holds a whole ClientHello (content type 22, epoch 0, handshake type 1, not fragmented). */
const isWholeClientHello = (d: Buffer) => d.length > 25 && d[0] === 22 && d.readUInt16BE(3) === 0 && d[13] === 1 && d.readUIntBE(14, 3) === d.readUIntBE(22, 3);

interface ClientConnection {
  send(d: Buffer): Promise<void>;
  onData: { subscribe(fn: (d: Buffer) => void): void };
}

/**
 * Two real werift peers, the offerer the DTLS server (as Tessera is to a
 * viewer), set up by keepEarlyDtls when `patched`. Every datagram the
 * answerer (the DTLS client) sends goes through `through` with the real
 * send. `echo` sends a data channel message and resolves to the answer, or
 * to "server failed" when the server's connection fails first.
 */
async function peers(patched: boolean, through: (d: Buffer, send: (d: Buffer) => Promise<void>) => Promise<void>) {
  const server = new RTCPeerConnection(viewerPeerConfig("127.0.0.1"));
  const client = new RTCPeerConnection(viewerPeerConfig("127.0.0.1"));
  const channel = server.createDataChannel("check");
  await server.setLocalDescription(await server.createOffer());
  if (patched) keepEarlyDtls(server);
  await client.setRemoteDescription(server.localDescription!);
  await client.setLocalDescription(await client.createAnswer());
  const [connection] = (client as unknown as { dtlsTransports: { iceTransport: { connection: ClientConnection } }[] }).dtlsTransports.map(
    (t) => t.iceTransport.connection,
  );
  const send = connection.send.bind(connection);
  connection.send = (d: Buffer) => through(d, send);
  client.onDataChannel.subscribe((ch) => ch.onMessage.subscribe((m) => ch.send(`echo ${String(m)}`)));
  const open = new Promise<void>((resolve) => channel.stateChanged.subscribe((s) => s === "open" && resolve()));
  const failed = new Promise<string>((resolve) => server.connectionStateChange.subscribe((s) => s === "failed" && resolve(`server ${s}`)));
  await server.setRemoteDescription(client.localDescription!);
  const echo = async (text: string, within = 15_000): Promise<string> => {
    const answer = new Promise<string>((resolve) => channel.onMessage.subscribe((m) => String(m) === `echo ${text}` && resolve(String(m))));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`neither "echo ${text}" nor a failure within ${within} ms`)), within).unref(),
    );
    return Promise.race([open.then(() => channel.send(text)).then(() => answer), failed, timeout]);
  };
  const close = () => Promise.all([server.close(), client.close()]);
  const [serverDtls] = (server as unknown as { dtlsTransports: { dtls?: { connected?: boolean } }[] }).dtlsTransports;
  return { connection, send, echo, close, serverDtls };
}

/**
 * Every ClientHello the answerer sends reaches the server in two fragments
 * the way a lossy, reordering link delivered Chromium's: the second half,
 * the second half again (a resend's), then the first half. Resolves to
 * "echo hi" when the handshake completes, or "server failed".
 */
async function splitHello(patched: boolean): Promise<string> {
  let split = 0;
  const p = await peers(patched, async (d, send) => {
    if (!isWholeClientHello(d)) return send(d);
    split++;
    const message = d.subarray(13);
    const half = Math.floor((message.length - 12) / 2);
    const seq = 1000 + 3 * split;
    await send(record(message, seq, half, message.length - 12 - half));
    await send(record(message, seq + 1, half, message.length - 12 - half));
    await send(record(message, seq + 2, 0, half));
  });
  try {
    const outcome = await p.echo("hi");
    assert.ok(split > 0, "the client's ClientHello was not seen");
    return outcome;
  } finally {
    await p.close();
  }
}

test("a ClientHello that arrives as its second half twice, then its first half, still makes a handshake", { timeout: 40_000 }, async () => {
  assert.equal(await splitHello(true), "echo hi");
  // werift 0.25 alone put the two second halves together as the message, and its DTLS failed.
  assert.equal(await splitHello(false), "server failed");
});

/**
 * The handshake completes; then a copy of the client's last ClientHello
 * arrives, as a resend overtaken on the way would. Resolves to the echo of a
 * message sent after it, or to "server started over" once the server's DTLS
 * is no longer connected (werift's renegotiation).
 */
async function lateHello(patched: boolean): Promise<string> {
  let hello: Buffer | undefined;
  const p = await peers(patched, (d, send) => {
    if (isWholeClientHello(d)) hello = Buffer.from(d);
    return send(d);
  });
  try {
    assert.equal(await p.echo("before"), "echo before");
    assert.ok(hello, "the client's ClientHello was not seen");
    const dtls = p.serverDtls.dtls;
    assert.equal(dtls?.connected, true);
    await p.send(hello);
    let done = false;
    const startedOver = (async () => {
      while (!done && dtls?.connected !== false) await delay(10);
      return "server started over";
    })();
    try {
      return await Promise.race([p.echo("after"), startedOver]);
    } finally {
      done = true;
    }
  } finally {
    await p.close();
  }
}

test("a late copy of the ClientHello after the handshake leaves the session as it is", { timeout: 40_000 }, async () => {
  assert.equal(await lateHello(true), "echo after");
  // werift 0.25 alone took it for a new handshake and dropped the session's keys.
  assert.equal(await lateHello(false), "server started over");
});

test("records are packed in order into as few datagrams as fit", () => {
  const r = (n: number, fill: number) => Buffer.alloc(n, fill);
  const records = [r(100, 1), r(300, 2), r(700, 3), r(200, 4), r(1500, 5), r(10, 6)];
  const packed = packDatagrams(records);
  assert.deepEqual(
    packed.map((d) => d.length),
    [1100, 200, 1500, 10],
  );
  assert.deepEqual(Buffer.concat(packed), Buffer.concat(records), "the same bytes in the same order");
  assert.deepEqual(packDatagrams([]), []);
});

/** The handshake types of the plaintext records in one datagram (epoch 0), or undefined when it holds anything else. */
function handshakeTypes(d: Buffer): number[] | undefined {
  const types: number[] = [];
  for (let at = 0; at + 13 <= d.length; at += 13 + d.readUInt16BE(at + 11)) {
    if (d[at] !== 22 || d.readUInt16BE(at + 3) !== 0) return undefined;
    types.push(d[at + 13]);
  }
  return types;
}

test("the server's flight of five handshake messages reaches the client in one datagram, and the handshake completes", { timeout: 40_000 }, async () => {
  const seen = async (patched: boolean) => {
    const p = await peers(patched, (d, send) => send(d));
    const flights: number[][] = [];
    p.connection.onData.subscribe((d) => {
      const types = handshakeTypes(d);
      if (types) flights.push(types);
    });
    try {
      assert.equal(await p.echo("hi"), "echo hi");
      return flights;
    } finally {
      await p.close();
    }
  };
  // ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone.
  assert.deepEqual(await seen(true), [[2, 11, 12, 13, 14]]);
  // werift alone: a datagram each (after its HelloVerifyRequest).
  const alone = await seen(false);
  assert.ok(alone.filter((t) => t.length === 1).length >= 5, JSON.stringify(alone));
});
