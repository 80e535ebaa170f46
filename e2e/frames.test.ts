/** A JPEG frame device in Chromium: pushed at 2 Hz over HTTP, watched over WebRTC and over the fallback canvas. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { canvasMoves, framesAdvance, useEnv, viewerState, withPages } from "./harness.js";

// No built-in test device: its 720p encoder would take most of a core from the browsers here.
const env = useEnv(() => ["--source", "none"]);
const dir = mkdtempSync(join(tmpdir(), "tessera-e2e-frames-"));
let frames: Buffer[] = [];
let timer: NodeJS.Timeout | undefined;

before(() => {
  execFileSync("gst-launch-1.0", [
    "-q",
    "videotestsrc",
    "num-buffers=20",
    "pattern=ball",
    "!",
    "video/x-raw,width=640,height=360",
    "!",
    "jpegenc",
    "!",
    "multifilesink",
    `location=${join(dir, "f%03d.jpg")}`,
  ]);
  frames = readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f)));
});

/** A camera app pushing two frames a second to `base` (bounded: at most 10 minutes of frames). */
function pushFrames(base: string): void {
  let i = 0;
  timer = setInterval(() => {
    if (i > 1200) return clearInterval(timer);
    const body = frames[i++ % frames.length];
    void fetch(`${base}api/devices/phone-cam/frames`, { method: "POST", headers: { "Content-Type": "image/jpeg" }, body }).catch(() => undefined);
  }, 500);
}

after(() => {
  clearInterval(timer);
  rmSync(dir, { recursive: true, force: true });
});

test("a frame device at 2 Hz plays over WebRTC and on the fallback canvas", { timeout: 40_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    pushFrames(env().server.url);
    const webrtc = await pages.viewer("phone-cam", "webrtc");
    const { width, height } = await framesAdvance(webrtc, 3, 15_000);
    assert.deepEqual([width, height], [640, 360]);
    assert.equal((await viewerState(webrtc)).transport, "webrtc");
    const ws = await pages.viewer("phone-cam", "ws", { transport: "ws", codec: "jpeg" });
    const size = await canvasMoves(ws, 15_000);
    assert.deepEqual([size.width, size.height], [640, 360]);
  }),
);
