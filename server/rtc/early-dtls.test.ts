import assert from "node:assert/strict";
import { test } from "node:test";
import type { RTCPeerConnection } from "werift";
import { rtcCensus } from "./census.js";
import { keepEarlyDtls } from "./early-dtls.js";

/** A werift-like event: subscribe, unSubscribe, execute. */
class FakeEvent<A> {
  private fns: Array<(a: A) => void> = [];
  subscribe(fn: (a: A) => void) {
    this.fns = [...this.fns, fn];
    return { unSubscribe: () => (this.fns = this.fns.filter((f) => f !== fn)) };
  }
  execute(a: A): void {
    for (const fn of this.fns) fn(a);
  }
  get count(): number {
    return this.fns.length;
  }
}

/** The parts of a werift peer connection and DTLS transport keepEarlyDtls reads, and a DTLS server made on "connecting" as werift makes it. */
function fakePeer() {
  const delivered: Buffer[] = [];
  const transport = {
    state: "new",
    iceTransport: { connection: { onData: new FakeEvent<Buffer>() } },
    onStateChange: new FakeEvent<string>(),
    dtls: undefined as { transport: { socket: { onData: (b: Buffer) => void } } } | undefined,
    /** As werift's start(): the state first, then, in the same turn, the DTLS server. */
    start() {
      this.state = "connecting";
      this.onStateChange.execute("connecting");
      this.dtls = { transport: { socket: { onData: (b: Buffer) => delivered.push(b) } } };
    },
  };
  const pc = { dtlsTransports: [transport], connectionStateChange: new FakeEvent<string>() };
  return { pc, transport, delivered };
}

const record = (type: number, n: number) => Buffer.from([type, 0xfe, 0xfd, n]);

test("DTLS records that arrive before the DTLS server exists reach it, in order, once it does; media and STUN are not kept", async () => {
  const { pc, transport, delivered } = fakePeer();
  const listenersBefore = rtcCensus().listeners;
  keepEarlyDtls(pc as unknown as RTCPeerConnection);
  assert.equal(rtcCensus().listeners, listenersBefore + 2);
  const onData = transport.iceTransport.connection.onData;
  onData.execute(record(22, 1)); // ClientHello, first fragment
  onData.execute(Buffer.from([0x80, 96, 0, 1])); // RTP
  onData.execute(Buffer.from([0x00, 0x01, 0, 0])); // STUN
  onData.execute(record(22, 2)); // its second fragment
  transport.start();
  assert.deepEqual(delivered, [], "not before the server exists");
  await Promise.resolve();
  assert.deepEqual(delivered, [record(22, 1), record(22, 2)]);
  assert.equal(onData.count, 0, "let go of the connection's data");
  assert.equal(transport.onStateChange.count, 0);
  assert.equal(rtcCensus().listeners, listenersBefore);
  onData.execute(record(22, 3));
  await Promise.resolve();
  assert.equal(delivered.length, 2, "records after the start are the server's own business");
});

test("a transport that closes before DTLS starts drops what it kept", async () => {
  const { pc, transport, delivered } = fakePeer();
  keepEarlyDtls(pc as unknown as RTCPeerConnection);
  transport.iceTransport.connection.onData.execute(record(22, 1));
  transport.state = "closed";
  transport.onStateChange.execute("closed");
  await Promise.resolve();
  assert.deepEqual(delivered, []);
  assert.equal(transport.iceTransport.connection.onData.count, 0);
});
