import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { seqDiff } from "../relay/rtp.js";
import { BROWSER_DELAY, ZERO_DELAY } from "../rtc/playout-delay.js";
import { DEVICE_RECEIVE_BUFFER } from "../rtc/receive-buffer.js";
import { startServer, type Running } from "./fixture.js";

const run = promisify(execFile);

describe("relay with real werift peers", () => {
  let server: Running;
  let device: WeriftDevice;
  const viewers: WeriftViewer[] = [];

  before(async () => {
    server = await startServer();
    device = await WeriftDevice.publish(server.wsUrl, { id: "cam", name: "Camera", dataChannel: true });
    await waitFor(() => server.app.registry.get("local", "cam")?.online, 10_000, "device online");
  });

  after(async () => {
    for (const v of viewers) await v.close();
    await device?.close();
    await server?.stop();
  });

  test("a viewer receives the device's video starting at a keyframe and decodes it", async (t) => {
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    viewers.push(viewer);
    viewer.watch("cam");
    const stream = await waitFor(() => viewer.streams.get("cam"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 10, 10_000, "10 decoded frames");
    assert.equal(stream.firstVideoWasKeyframe, true);
    // A lead-in goes only when the keyframe was held before the viewer's keys came; if one came, it is numbered just below the keyframe.
    const first = stream.videoSeqs[0];
    assert.ok(
      stream.leadIns.every((s) => seqDiff(first, s) === 1),
      `lead-ins ${stream.leadIns.join(", ")} before the keyframe at ${first}`,
    );
    t.diagnostic(`${stream.leadIns.length} lead-ins before the keyframe`);
    assert.equal(stream.videoCodec, "video/vp8");
    assert.ok(stream.audioPackets > 0, "audio is forwarded too");
  });

  test("a viewer joining late gets a keyframe first, within a second, because the relay asked for one", async () => {
    const plisBefore = device.plis;
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    viewers.push(viewer);
    const t0 = performance.now();
    viewer.watch("cam");
    const stream = await waitFor(() => viewer.streams.get("cam"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 1, 5000, "first decoded frame");
    assert.equal(stream.firstVideoWasKeyframe, true);
    assert.ok(device.plis > plisBefore, "the relay sent the device a PLI");
    const firstPacketMs = stream.firstVideoAt! - t0;
    assert.ok(firstPacketMs < 1000, `first video packet after ${firstPacketMs.toFixed(0)} ms`);
  });

  test("each viewer gets its own SSRC and a gap-free sequence", async () => {
    const [a, b] = viewers.map((v) => v.streams.get("cam")!);
    const ssrcA = [...a.videoSsrcs];
    const ssrcB = [...b.videoSsrcs];
    assert.equal(ssrcA.length, 1);
    assert.equal(ssrcB.length, 1);
    assert.notEqual(ssrcA[0], ssrcB[0]);
    const seqs = b.videoSeqs;
    let jumps = 0;
    for (let i = 1; i < seqs.length; i++) if (Math.abs(seqDiff(seqs[i], seqs[i - 1])) > 5) jumps++;
    assert.equal(jumps, 0, "no jumps in the viewer's sequence numbers");
  });

  test("once DTLS is up, packets take the fast path: werift's own send carries only a viewer's first few", async () => {
    const sum = (text: string, name: string, filter = "") =>
      [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`, "gm"))].filter((m) => m[1].includes(filter)).reduce((n, m) => n + Number(m[2]), 0);
    let text = "";
    await waitForAsync(
      async () => sum((text = await server.app.metrics.text()), "tessera_rtp_packets_total", 'direction="out"') > 200,
      10_000,
      "200 packets out",
    );
    const out = sum(text, "tessera_rtp_packets_total", 'direction="out"');
    const viaWerift = sum(text, "tessera_rtp_werift_path_packets_total");
    assert.ok(viaWerift <= 0.1 * out, `${viaWerift} of ${out} packets went through werift's sendRtp`);
  });

  test("a viewer's NACK is answered from the relay's cache, once per half round trip, and never reaches the device", async () => {
    const stream = viewers[1].streams.get("cam")!;
    const nacksAtDevice = device.nacks;
    const seqs = stream.videoSeqs;
    const wanted = [seqs[seqs.length - 3], seqs[seqs.length - 2]];
    const count = (seq: number) => stream.videoSeqs.filter((s) => s === seq).length;
    await stream.nack(wanted);
    await stream.nack(wanted); // asked again at once, within a round trip: not answered twice
    await waitFor(() => wanted.every((s) => count(s) === 2), 3000, "retransmissions of the NACKed packets");
    const resentAt = performance.now();
    const mark = stream.videoPackets;
    // A round trip here is under the relay's least gap between two resends of a packet (30 ms): well past it, and 30 packets on.
    await waitFor(() => stream.videoPackets > mark + 30 && performance.now() - resentAt > 150, 5000, "30 more packets and 150 ms");
    assert.deepEqual(wanted.map(count), [2, 2], "one copy per half round trip");
    await stream.nack(wanted); // a round trip later: answered again
    await waitFor(() => wanted.every((s) => count(s) === 3), 3000, "the packets resent once more");
    assert.equal(device.nacks, nacksAtDevice, "the device saw no NACK");
    const text = await server.app.metrics.text();
    assert.match(text, /tessera_nacks_received_total [1-9]/);
  });

  test("on a link losing packets at random (a few at a time, the viewer's estimate holding) a NACKed packet goes twice on RTX; in a burst, or while the estimate falls, once", async (t) => {
    // A viewer of its own that takes RTX, as browsers do.
    const viewer = await WeriftViewer.connect(server.wsUrl, { rtx: true });
    t.after(() => viewer.close());
    viewer.watch("cam");
    const stream = await waitFor(() => viewer.streams.get("cam"), 5000, "offer");
    await waitFor(() => stream.videoSeqs.length >= 30, 10_000, "30 video packets");
    const count = (seq: number) => stream.videoSeqs.filter((s) => s === seq).length;
    const resends = async () => {
      const m = /^tessera_retransmissions_sent_total (\d+)/m.exec(await server.app.metrics.text());
      return Number(m?.[1] ?? 0);
    };
    const before = await resends();

    await stream.remb(3_000_000);
    const twice = stream.videoSeqs.slice(-3, -1);
    await stream.nack(twice);
    await waitFor(() => twice.every((s) => count(s) === 3), 3000, "each packet resent, and its copy");

    /** `n` packets sent after everything so far was resent (videoSeqs has the resends too). */
    const fresh = async (n: number) => {
      const from = stream.videoSeqs.length;
      await waitFor(() => stream.videoSeqs.length >= from + n + 1, 5000, `${n + 1} more packets`);
      return stream.videoSeqs.slice(from, from + n);
    };
    const burst = await fresh(5);
    await stream.nack(burst);
    await waitFor(() => burst.every((s) => count(s) === 2), 3000, "each packet of the burst resent");

    await stream.remb(1_000_000); // below 0.9 of the last 4 s' peak: falling
    const falling = await fresh(2);
    await stream.nack(falling);
    await waitFor(() => falling.every((s) => count(s) === 2), 3000, "each packet resent");
    // A copy would have come 10 ms after its resend: 20 packets later, none has.
    const mark = stream.videoPackets;
    await waitFor(() => stream.videoPackets > mark + 20, 5000, "20 more packets");
    assert.deepEqual(burst.map(count), [2, 2, 2, 2, 2], "no copies for a burst");
    assert.deepEqual(falling.map(count), [2, 2], "no copies while the estimate falls");
    assert.deepEqual(twice.map(count), [3, 3], "one copy each, no more");
    assert.ok((await resends()) - before >= 2 * 2 + 5 + 2, "the copies count as resends");
  });

  test("a NACK for a packet sent before the last 256 is answered too, written again byte for byte: the viewer's SRTP takes it", async () => {
    const stream = viewers[1].streams.get("cam")!;
    await waitFor(() => stream.videoSeqs.length >= 400, 30_000, "400 video packets");
    const seqs = stream.videoSeqs;
    const newest = seqs[seqs.length - 1];
    const old = seqs.find((s) => seqDiff(newest, s) > 300 && seqDiff(newest, s) < 800);
    assert.ok(old !== undefined, "a packet 300 to 800 back");
    const count = () => stream.videoSeqs.filter((s) => s === old).length;
    const before = count();
    await stream.nack([old]);
    await waitFor(() => count() === before + 1, 3000, `the retransmission of ${old} (${seqDiff(newest, old)} back)`);
  });

  test("video carries zero playout delay while the viewer's link is clean; its first NACK hands the buffer back, and a packet written again keeps the delay it first went with", async (t) => {
    // A viewer of its own, gone after this test: the ones after it count two.
    const viewer = await WeriftViewer.connect(server.wsUrl);
    t.after(() => viewer.close());
    viewer.watch("cam");
    const stream = await waitFor(() => viewer.streams.get("cam"), 5000, "offer");
    await waitFor(() => stream.videoSeqs.length >= 400, 30_000, "400 video packets");
    const delays = stream.videoPlayoutDelays;
    // Before DTLS a viewer's first packets may go through werift's own send, which does not write the extension.
    const fast = delays.filter((d) => d !== -1);
    assert.ok(fast.length > 300, `${fast.length} packets carried the extension`);
    assert.ok(
      fast.every((d) => d === ZERO_DELAY),
      "every one zero on a clean link",
    );
    const seqs = stream.videoSeqs;
    const newest = seqs[seqs.length - 1];
    const old = seqs.find((s) => seqDiff(newest, s) > 300 && seqDiff(newest, s) < 800);
    assert.ok(old !== undefined, "a packet 300 to 800 back");
    const mark = seqs.length;
    await stream.nack([old]);
    const copy = await waitFor(() => seqs.slice(mark).indexOf(old) + 1 || undefined, 3000, `the retransmission of ${old}`);
    assert.equal(delays[mark + copy - 1], ZERO_DELAY, "written again with the delay it first had (the same bytes under the same nonce)");
    await waitFor(() => delays.length > mark + copy + 20, 5000, "20 more packets");
    assert.ok(
      delays.slice(mark + copy).every((d) => d === BROWSER_DELAY),
      "after the NACK, the browser's own delay",
    );
  });

  test("the device coming back under the same id resumes every viewer on its existing connection", async () => {
    const viewer = viewers[0];
    const stream = viewer.streams.get("cam")!;
    const mark = viewer.signaling.received.length;
    await device.close();
    await viewer.signaling.next("device_offline", (m) => m.deviceId === "cam", 5000, mark);
    const packetsWhenOffline = stream.videoPackets;
    const lastSeq = stream.videoSeqs[stream.videoSeqs.length - 1];
    const framesWhenOffline = stream.decodedFrames;
    device = await WeriftDevice.publish(server.wsUrl, { id: "cam", name: "Camera" });
    await waitFor(() => stream.decodedFrames > framesWhenOffline + 10, 10_000, "frames after reconnect");
    assert.equal(viewer.streams.get("cam"), stream, "same peer connection, no new offer");
    assert.equal(stream.videoSsrcs.size, 1, "the viewer's SSRC did not change");
    const firstAfter = stream.videoSeqs[stream.videoSeqs.indexOf(lastSeq) + 1];
    assert.equal(seqDiff(firstAfter, lastSeq), 1, "sequence continues at last+1");
    assert.ok(stream.videoPackets > packetsWhenOffline);
  });

  test("a headers-only viewer (the fan-out benches' load) counts every packet by its RTP header and hands none to werift", async () => {
    const viewer = await WeriftViewer.connect(server.wsUrl, { headersOnly: true });
    try {
      viewer.watch("cam");
      const stream = await waitFor(() => viewer.streams.get("cam"), 5000, "offer");
      await waitFor(() => stream.pc.connectionState === "connected", 10_000, "connected");
      const dtls = stream.pc.getTransceivers()[0].receiver.dtlsTransport;
      const [seenByWerift, counted] = [dtls.packetsReceived, stream.videoPackets];
      await waitFor(() => stream.videoPackets > counted + 200, 10_000, "200 more video packets counted");
      // Only RTCP (sender reports, a few a second) still goes through werift's SRTP path.
      assert.ok(dtls.packetsReceived - seenByWerift < 30, `werift saw ${dtls.packetsReceived - seenByWerift} packets meanwhile`);
      assert.equal(stream.videoSsrcs.size, 1);
      assert.ok(stream.audioPackets > 0, "audio counted apart from video, by payload type");
      const seqs = stream.videoSeqs.slice(-200);
      for (let i = 1; i < seqs.length; i++) assert.ok(Math.abs(seqDiff(seqs[i], seqs[i - 1])) <= 5, `sequence jump ${seqs[i - 1]} → ${seqs[i]}`);
    } finally {
      await viewer.close();
      await waitFor(() => server.app.registry.get("local", "cam")!.viewers === 2, 5000, "the other two viewers only");
    }
  });

  test("the server's socket for the device may queue a keyframe burst while it fans out: its receive buffer is enlarged", async () => {
    // The device's nominated pair names the server's end of it; `ss` reads that socket's buffer (rb) from the kernel.
    const connection = device.pc.getTransceivers()[0].sender.dtlsTransport.iceTransport.connection;
    const [host, port] = connection.nominated!.remoteAddr;
    const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
    // Linux caps a request at rmem_max and doubles it for its own bookkeeping.
    const expected = 2 * Math.min(DEVICE_RECEIVE_BUFFER, rmemMax);
    const rb = await waitForAsync(
      async () => {
        const { stdout } = await run("ss", ["-u", "-a", "-n", "-m", "src", `${host}:${port}`]);
        const m = /rb(\d+)/.exec(stdout);
        return m && Number(m[1]) >= expected ? Number(m[1]) : undefined;
      },
      5000,
      `a receive buffer of ${expected} bytes on ${host}:${port}`,
    );
    assert.ok(rb > Number(readFileSync("/proc/sys/net/core/rmem_default", "utf8")), "more than the default");
  });

  test("viewers leaving release their down tracks and the viewer count", async () => {
    const dev = server.app.registry.get("local", "cam")!;
    assert.equal(dev.viewers, 2);
    while (viewers.length) await viewers.pop()!.close();
    await waitFor(() => dev.viewers === 0, 5000, "viewer count 0");
    await waitFor(() => dev.tracks.every((t) => t.downTracks.size === 0), 5000, "down tracks released");
    const text = await server.app.metrics.text();
    assert.match(text, /tessera_viewers\{transport="webrtc"\} 0/);
    assert.match(text, /tessera_rtp_packets_total\{direction="out",kind="video"\} [1-9]/);
  });
});

describe("built-in test device", () => {
  test("plays to a werift viewer", async () => {
    const server = await startServer({ source: [{ kind: "test" }] });
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    try {
      viewer.watch("test");
      const stream = await waitFor(() => viewer.streams.get("test"), 5000, "offer");
      await waitFor(() => stream.decodedFrames >= 5, 10_000, "decoded frames");
      assert.equal(stream.firstVideoWasKeyframe, true);
    } finally {
      await viewer.close();
      await server.stop();
    }
  });
});
