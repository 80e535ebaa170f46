import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection, RtpHeader, RtpPacket } from "werift";
import { peerConfig, publishCodecs } from "./peer-config.js";
import type { SenderInternals } from "./sender-internals.js";
import { roundTrips, sendSenderReport, type ReportBlock } from "./sender-report.js";

/** The viewer sends each receiver report this long after making it (werift's debug option), ms. */
const LATE_MS = 300;
const RTCP_RR = 201;

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("sender reports sent between werift's give round trips, also when the viewer's answer comes after a newer one went out", async (t) => {
  const config = peerConfig({ iceHosts: ["127.0.0.1"], iceServers: [] }, publishCodecs());
  const server = new RTCPeerConnection(config);
  // The viewer's reports leave LATE_MS after they are made: by then the server has sent newer sender reports.
  const viewer = new RTCPeerConnection({ ...config, debug: { receiverReportDelay: LATE_MS } });
  t.after(() => Promise.all([server.close(), viewer.close()]));
  const sender = server.addTransceiver("video", { direction: "sendonly" }).sender;
  viewer.addTransceiver("video", { direction: "recvonly" });
  await server.setLocalDescription(await server.createOffer());
  await viewer.setRemoteDescription(server.localDescription!);
  await viewer.setLocalDescription(await viewer.createAnswer());
  await server.setRemoteDescription(viewer.localDescription!);
  await until("the connection", () => server.connectionState === "connected", 10_000);

  const internals = sender as unknown as SenderInternals;
  assert.equal(sendSenderReport(internals), false, "nothing sent yet: nothing to report");
  const ours = new Set<number>();
  const samples: { ms: number; ours: boolean }[] = [];
  const answer = roundTrips(sender);
  sender.onRtcp.subscribe((rtcp) => {
    if (rtcp.type !== RTCP_RR) return;
    const block = (rtcp as unknown as { reports: ReportBlock[] }).reports.find((r) => r.ssrc === sender.ssrc);
    const ms = block && answer(block);
    if (block && ms !== undefined) samples.push({ ms, ours: ours.has(block.lsr) });
  });
  const payloadType = sender.codec?.payloadType ?? 96;
  let seq = 1;
  // Media at 50 packets/s, and a sender report of ours every 100 ms besides werift's.
  const timer = setInterval(() => {
    for (let i = 0; i < 5; i++) {
      const header = new RtpHeader({ payloadType, sequenceNumber: seq++ & 0xffff, timestamp: seq * 900, marker: true });
      sender.sendRtp(new RtpPacket(header, Buffer.from([0x90, 0x80, seq & 0x7f, 0, 0, 0, 0]))).catch(() => undefined);
    }
    if (sendSenderReport(internals)) ours.add(internals.lastSRtimestamp as number);
  }, 100);
  t.after(() => clearInterval(timer));

  await until("three round trips", () => samples.filter((s) => s.ours).length >= 3, 15_000);
  for (const s of samples) {
    // Loopback's round trip is the viewer's delay and little else.
    assert.ok(s.ms >= LATE_MS - 5 && s.ms < LATE_MS + 250, `a round trip of ${s.ms} ms`);
  }
  assert.equal(internals.rtt, undefined, "werift, keeping only its latest report, saw none answered");
});
