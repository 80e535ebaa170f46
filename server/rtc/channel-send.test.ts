import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RTCPeerConnection, type RTCDataChannel } from "werift";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { ChannelSender, MAX_CHANNEL_UNSENT_BYTES, type ChannelSend } from "./channel-send.js";
import { peerConfig } from "./peer-config.js";

const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };
let sender: RTCPeerConnection;
let receiver: RTCPeerConnection;
let channel: RTCDataChannel;
let received = 0;
/** The receiver's SCTP association, whose packet handler a test may take away (nothing is acknowledged then). */
let receiving: { handleData(data: Buffer): Promise<void> };

before(async () => {
  sender = new RTCPeerConnection(peerConfig(rtc, { video: [], audio: [] }));
  receiver = new RTCPeerConnection(peerConfig(rtc, { video: [], audio: [] }));
  channel = sender.createDataChannel("input");
  receiver.onDataChannel.subscribe((c) => c.onMessage.subscribe(() => received++));
  await sender.setLocalDescription(await sender.createOffer());
  await receiver.setRemoteDescription(sender.localDescription!);
  await receiver.setLocalDescription(await receiver.createAnswer());
  await sender.setRemoteDescription(receiver.localDescription!);
  await waitFor(() => channel.readyState === "open", 20_000, "the data channel open");
  receiving = (receiver as unknown as { sctpTransport: { sctp: typeof receiving } }).sctpTransport.sctp;
});

after(async () => {
  await Promise.all([sender.close(), receiver.close()]);
});

test("a peer that reads a steady stream: what it has not acknowledged stays small, however long the stream", async (t) => {
  const out = new ChannelSender(channel);
  const text = "x".repeat(64 * 1024);
  const total = Math.ceil((2 * MAX_CHANNEL_UNSENT_BYTES) / text.length);
  // Eight messages in flight at a time, each next one sent as one arrives: werift's outbound queue need never empty.
  const start = received;
  let sent = 0;
  let most = 0;
  let mostBuffered = 0;
  while (sent < total) {
    while (sent < total && sent - (received - start) < 8) {
      assert.equal(out.send(text), "sent", `message ${sent + 1} of ${total}`);
      sent++;
      most = Math.max(most, out.unacked);
      mostBuffered = Math.max(mostBuffered, channel.bufferedAmount);
    }
    const want = received - start + 1;
    await waitFor(() => received - start >= want, 10_000, `message ${want} received`);
  }
  await waitFor(() => received - start === total && out.unacked === 0, 10_000, "everything acknowledged");
  t.diagnostic(`most unacknowledged ${most} bytes; werift's bufferedAmount reached ${mostBuffered}`);
  // The messages in flight, and a few the peer took in whose acknowledgement was still on its way.
  assert.ok(most <= 16 * text.length, `about the messages in flight unacknowledged, at most (${most} bytes)`);
});

test("a peer that stops acknowledging fills to MAX_CHANNEL_UNSENT_BYTES, then takes no more; once it reads again, whenBelow says so", async () => {
  const out = new ChannelSender(channel);
  const text = "x".repeat(64 * 1024);
  // An own property over werift's method: deleting it brings the method back.
  receiving.handleData = async () => {};
  try {
    let result: ChannelSend = "sent";
    let sent = 0;
    for (let i = 0; i < 200 && result === "sent"; i++) {
      result = out.send(text);
      if (result === "sent") sent++;
      // werift's association gets its turn between messages, as it would between a device's messages.
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(result, "stuck");
    // It sticks once past the limit, not before, and not long after.
    assert.ok(sent * text.length >= MAX_CHANNEL_UNSENT_BYTES - text.length, `not before the limit (${sent} messages of ${text.length} bytes)`);
    assert.ok(sent * text.length <= MAX_CHANNEL_UNSENT_BYTES + 2 * text.length, `and not long after it (${sent} messages)`);
    assert.equal(out.send("one more"), "stuck", "it stays stuck");

    let drained = 0;
    let cancelled = 0;
    out.whenBelow(0, () => cancelled++);
    out.whenBelow(0, () => drained++);
    Reflect.deleteProperty(receiving, "handleData");
    // werift sends again what was never acknowledged (its retransmission timer), and the peer takes it all.
    await waitFor(() => drained === 1, 30_000, "whenBelow called once everything was acknowledged");
    assert.equal(out.unacked, 0);
    assert.equal(cancelled, 0, "a later whenBelow replaces the one before");
    assert.equal(out.send("after"), "sent");
  } finally {
    Reflect.deleteProperty(receiving, "handleData");
    out.close();
  }
});

/** A data channel as ChannelSender reads it, over an association whose TSNs and acks the test moves by hand. */
function fakeChannel(localTsn: number) {
  const association = { localTsn, lastSackedTsn: (localTsn - 1) >>> 0 };
  const channel = {
    readyState: "open",
    bufferedAmount: 0,
    sctp: { sctp: association },
    /** TSNs each message takes (0: werift queued it, the association not being up). */
    chunks: 1,
    send(text: string) {
      this.bufferedAmount += Buffer.byteLength(text);
      association.localTsn = (association.localTsn + this.chunks) >>> 0;
    },
  };
  return { channel, association, sender: new ChannelSender(channel as unknown as RTCDataChannel) };
}

test("the count follows SCTP's cumulative ack across the TSN wrap, and starts again on a new association", () => {
  const { channel, association, sender } = fakeChannel(0xfffffffe);
  assert.equal(sender.send("a".repeat(100)), "sent"); // TSN 0xfffffffe
  channel.chunks = 3;
  assert.equal(sender.send("b".repeat(200)), "sent"); // 0xffffffff, 0, 1
  channel.chunks = 1;
  assert.equal(sender.send("c".repeat(300)), "sent"); // 2
  assert.equal(sender.unacked, 600);
  association.lastSackedTsn = 0xfffffffe;
  assert.equal(sender.unacked, 500);
  association.lastSackedTsn = 0;
  assert.equal(sender.unacked, 500, "a message counts until its last chunk is acknowledged");
  association.lastSackedTsn = 1;
  assert.equal(sender.unacked, 300);
  association.lastSackedTsn = 2;
  assert.equal(sender.unacked, 0);
  // werift made a new association (a new DTLS transport): what was noted on the old one is forgotten.
  sender.send("d".repeat(50));
  channel.sctp.sctp = { localTsn: 1000, lastSackedTsn: 999 };
  assert.equal(sender.unacked, 0);
});

test("a message werift queues without a TSN (its association not up) counts by bufferedAmount until that is back to 0", () => {
  const { channel, association, sender } = fakeChannel(10);
  channel.chunks = 0;
  sender.send("x".repeat(1000));
  assert.equal(sender.unacked, 1000);
  channel.chunks = 1;
  sender.send("y".repeat(10));
  association.lastSackedTsn = 10;
  assert.equal(sender.unacked, 1010, "the larger of the two while one went untracked");
  channel.bufferedAmount = 0;
  assert.equal(sender.unacked, 0);
});

test("whenBelow gives up after its deadline, however often the wait was renewed", async () => {
  const { channel, sender } = fakeChannel(10);
  sender.send("x".repeat(1000));
  let drained = 0;
  let missed = 0;
  const deadline = { ms: 200, onMissed: () => missed++ };
  const start = performance.now();
  sender.whenBelow(0, () => drained++, deadline);
  sender.whenBelow(0, () => drained++, deadline);
  await waitFor(() => missed === 1, 5000, "the deadline missed");
  assert.ok(performance.now() - start >= 200);
  assert.equal(drained, 0);
  // A wait that drains in time calls fn, not onMissed.
  sender.whenBelow(0, () => drained++, deadline);
  channel.sctp.sctp.lastSackedTsn = channel.sctp.sctp.localTsn - 1;
  await waitFor(() => drained === 1, 5000, "drained");
  assert.equal(missed, 1);
});
