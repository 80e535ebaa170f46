import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MediaStreamTrack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  type RTCRtpSender,
} from "werift";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { feedbackTargets, routeFeedbackByMedia } from "./feedback-routing.js";
import { peerConfig, publishCodecs, subscribeCodec } from "./peer-config.js";
import { rembPacket } from "./remb.js";

const VP8 = { kind: "video" as const, mimeType: "video/vp8", clockRate: 90000 };
const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };

/**
 * A server peer sending video and taking the viewer's talk-back audio, and a
 * viewer peer the other way round, connected on loopback: the shape of a
 * Chromium viewer's connection.
 */
async function viewerConnection(t: { after(fn: () => unknown): void }, fixed: boolean) {
  const audio = publishCodecs().audio;
  const server = new RTCPeerConnection(peerConfig(rtc, { video: [subscribeCodec(VP8)], audio }));
  const viewer = new RTCPeerConnection(peerConfig(rtc, { video: [subscribeCodec(VP8)], audio }));
  t.after(() => Promise.all([server.close(), viewer.close()]));
  if (fixed) assert.ok(routeFeedbackByMedia(server), "applied to a werift peer connection");
  const video = server.addTransceiver("video", { direction: "sendonly" }).sender;
  server.addTransceiver("audio", { direction: "recvonly" });
  viewer.addTransceiver("video", { direction: "recvonly" });
  const talk = viewer.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" }).sender;
  await server.setLocalDescription(await server.createOffer());
  await viewer.setRemoteDescription(server.localDescription!);
  await viewer.setLocalDescription(await viewer.createAnswer());
  await server.setRemoteDescription(viewer.localDescription!);
  await waitFor(() => server.connectionState === "connected" && viewer.connectionState === "connected", 10_000, "the connection");
  return { video, talk };
}

/** Sends `feedback` as Chromium does: under the SSRC of the viewer's own talk-back audio. */
const sendAsChromium = (talk: RTCRtpSender, feedback: PictureLossIndication) => talk.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]);

test("a PLI sent under the viewer's talk-back SSRC, as Chromium sends it, reaches the video sender it is about", async (t) => {
  const { video, talk } = await viewerConnection(t, true);
  let plis = 0;
  video.onPictureLossIndication.subscribe(() => plis++);
  await sendAsChromium(talk, new PictureLossIndication({ senderSsrc: talk.ssrc, mediaSsrc: video.ssrc }));
  await waitFor(() => plis === 1, 5000, "the PLI at the video sender");
  // And one under an SSRC werift does not know, as before.
  await sendAsChromium(talk, new PictureLossIndication({ senderSsrc: 0x5eed, mediaSsrc: video.ssrc }));
  await waitFor(() => plis === 2, 5000, "the second PLI");
});

test("without the fix, werift hands such a PLI to the talk-back receiver and the video sender never hears of it", async (t) => {
  const { video, talk } = await viewerConnection(t, false);
  let plis = 0;
  video.onPictureLossIndication.subscribe(() => plis++);
  // A second PLI under an SSRC werift does not know reaches the sender: once it has, the first had its chance to.
  await sendAsChromium(talk, new PictureLossIndication({ senderSsrc: talk.ssrc, mediaSsrc: video.ssrc }));
  await sendAsChromium(talk, new PictureLossIndication({ senderSsrc: 0x5eed, mediaSsrc: video.ssrc }));
  await waitFor(() => plis >= 1, 5000, "the PLI under an unknown SSRC");
  assert.equal(plis, 1, "only the PLI under an unknown SSRC arrived");
});

test("feedbackTargets: a PLI about a sender goes to it, a REMB to every sender it names; a FIR (no media source in its header), feedback about a receiver or an unknown SSRC, and other RTCP are left to werift", async (t) => {
  const { video, talk } = await viewerConnection(t, false);
  const table: Record<number, unknown> = { [video.ssrc]: video, [talk.ssrc]: { receiver: true } };
  const psfb = (feedback: unknown) => new RtcpPayloadSpecificFeedback({ feedback: feedback as PictureLossIndication });
  assert.deepEqual(feedbackTargets(psfb(new PictureLossIndication({ senderSsrc: talk.ssrc, mediaSsrc: video.ssrc })), table), [video]);
  assert.deepEqual(feedbackTargets({ type: 206, feedback: { count: 4, mediaSsrc: 0 } }, table), []);
  assert.deepEqual(feedbackTargets(psfb(new PictureLossIndication({ senderSsrc: video.ssrc, mediaSsrc: talk.ssrc })), table), []);
  assert.deepEqual(feedbackTargets(psfb(new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 42 })), table), []);
  const remb = (ssrcFeedbacks: number[]) =>
    psfb(new ReceiverEstimatedMaxBitrate({ senderSsrc: talk.ssrc, mediaSsrc: 0, ssrcNum: ssrcFeedbacks.length, ssrcFeedbacks, bitrate: 500_000n }));
  assert.deepEqual(feedbackTargets(remb([video.ssrc]), table), [video]);
  assert.deepEqual(feedbackTargets(remb([0x5eed, video.ssrc, video.ssrc]), table), [video], "past an SSRC it does not know, and once");
  assert.deepEqual(feedbackTargets(remb([0x5eed, talk.ssrc]), table), [], "naming no sender");
  assert.deepEqual(feedbackTargets({ type: 201, reports: [] }, table), []);
});

for (const fixed of [true, false]) {
  test(`a REMB naming another SSRC before the video's (as Chromium's may, its RTX stream's first) ${fixed ? "reaches the video sender" : "never reaches the video sender without the fix"}`, async (t) => {
    const { video, talk } = await viewerConnection(t, fixed);
    const rembs: bigint[] = [];
    video.onRtcp.subscribe((rtcp) => {
      if (rtcp.type === 206 && rtcp.feedback.count === ReceiverEstimatedMaxBitrate.count) rembs.push(video.receiverEstimatedMaxBitrate);
    });
    const remb = (ssrcs: number[], bitrate: number) => talk.dtlsTransport.sendRtcp([rembPacket(talk.ssrc, ssrcs, bitrate)]);
    await remb([0x5eed, video.ssrc], 200_000);
    // One naming the video first reaches it either way: once it has, the first had its chance to.
    await remb([video.ssrc], 300_000);
    await waitFor(() => rembs.includes(300_000n), 5000, "the second REMB at the video sender");
    assert.deepEqual(rembs, fixed ? [200_000n, 300_000n] : [300_000n]);
  });
}
