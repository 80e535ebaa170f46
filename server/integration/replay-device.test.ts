/**
 * The benches' looping publisher (WeriftDevice's replaySeconds,
 * e2e/lib/rtp-replay.ts) through a real server to real werift viewers: a
 * recording sent again loop after loop reads as one stream, decoded without
 * a break, and a keyframe request restarts it at its keyframe.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { seqDiff } from "../relay/rtp.js";
import { startServer, type Running } from "./fixture.js";

let server: Running;
let device: WeriftDevice;
const viewers: WeriftViewer[] = [];

before(async () => {
  server = await startServer();
  // Two seconds of settling, one recorded, then loops of that second.
  device = await WeriftDevice.publish(server.wsUrl, { id: "looped", name: "Looped", replaySeconds: 1 });
});

after(async () => {
  for (const v of viewers) await v.close();
  await device?.close();
  await server?.stop();
});

test("a looped recording reaches a viewer as one stream: gap-free, decoded across the loops", { timeout: 30_000 }, async () => {
  const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
  viewers.push(viewer);
  viewer.watch("looped");
  const stream = await waitFor(() => viewer.streams.get("looped"), 5000, "offer");
  await waitFor(() => stream.decodedFrames >= 5, 10_000, "first decoded frames");
  const loops = device.replayLoops;
  const decoded = stream.decodedFrames;
  await waitFor(() => device.replayLoops >= loops + 2, 10_000, "two more loops");
  // A second of 30 frames a loop: most of two loops' frames decode (the decoder drops none for a jump in time or numbering).
  await waitFor(() => stream.decodedFrames - decoded >= 40, 5000, `40 frames decoded over two loops (${stream.decodedFrames - decoded})`);
  assert.equal(stream.firstVideoWasKeyframe, true);
  const seqs = stream.videoSeqs;
  const steps = seqs.slice(1).map((s, i) => seqDiff(s, seqs[i]));
  assert.ok(
    steps.every((d) => d === 1),
    `consecutive sequence numbers across ${device.replayLoops} loops: steps ${[...new Set(steps)].join(",")}`,
  );
});

test("a keyframe request restarts the loop, and a viewer joining then starts at that keyframe", { timeout: 30_000 }, async () => {
  const plis = device.plis;
  const loops = device.replayLoops;
  const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
  viewers.push(viewer);
  viewer.watch("looped");
  const stream = await waitFor(() => viewer.streams.get("looped"), 5000, "offer");
  await waitFor(() => stream.decodedFrames >= 1, 10_000, "a decoded frame");
  assert.equal(stream.firstVideoWasKeyframe, true);
  assert.ok(device.plis > plis, "the relay asked the device for a keyframe");
  assert.ok(device.replayLoops > loops, "the loop began again");
});
