import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection } from "werift";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { MAX_CHANNEL_UNSENT_BYTES, sendText, type ChannelSend } from "./channel-send.js";
import { peerConfig } from "./peer-config.js";

test("a channel whose peer reads never sticks; one whose peer stops acknowledging fills to MAX_CHANNEL_UNSENT_BYTES and then takes no more", async () => {
  const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };
  const sender = new RTCPeerConnection(peerConfig(rtc, { video: [], audio: [] }));
  const receiver = new RTCPeerConnection(peerConfig(rtc, { video: [], audio: [] }));
  try {
    const channel = sender.createDataChannel("input");
    let received = 0;
    receiver.onDataChannel.subscribe((c) => c.onMessage.subscribe(() => received++));
    await sender.setLocalDescription(await sender.createOffer());
    await receiver.setRemoteDescription(sender.localDescription!);
    await receiver.setLocalDescription(await receiver.createAnswer());
    await sender.setRemoteDescription(receiver.localDescription!);
    await waitFor(() => channel.readyState === "open", 20_000, "the data channel open");
    const text = "x".repeat(64 * 1024);
    // A peer that reads: twice the limit goes through, each message once the one before arrived.
    const through = Math.ceil((2 * MAX_CHANNEL_UNSENT_BYTES) / text.length);
    for (let i = 1; i <= through; i++) {
      assert.equal(sendText(channel, text), "sent", `message ${i} of ${through}`);
      await waitFor(() => received === i, 10_000, `message ${i} received`);
    }

    // The receiver's SCTP now ignores everything: nothing is acknowledged any more.
    const sctp = (receiver as unknown as { sctpTransport: { sctp: { handleData(data: Buffer): Promise<void> } } }).sctpTransport.sctp;
    sctp.handleData = async () => {};
    let result: ChannelSend = "sent";
    let sent = 0;
    for (let i = 0; i < 200 && result === "sent"; i++) {
      result = sendText(channel, text);
      if (result === "sent") sent++;
      // werift's association gets its turn between messages, as it would between a device's messages.
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(result, "stuck");
    // It sticks once past the limit, not before (the reader had taken everything before it stopped), and not long after.
    assert.ok(sent * text.length >= MAX_CHANNEL_UNSENT_BYTES - text.length, `not before the limit (${sent} messages of ${text.length} bytes)`);
    assert.ok(sent * text.length <= MAX_CHANNEL_UNSENT_BYTES + 2 * text.length, `and not long after it (${sent} messages)`);
    assert.equal(sendText(channel, "one more"), "stuck", "it stays stuck");
  } finally {
    await Promise.all([sender.close(), receiver.close()]);
  }
});
