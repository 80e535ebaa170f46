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
