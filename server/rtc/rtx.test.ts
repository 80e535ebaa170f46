import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection, type RTCRtpCodecParameters, type RtpPacket } from "werift";
import { FastSender } from "./fast-sender.js";
import { RESEND_WINDOW_MS } from "./resend-budget.js";
import { peerConfig, retransmissionCodec, subscribeCodec } from "./peer-config.js";
import type { SenderInternals } from "./sender-internals.js";

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const VP8 = { kind: "video" as const, mimeType: "video/vp8", clockRate: 90000 };
/** A VP8 packet whose payload names its sequence number. */
const payloadOf = (seq: number) => Buffer.from([0x90, 0x80, 0x80 | ((seq >> 8) & 0x7f), seq & 0xff, 0, 0, seq & 0xff, (seq >> 8) & 0xff, 1, 2, 3]);

for (const viewerTakesRtx of [true, false]) {
  test(`NACKed packets go again ${viewerTakesRtx ? "as RTX packets on an SSRC of their own, when the viewer takes RTX" : "on the video's own SSRC, when the viewer takes no RTX"}: the viewer gets each one whole under its own number`, async (t) => {
    const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };
    const codecs = (rtx: boolean): RTCRtpCodecParameters[] => [subscribeCodec(VP8), ...(rtx ? [retransmissionCodec()] : [])];
    const server = new RTCPeerConnection(peerConfig(rtc, { video: codecs(true), audio: [] }));
    const viewer = new RTCPeerConnection(peerConfig(rtc, { video: codecs(viewerTakesRtx), audio: [] }));
    t.after(() => Promise.all([server.close(), viewer.close()]));
    const sender = server.addTransceiver("video", { direction: "sendonly" }).sender;
    const got: RtpPacket[] = [];
    viewer.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) => track.onReceiveRtp.subscribe((p) => got.push(p)));
    await server.setLocalDescription(await server.createOffer());
    await viewer.setRemoteDescription(server.localDescription!);
    await viewer.setLocalDescription(await viewer.createAnswer());
    await server.setRemoteDescription(viewer.localDescription!);
    const internals = sender as unknown as SenderInternals;
    assert.equal(internals.rtxPayloadType !== undefined, viewerTakesRtx, "RTX negotiated only when the viewer takes it");

    const fast = new FastSender(sender);
    await until("the fast path ready", () => fast.ready, 10_000);
    const first = 65_530; // the RTX and video numbers both wrap within the test
    internals.rtxSequenceNumber = 65_535;
    for (let seq = first; seq < first + 12; seq++) assert.ok(fast.send({ payload: payloadOf(seq & 0xffff), marker: true }, seq & 0xffff, seq * 3000) > 0);
    await until("the packets", () => got.length >= 12, 5000);

    const again = [65_533, 2];
    assert.equal(fast.resend(again), 2, "both still kept: both go");
    await until("the resends", () => got.length >= 14, 5000);
    const resent = got.slice(12);
    assert.deepEqual(
      resent.map((p) => p.header.sequenceNumber),
      again,
      "each under the number it was first sent with",
    );
    for (const p of resent) {
      assert.deepEqual(p.payload, payloadOf(p.header.sequenceNumber), "the payload it was first sent with");
      assert.equal(
        p.header.timestamp,
        (p.header.sequenceNumber < 100 ? p.header.sequenceNumber + 65_536 : p.header.sequenceNumber) * 3000,
        "and its timestamp",
      );
    }
    if (viewerTakesRtx) assert.equal(internals.rtxSequenceNumber, 1, "two RTX numbers taken, wrapping");
    assert.equal(internals.retransmittedPacketsSent, 2);

    // Resends with copies, asked for later than the last (MIN_RESEND_GAP_MS): on RTX each goes twice, the same datagram.
    assert.equal(fast.copiesResends, viewerTakesRtx);
    const twice = [65_531, 1];
    assert.equal(fast.resend(twice, performance.now() + 1000, { copy: true }), 2, "the copies are not counted");
    // A packet sent after the copies' time (their timer fires first) arrives behind whatever they sent.
    const next = (first + 12) & 0xffff;
    setTimeout(() => fast.send({ payload: payloadOf(next), marker: true }, next, (first + 12) * 3000), 3 * 10).unref();
    await until("the packet sent after the copies", () => got.some((p) => p.header.sequenceNumber === next), 5000);
    const copies = got.slice(
      14,
      got.findIndex((p) => p.header.sequenceNumber === next),
    );
    assert.deepEqual(
      copies.map((p) => p.header.sequenceNumber),
      viewerTakesRtx ? [65_531, 1, 65_531, 1] : [65_531, 1],
      viewerTakesRtx ? "each twice, the copies after the first of both" : "once each: no copies on the video's own SSRC",
    );
    for (const p of copies) assert.deepEqual(p.payload, payloadOf(p.header.sequenceNumber));
    assert.equal(internals.retransmittedPacketsSent, 4, "werift's count has the first sends only");
    if (viewerTakesRtx) assert.equal(internals.rtxSequenceNumber, 3, "a copy takes no RTX number of its own");

    // A rate for the resends: a window of it (resend-budget.ts) lets two of these packets go, the second overdrawing it.
    const size = got[0].serialize().length + (viewerTakesRtx ? 2 : 0) + 16;
    const rateBps = (size * 1.5 * 8) / (RESEND_WINDOW_MS / 1000);
    const later = performance.now() + 2000;
    assert.equal(fast.resend([65_530, 65_531, 65_532, 0, 1], later, { rateBps }), 2, "two of five within the budget");
    assert.equal(fast.resend([65_533, 65_534], later, { rateBps }), 0, "none while it is spent");
    assert.equal(fast.heldBack, 5, "the three and the two held back are counted");
    assert.equal(
      fast.resend([65_533, 65_534, 65_535], later + 2 * RESEND_WINDOW_MS, { rateBps }),
      2,
      "two windows later, two again (no more than one window's worth)",
    );
    assert.equal(fast.resend([0, 1, 2, 3], later + 4 * RESEND_WINDOW_MS), 4, "without a rate, all");
  });
}
