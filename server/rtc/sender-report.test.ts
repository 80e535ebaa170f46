import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { compactNtp, RTCPeerConnection, RtcpPacketConverter, RtcpSenderInfo, RtcpSrPacket } from "werift";
import { FastSender } from "./fast-sender.js";
import { peerConfig, publishCodecs } from "./peer-config.js";
import { ntpTime } from "./rtp-header.js";
import type { SenderInternals } from "./sender-internals.js";
import { cnameBytes, noteSenderReport, roundTrips, senderReportBytes, writeSenderReport, type ReportBlock } from "./sender-report.js";

/** The viewer sends each receiver report this long after making it (werift's debug option), ms. */
const LATE_MS = 300;
const RTCP_SR = 200;
const RTCP_RR = 201;

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a sender report is werift's bytes, its CNAME an SDES item ended by a zero octet, for every length of CNAME", () => {
  const ntp = ntpTime(performance.now());
  const counts = { ssrc: 0xfedcba98, rtp: 0xfffffff0, packets: 2 ** 32 + 5, octets: 1_234_567 };
  const want = new RtcpSrPacket({
    ssrc: counts.ssrc,
    senderInfo: new RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: counts.rtp, packetCount: 5, octetCount: counts.octets }),
  }).serialize();
  for (const cname of ["", "a", "ab", "abc", "abcd", "{5e4fa71c-0b0d-4c73-8f4a-2d2b9f0c6a11}", "é".repeat(127), "x".repeat(256)]) {
    const text = cnameBytes(cname);
    assert.equal(text === undefined, cname === "" || cname.length > 255, `"${cname.slice(0, 8)}": an item holds 1 to 255 bytes`);
    const out = Buffer.alloc(senderReportBytes(text) + 8, 0xee);
    const size = writeSenderReport(out, counts.ssrc, ntp, counts.rtp, counts.packets, counts.octets, text);
    assert.equal(size, senderReportBytes(text));
    assert.deepEqual(out.subarray(0, 28), want, "the report: the packet count wrapped to 32 bits");
    assert.ok(
      out.subarray(size).every((b) => b === 0xee),
      "nothing written past it",
    );
    const packets = RtcpPacketConverter.deSerialize(out.subarray(0, size)) as unknown as {
      type: number;
      chunks?: { source: number; items: { text: string }[] }[];
    }[];
    assert.deepEqual(
      packets.map((p) => p.type),
      text ? [200, 202] : [200],
    );
    if (!text) continue;
    assert.deepEqual(
      packets[1].chunks?.map((c) => [c.source, c.items.map((i) => i.text)]),
      [[counts.ssrc, [cname]]],
    );
    assert.equal(size % 4, 0);
    assert.equal(out[28 + 10 + text.length], 0, "the item list ends in a zero octet");
  }
});

test("a report's noted time is the middle 32 bits of its NTP time, what a receiver report's LSR echoes", () => {
  const s = {} as SenderInternals;
  const ntp = ntpTime(performance.now());
  noteSenderReport(s, ntp);
  assert.equal(s.lastSRtimestamp, compactNtp(ntp));
  assert.ok(Math.abs((s.lastSentSRTimestamp as number) - Date.now() / 1000) < 1);
});

/** A server sending video to a werift viewer over loopback, and the fast path on the server's sender, bound. */
async function connected(t: TestContext, viewerDebug: { receiverReportDelay?: number } = {}) {
  const config = peerConfig({ iceHosts: ["127.0.0.1"], iceServers: [] }, publishCodecs());
  const server = new RTCPeerConnection(config);
  const viewer = new RTCPeerConnection({ ...config, debug: viewerDebug });
  t.after(() => Promise.all([server.close(), viewer.close()]));
  const sender = server.addTransceiver("video", { direction: "sendonly" }).sender;
  const receiving = viewer.addTransceiver("video", { direction: "recvonly" });
  await server.setLocalDescription(await server.createOffer());
  await viewer.setRemoteDescription(server.localDescription!);
  await viewer.setLocalDescription(await viewer.createAnswer());
  await server.setRemoteDescription(viewer.localDescription!);
  const fast = new FastSender(sender);
  await until("the fast path ready", () => fast.ready, 10_000);
  return { sender, receiving, fast };
}

const vp8 = (seq: number) => ({ payload: Buffer.from([0x90, 0x80, seq & 0x7f, 0, 0, 0, 0]), marker: true });

test("a tick runs after the packet that brought it, with the counts and timestamp of the last packet sent by then", async (t) => {
  const { sender, fast } = await connected(t);
  const internals = sender as unknown as SenderInternals;
  const before = internals.packetCount;
  // The first packet brings a tick; two more go in the same turn.
  for (let seq = 1; seq <= 3; seq++) assert.ok(fast.send(vp8(seq), seq, seq * 3000) > 0);
  assert.equal(internals.packetCount, before, "werift's sender is not touched while the packet goes out");
  await new Promise((r) => setImmediate(r));
  assert.equal(internals.packetCount, before + 3, "the tick counted every packet sent before it ran");
  assert.equal(internals.rtpTimestamp, 9000, "its timestamp is the last packet's");
});

test("the fast path's sender reports reach the viewer every second or so, and its extra ones give round trips also when answered after a newer one", async (t) => {
  // The viewer's reports leave LATE_MS after they are made: by then the server has sent newer sender reports.
  const { sender, receiving, fast } = await connected(t, { receiverReportDelay: LATE_MS });

  const internals = sender as unknown as SenderInternals;
  assert.equal(fast.senderReport(), false, "nothing sent yet: nothing to report");
  const reports: { at: number; packets: number }[] = [];
  receiving.receiver.dtlsTransport.onRtcp.subscribe((rtcp) => {
    if (rtcp.type !== RTCP_SR) return;
    const sr = rtcp as unknown as { ssrc: number; senderInfo: { packetCount: number } };
    if (sr.ssrc === sender.ssrc) reports.push({ at: performance.now(), packets: sr.senderInfo.packetCount });
  });
  const ours = new Set<number>();
  const samples: { ms: number; ours: boolean }[] = [];
  const answer = roundTrips(sender);
  sender.onRtcp.subscribe((rtcp) => {
    if (rtcp.type !== RTCP_RR) return;
    const block = (rtcp as unknown as { reports: ReportBlock[] }).reports.find((r) => r.ssrc === sender.ssrc);
    const ms = block && answer(block);
    if (block && ms !== undefined) samples.push({ ms, ours: ours.has(block.lsr) });
  });

  // Media at 50 packets/s for 2.5 s, then also an extra report every 100 ms.
  let seq = 1;
  let extra = false;
  const timer = setInterval(() => {
    for (let i = 0; i < 5; i++, seq++) assert.ok(fast.send(vp8(seq), seq & 0xffff, seq * 900) > 0);
    if (extra && fast.senderReport()) ours.add(internals.lastSRtimestamp as number);
  }, 100);
  t.after(() => clearInterval(timer));
  await until("two reports", () => reports.length >= 2, 5_000);
  assert.equal(internals.rtcpRunning, false, "werift's own loop never ran");
  assert.ok(reports[1].at - reports[0].at >= 400, `reports ${Math.round(reports[1].at - reports[0].at)} ms apart`);
  for (const r of reports) assert.ok(r.packets > 0 && r.packets <= seq - 1, `a report counts ${r.packets} of ${seq - 1} packets sent`);

  extra = true;
  await until("three round trips", () => samples.filter((s) => s.ours).length >= 3, 15_000);
  for (const s of samples) {
    // Loopback's round trip is the viewer's delay and little else.
    assert.ok(s.ms >= LATE_MS - 5 && s.ms < LATE_MS + 250, `a round trip of ${s.ms} ms`);
  }
});
