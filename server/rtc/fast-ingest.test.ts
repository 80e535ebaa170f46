import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from "werift";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { createLogger } from "../log.js";
import { nullObserver, type RelayObserver } from "../relay/observer.js";
import type { UpTrack } from "../relay/up-track.js";
import { ingestCounts } from "./fast-ingest.js";
import { peerConfig, publishCodecs } from "./peer-config.js";
import { Publisher } from "./publisher.js";
import { rtpHeaderBytes } from "./srtp-receive.js";

const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };

/** A werift device sending VP8 to a Publisher on loopback; what the relay's UpTrack took in, packet by packet. */
async function publishing(t: { after(fn: () => unknown): void }, { twcc = false } = {}) {
  /** The payload size of each packet the UpTrack took in. */
  const received: number[] = [];
  const observer: RelayObserver = { ...nullObserver, packetIn: (_kind, bytes) => void received.push(bytes) };
  const tracks: UpTrack[] = [];
  const publisher = new Publisher(
    rtc,
    { onTrack: (up) => tracks.push(up), onClosed: () => undefined, onInputChannel: () => undefined, onDeviceMessage: () => undefined },
    observer,
    createLogger("error"),
  );
  const codecs = publishCodecs();
  // Chromium offers transport-wide feedback on its codecs (with no header extension the server takes).
  if (twcc) for (const c of codecs.video) c.rtcpFeedback = [...c.rtcpFeedback, { type: "transport-cc" }];
  const device = new RTCPeerConnection(peerConfig(rtc, codecs));
  t.after(async () => {
    publisher.close("test over");
    await device.close();
  });
  const video = new MediaStreamTrack({ kind: "video" });
  device.addTransceiver(video, { direction: "sendonly" });
  await device.setLocalDescription(await device.createOffer());
  const answer = await publisher.answer(device.localDescription!.sdp);
  await device.setRemoteDescription({ type: "answer", sdp: answer });
  await waitFor(() => device.connectionState === "connected", 10_000, "the device connected");
  const vp8 = publishCodecs().video.find((c) => c.mimeType.toLowerCase() === "video/vp8")!;
  let seq = 1000;
  /** Sends `count` packets of 100 to 149 bytes. */
  const send = (count: number) => {
    for (let i = 0; i < count; i++) {
      const payload = Buffer.alloc(100 + (seq % 50), 0x10 + (i % 2));
      video.writeRtp(new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp: seq * 3000, payloadType: vp8.payloadType, marker: true }), payload));
      seq = (seq + 1) & 0xffff;
    }
  };
  return { publisher, device, received, tracks, send };
}

/** The publisher's one werift receiver. */
const receiverOf = (publisher: Publisher) => (publisher as unknown as { pc: RTCPeerConnection }).pc.getTransceivers()[0].receiver;

/** werift's inbound-rtp statistics of the publisher's one receiver. */
async function inbound(publisher: Publisher): Promise<{ packetsReceived: number; bytesReceived: number }> {
  const report = await receiverOf(publisher).getStats();
  const stat = [...(report.values() as Iterable<{ type: string; packetsReceived?: number; bytesReceived?: number }>)].find((s) => s.type === "inbound-rtp");
  assert.ok(stat, "an inbound-rtp statistic");
  return { packetsReceived: stat.packetsReceived ?? 0, bytesReceived: stat.bytesReceived ?? 0 };
}

test("once werift has routed a device SSRC's first packet, the rest go past its chain: every one reaches the UpTrack, and werift's statistics count them", async (t) => {
  const { publisher, received, send } = await publishing(t);
  send(1);
  await waitFor(() => received.length === 1, 5000, "the first packet through werift");
  const before = ingestCounts.direct;
  send(300);
  await waitFor(() => received.length === 301, 5000, "300 more packets at the UpTrack");
  assert.equal(ingestCounts.direct - before, 300, "all 300 past werift's chain");
  const stats = await inbound(publisher);
  assert.equal(stats.packetsReceived, 301, "werift's receiver counted every packet");
  const payloadBytes = received.reduce((n, bytes) => n + bytes, 0);
  assert.equal(stats.bytesReceived, payloadBytes, "and their payload bytes, as the UpTrack got them");
});

test("with transport-wide feedback offered, as Chromium devices do, werift's feedback is given every packet as its chain gives it", async (t) => {
  const { publisher, received, send } = await publishing(t, { twcc: true });
  send(1);
  await waitFor(() => received.length === 1, 5000, "the first packet through werift");
  const twcc = (receiverOf(publisher) as unknown as { receiverTWCC?: { handleTWCC(n: number | undefined): void } }).receiverTWCC;
  assert.ok(twcc, "werift set its transport-wide feedback up");
  const given: (number | undefined)[] = [];
  const handle = twcc.handleTWCC.bind(twcc);
  twcc.handleTWCC = (n) => {
    given.push(n);
    handle(n);
  };
  const before = ingestCounts.direct;
  send(100);
  await waitFor(() => received.length === 101, 5000, "100 more packets at the UpTrack");
  assert.equal(ingestCounts.direct - before, 100, "all 100 past werift's chain");
  assert.deepEqual(given, new Array<undefined>(100).fill(undefined), "each given to the feedback, with no sequence number (no extension negotiated)");
});

test("a second listener on the device's track takes the packets back to werift's chain: both get them", async (t) => {
  const { publisher, received, send } = await publishing(t);
  send(1);
  await waitFor(() => received.length === 1, 5000, "the first packet through werift");
  const track = receiverOf(publisher).tracks[0];
  let heard = 0;
  const { unSubscribe } = track.onReceiveRtp.subscribe(() => heard++);
  const before = ingestCounts.direct;
  send(50);
  await waitFor(() => received.length === 51 && heard === 50, 5000, "50 packets at the UpTrack and at the other listener");
  assert.equal(ingestCounts.direct, before, "none past werift's chain");
  unSubscribe();
  send(50);
  await waitFor(() => received.length === 101, 5000, "50 more at the UpTrack");
  assert.equal(ingestCounts.direct - before, 49, "past werift's chain again once the relay listens alone, all but the first (the SSRC learnt again)");
});

test("the payload of an opened packet starts after its CSRCs and header extension (rtpHeaderBytes, no trailer); -1 when the header runs past the packet", () => {
  const header = (b0: number, extWords = 0) => {
    const b = Buffer.alloc(40);
    b[0] = b0;
    b.writeUInt16BE(0xbede, 12 + (b0 & 0x0f) * 4);
    b.writeUInt16BE(extWords, 14 + (b0 & 0x0f) * 4);
    return b;
  };
  assert.equal(rtpHeaderBytes(header(0x80), 0), 12);
  assert.equal(rtpHeaderBytes(header(0x82), 0), 20, "two CSRCs");
  assert.equal(rtpHeaderBytes(header(0x90, 2), 0), 24, "an extension of two words");
  assert.equal(rtpHeaderBytes(header(0x91, 1), 0), 24, "a CSRC and a one-word extension");
  assert.equal(rtpHeaderBytes(header(0x90, 7), 0), -1, "an extension longer than the packet");
  assert.equal(rtpHeaderBytes(Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe]), 0), -1, "no room for the extension's header");
  assert.equal(rtpHeaderBytes(Buffer.alloc(8, 0x80), 0), -1, "shorter than a header");
});
