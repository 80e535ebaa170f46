import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { FallbackClient, jpegSize } from "../../e2e/lib/fallback-client.js";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { JpegDecoder } from "../../pipelines/picture-decoders.js";
import { pipelinesMade, runningPipelines } from "../../pipelines/pipeline.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { startServer, type Running } from "./fixture.js";

/** Real JPEG frames of a moving picture, made by GStreamer. */
function makeFrames(dir: string, count: number, width: number, height: number): Buffer[] {
  execFileSync("gst-launch-1.0", [
    "-q",
    "videotestsrc",
    `num-buffers=${count}`,
    "pattern=ball",
    "!",
    `video/x-raw,width=${width},height=${height}`,
    "!",
    "jpegenc",
    "!",
    "multifilesink",
    `location=${join(dir, `f${width}-%03d.jpg`)}`,
  ]);
  return readdirSync(dir)
    .filter((f) => f.startsWith(`f${width}-`))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/** The mean Y, U, V of a JPEG, decoded by GStreamer's jpegdec. */
async function meanYuv(jpeg: Buffer): Promise<{ y: number; u: number; v: number }> {
  let done: (p: { y: number; u: number; v: number }) => void = () => {};
  const result = new Promise<{ y: number; u: number; v: number }>((r) => (done = r));
  const decoder = new JpegDecoder((p) => {
    const luma = p.width * p.height;
    const chroma = luma / 4;
    const mean = (from: number, n: number) => {
      let sum = 0;
      for (let i = from; i < from + n; i++) sum += p.data[i];
      return sum / n;
    };
    done({ y: mean(0, luma), u: mean(luma, chroma), v: mean(luma + chroma, chroma) });
  });
  try {
    decoder.push(jpeg);
    return await Promise.race([result, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no picture from jpegdec")), 5000).unref())]);
  } finally {
    decoder.close();
  }
}

describe("JPEG frame devices and pull access", () => {
  let server: Running;
  let frames: Buffer[];
  const dir = mkdtempSync(join(tmpdir(), "tessera-frames-"));
  const closers: Array<() => unknown> = [];

  const post = (id: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${server.httpUrl}/api/devices/${id}/frames`, { method: "POST", body, headers: { "Content-Type": "image/jpeg", ...headers } });

  /** Pushes frames over HTTP at `hz` until `stop()` (bounded by `max` frames). */
  function pushAt(id: string, hz: number, max = 600) {
    let i = 0;
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= max) return clearInterval(timer);
      sent++;
      void post(id, frames[i++ % frames.length]);
    }, 1000 / hz);
    const stop = () => clearInterval(timer);
    closers.push(stop);
    return { stop, sent: () => sent };
  }

  before(async () => {
    frames = makeFrames(dir, 30, 320, 240);
    server = await startServer({ source: [{ kind: "test" }], maxFrameBytes: 256 * 1024 });
  });

  after(async () => {
    for (const c of closers) await c();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a pushed frame puts the device online; frame.jpg returns the latest with ETag and 304", async () => {
    const first = await post("cam1", frames[0], { "X-Frame-Timestamp": "1700000000000" });
    assert.equal(first.status, 201);
    const stored = (await first.json()) as Record<string, unknown>;
    assert.deepEqual(
      { ...stored, receivedAt: typeof stored.receivedAt },
      { seq: 1, width: 320, height: 240, bytes: frames[0].length, receivedAt: "number", deviceTimestamp: 1700000000000 },
    );
    assert.equal((await post("cam1", frames[1])).status, 201);
    const list = (await (await fetch(`${server.httpUrl}/api/devices`)).json()) as { devices: Array<{ id: string; online: boolean; tracks: unknown[] }> };
    const cam = list.devices.find((d) => d.id === "cam1");
    assert.ok(cam?.online, "listed online");
    assert.deepEqual(cam.tracks, [{ kind: "video", codec: "video/vp8" }]);
    const res = await fetch(`${server.httpUrl}/api/devices/cam1/frame.jpg`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(frames[1]), "the latest frame, byte for byte");
    const etag = res.headers.get("etag")!;
    assert.equal((await fetch(`${server.httpUrl}/api/devices/cam1/frame.jpg`, { headers: { "If-None-Match": etag } })).status, 304);
  });

  test("bad bodies are refused and nothing is stored", async () => {
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    const cases: Array<[string, Promise<Response>, number, RegExp]> = [
      ["not a JPEG", post("cam1", png), 415, /not a JPEG/],
      ["truncated", post("cam1", frames[2].subarray(0, frames[2].length - 100)), 400, /truncated JPEG/],
      ["wrong type", post("cam1", frames[2], { "Content-Type": "image/png" }), 415, /image\/jpeg/],
      ["too large", post("cam1", Buffer.concat([frames[2], Buffer.alloc(300 * 1024)])), 413, /at most 262144 bytes/],
      ["bad timestamp", post("cam1", frames[2], { "X-Frame-Timestamp": "yesterday" }), 400, /X-Frame-Timestamp/],
      ["bad id", post("-x", frames[2]), 400, /device ids/],
    ];
    for (const [what, res, status, message] of cases) {
      const r = await res;
      assert.equal(r.status, status, what);
      const body = (await r.json()) as { error: { message: string } };
      assert.match(body.error.message, message, what);
    }
    const latest = Buffer.from(await (await fetch(`${server.httpUrl}/api/devices/cam1/frame.jpg`)).arrayBuffer());
    assert.ok(latest.equals(frames[1]), "still the last good frame");
    const text = await server.app.metrics.text();
    for (const result of ["stored", "not_jpeg", "truncated", "too_large"])
      assert.match(text, new RegExp(`tessera_frames_pushed_total\\{result="${result}"\\} [1-9]`), result);
  });

  test("the socket ingest acks every frame and refuses a bad one without closing; a frame before hello closes it (4400)", async () => {
    const early = new WebSocket(`${server.wsUrl}/ingest/cam2`);
    const earlyGot: Array<Record<string, unknown>> = [];
    early.on("message", (d) => earlyGot.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>));
    await new Promise((r) => early.once("open", r));
    early.send(frames[0]);
    assert.equal(await new Promise((resolve) => early.once("close", resolve)), 4400);
    assert.equal(earlyGot[0]?.code, "bad_request", "told why before the close");

    const ws = new WebSocket(`${server.wsUrl}/ingest/cam2`);
    closers.push(() => ws.close());
    const got: Array<Record<string, unknown>> = [];
    ws.on("message", (d) => got.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "hello" }));
    await waitFor(() => got.find((m) => m.type === "ready"), 5000, "ready");
    for (const f of frames.slice(0, 5)) ws.send(f);
    ws.send(Buffer.from("not a jpeg at all"));
    ws.send(frames[5]);
    await waitFor(() => got.filter((m) => m.type === "ack").length >= 6, 5000, "six acks");
    assert.deepEqual(
      got.filter((m) => m.type === "ack").map((m) => m.seq),
      [1, 2, 3, 4, 5, 6],
    );
    assert.ok(
      got.some((m) => m.type === "error" && m.code === "unsupported"),
      "the bad frame was refused",
    );
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  test("at 15 Hz a WebRTC viewer decodes the frames and a fallback viewer gets stripes of them", async () => {
    const pusher = pushAt("cam15", 15);
    await waitForAsync(async () => (await fetch(`${server.httpUrl}/api/devices/cam15/frame.jpg`)).ok, 5000, "the first frame");
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    closers.push(() => viewer.close());
    viewer.watch("cam15");
    const stream = await waitFor(() => viewer.streams.get("cam15"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 10, 15_000, "10 decoded frames");
    const fb = new FallbackClient(`${server.wsUrl}/stream/cam15?codec=jpeg`);
    closers.push(() => fb.close());
    const msg = await waitFor(() => fb.of("stream")[0], 10_000, "stream message");
    assert.equal(msg.width, 320);
    assert.equal(msg.height, 240);
    await waitFor(() => fb.frames().length >= 5, 10_000, "5 fallback frames");
    const first = fb.frames()[0];
    assert.deepEqual(
      first.map((s) => s.y),
      [0, 64, 128, 192],
    );
    pusher.stop();
  });

  test("fallback viewers decode the pushed JPEGs themselves: no VP8 encoder until a WebRTC viewer comes; a slow device shows at once; sizes may change", async () => {
    const encoders = () => runningPipelines().get("frame_encode") ?? 0;
    const red = testJpeg(320, 240, "0xffff0000");
    const blue = testJpeg(160, 128, "0xff0000ff");
    assert.equal((await post("slowcam", red)).status, 201);
    const encodersBefore = encoders();
    const fb = new FallbackClient(`${server.wsUrl}/stream/slowcam?codec=jpeg`);
    closers.push(() => fb.close());
    // One push so far and none after: the picture comes from the stored frame.
    await waitFor(() => fb.frames().length >= 1, 10_000, "a first fallback frame without another push");
    assert.deepEqual({ width: fb.of("stream")[0].width, height: fb.of("stream")[0].height }, { width: 320, height: 240 });
    const stripe = fb.frames()[0][0];
    assert.equal(stripe.kind, "jpeg");
    const redYuv = await meanYuv(stripe.kind === "jpeg" ? stripe.jpeg : Buffer.alloc(0));
    // Red in BT.601: Y ≈ 81, U ≈ 90, V ≈ 240 (JPEG at quality 40 moves them a little).
    assert.ok(Math.abs(redYuv.y - 81) < 12 && Math.abs(redYuv.u - 90) < 12 && Math.abs(redYuv.v - 240) < 12, `red stripe, got ${JSON.stringify(redYuv)}`);
    assert.ok(encoders() <= encodersBefore, "no VP8 encoder started for a fallback viewer");

    assert.equal((await post("slowcam", blue)).status, 201);
    const resized = await waitFor(() => fb.of("stream").find((m) => m.width === 160), 10_000, "a stream message for the new size");
    assert.equal(resized.height, 128);
    const blueStripe = await waitFor(
      () =>
        fb
          .frames()
          .at(-1)
          ?.find((st) => st.y === 0 && st.kind === "jpeg" && fb.frames().length >= 2),
      10_000,
      "a stripe of the blue frame",
    );
    const blueYuv = await meanYuv(blueStripe.kind === "jpeg" ? blueStripe.jpeg : Buffer.alloc(0));
    // Blue: Y ≈ 41, U ≈ 240, V ≈ 110.
    assert.ok(Math.abs(blueYuv.y - 41) < 12 && Math.abs(blueYuv.u - 240) < 12 && Math.abs(blueYuv.v - 110) < 12, `blue stripe, got ${JSON.stringify(blueYuv)}`);
    assert.ok(encoders() <= encodersBefore, "still none");

    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    closers.push(() => viewer.close());
    viewer.watch("slowcam");
    await waitFor(() => encoders() > encodersBefore, 10_000, "a VP8 encoder for the WebRTC viewer");
    const stream = await waitFor(() => viewer.streams.get("slowcam"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 1, 10_000, "the WebRTC viewer's first picture");

    // Each new size restarts the encoder; the stopped one is taken up again rather than a pipeline made anew
    // (never freed), and the viewer decodes on: six changes make two pipelines at most.
    const made = pipelinesMade();
    for (let i = 0; i < 6; i++) {
      const shown = stream.decodedFrames;
      assert.equal((await post("slowcam", i % 2 === 0 ? red : blue)).status, 201);
      await waitFor(() => stream.decodedFrames > shown, 10_000, `the picture after size change ${i + 1}`);
    }
    assert.ok(pipelinesMade() - made <= 2, `${pipelinesMade() - made} pipelines made for six size changes`);
  });

  test("a frame that passes the header checks but breaks the decoder (cut at its scan): the fallback decoder is made again, counted, and the next frame shows", async () => {
    const red = testJpeg(320, 240, "0xffff0000");
    const green = testJpeg(320, 240, "0xff00ff00");
    const restarts = async () => Number(/tessera_pipeline_restarts_total\{kind="decode"\} (\d+)/.exec(await server.app.metrics.text())?.[1] ?? 0);
    assert.equal((await post("brokencam", red)).status, 201);
    const fb = new FallbackClient(`${server.wsUrl}/stream/brokencam?codec=jpeg`);
    closers.push(() => fb.close());
    await waitFor(() => fb.frames().length >= 1, 10_000, "a first fallback frame");
    const before = await restarts();
    // Cut right after its start-of-scan marker, end marker kept: jpegdec stops with "Internal data stream error".
    const broken = Buffer.concat([red.subarray(0, red.indexOf(Buffer.of(0xff, 0xda)) + 2), Buffer.of(0xff, 0xd9)]);
    assert.equal((await post("brokencam", broken)).status, 201, "it passes the header checks");
    await waitForAsync(async () => (await restarts()) > before, 10_000, "the decoder made again");
    const shown = fb.frames().length;
    assert.equal((await post("brokencam", green)).status, 201);
    const stripe = await waitFor(() => fb.frames().length > shown && fb.frames().at(-1)?.[0], 10_000, "the next frame on the fallback stream");
    const yuv = await meanYuv(stripe.kind === "jpeg" ? stripe.jpeg : Buffer.alloc(0));
    // Green in BT.601: Y ≈ 145, U ≈ 54, V ≈ 34.
    assert.ok(Math.abs(yuv.y - 145) < 15 && Math.abs(yuv.u - 54) < 15 && Math.abs(yuv.v - 34) < 15, `green stripe, got ${JSON.stringify(yuv)}`);
  });

  test("at 2 Hz a viewer joining late still gets a picture at once (the latest frame re-encoded as a keyframe)", async () => {
    const pusher = pushAt("cam2hz", 2);
    await waitForAsync(async () => (await fetch(`${server.httpUrl}/api/devices/cam2hz/frame.jpg`)).ok, 5000, "the first frame");
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    closers.push(() => viewer.close());
    viewer.watch("cam2hz");
    const stream = await waitFor(() => viewer.streams.get("cam2hz"), 5000, "offer");
    const before = pusher.sent();
    await waitFor(() => stream.decodedFrames >= 1, 10_000, "a first picture");
    assert.ok(pusher.sent() - before <= 2, "it came with the first frames after connecting, not after a keyframe interval");
    pusher.stop();
  });

  test("pull stream: pull gets the latest frame, ping gets pong, unknown actions an error; frame.jpg of an RTP device", async () => {
    await post("cam3", frames[7]);
    const ws = new WebSocket(`${server.wsUrl}/stream/cam3?mode=pull`);
    closers.push(() => ws.close());
    const texts: Array<Record<string, unknown>> = [];
    const binaries: Buffer[] = [];
    ws.on("message", (d, bin) => (bin ? binaries.push(d as Buffer) : texts.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>)));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "hello" }));
    ws.send(JSON.stringify({ action: "pull" }));
    ws.send(JSON.stringify({ action: "ping" }));
    ws.send(JSON.stringify({ action: "dance" }));
    await waitFor(() => texts.length >= 4 && binaries.length >= 1, 5000, "answers");
    assert.equal(texts[0].type, "ready");
    assert.equal(texts[1].action, "frame");
    assert.equal(texts[1].bytes, frames[7].length);
    assert.ok(binaries[0].equals(frames[7]));
    assert.deepEqual(texts[2], { action: "pong" });
    assert.match(String(texts[3].message), /unknown action 'dance'/);
    // The built-in test device is RTP: its frame is decoded and encoded on demand.
    const res = await fetch(`${server.httpUrl}/api/devices/test/frame.jpg`);
    assert.equal(res.status, 200);
    assert.deepEqual(jpegSize(Buffer.from(await res.arrayBuffer())), { width: 1280, height: 720 });
    assert.equal((await fetch(`${server.httpUrl}/api/devices/nope/frame.jpg`)).status, 404);
  });

  test("snapshots: a signed URL serves the frame with no credentials, refuses any changed byte, and expires", async () => {
    await post("cam4", frames[9]);
    const res = await fetch(`${server.httpUrl}/api/devices/cam4/snapshots?ttl=2`, { method: "POST" });
    assert.equal(res.status, 201);
    const { url, expires, expiresAt } = (await res.json()) as { url: string; expires: number; expiresAt: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/snapshots\/\d+-[\w-]+\.jpg\?expires=\d+&sig=[\w-]+$/);
    assert.equal(new Date(expiresAt).getTime(), expires * 1000);
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    assert.ok(Buffer.from(await ok.arrayBuffer()).equals(frames[9]), "the frame as it was when the snapshot was taken");
    const u = new URL(url);
    const tampered = [
      url.replace(/sig=./, (m) => (m.endsWith("A") ? "sig=B" : "sig=A")),
      url.replace(`expires=${expires}`, `expires=${expires + 60}`),
      `${u.origin}${u.pathname.replace(/(.)\.jpg$/, (_, c: string) => `${c === "a" ? "b" : "a"}.jpg`)}${u.search}`,
      `${u.origin}${u.pathname}`,
    ];
    for (const t of tampered) assert.equal((await fetch(t)).status, 403, t);
    // The RTP test device: its decoded picture is stored; over the limit or for no device, clear errors.
    assert.equal((await fetch(`${server.httpUrl}/api/devices/test/snapshots`, { method: "POST" })).status, 201);
    assert.equal((await fetch(`${server.httpUrl}/api/devices/test/snapshots?ttl=999999`, { method: "POST" })).status, 400);
    assert.equal((await fetch(`${server.httpUrl}/api/devices/nope/snapshots`, { method: "POST" })).status, 404);
    await waitForAsync(async () => (await fetch(url)).status === 403, 5000, "the URL to expire");
  });
});
