/**
 * Desktop sound both ways (`--audio pulse`): a tone the desktop plays
 * reaches a Chromium viewer, and the controller's push-to-talk (Chromium's
 * fake microphone) plays on the desktop. PulseAudio is the test's own,
 * with a null sink for speakers.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { launchBrowser, startServer, waitFor, withPages, type Env, type TestServer } from "./harness.js";
import { measureAudio } from "./probes.js";
import { holdToTalk, loudest, playTone, startPulse, viewerHasAudio, type TestPulse } from "./lib/pulse.js";
import { startXvfb, type TestDisplay } from "./lib/xvfb.js";

let display: TestDisplay;
let pulse: TestPulse;
let server: TestServer;
let browser: Browser;

before(async () => {
  display = await startXvfb({ width: 640, height: 480 });
  pulse = await startPulse();
  server = await startServer({
    args: ["--source", `x11:${display.display}`, "--audio", "pulse", "--allow-input"],
    env: { PULSE_SERVER: pulse.server, PULSE_COOKIE: String(pulse.env.PULSE_COOKIE) },
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  await pulse?.close();
  await display?.close();
});
const env = (): Env => ({ server, browser });
const deviceId = () => `x11-${display.display.slice(1)}`;

test("what the desktop plays reaches the viewer; the controller's voice plays on the desktop", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const viewer = await pages.viewer(deviceId(), "viewer");
    await waitFor("the viewer's stream with an audio track", () => viewer.evaluate(viewerHasAudio), { timeoutMs: 15_000 });
    const tone = playTone(pulse);
    try {
      const heard = await viewer.evaluate(measureAudio, { source: "video" as const, threshold: 0.05, timeoutMs: 15_000 });
      t.diagnostic(`viewer: desktop audio peak RMS ${heard.peak.toFixed(3)} after ${heard.ms.toFixed(0)} ms (context ${heard.context})`);
      assert.ok(heard.peak > 0.05, `the desktop's tone is heard at the viewer (${JSON.stringify(heard)})`);
    } finally {
      tone.kill("SIGKILL");
    }
    // Nothing plays now: the desktop's speakers are silent until the controller talks.
    const quiet = await loudest(pulse, `${pulse.sink}.monitor`, 500);
    const stopTalking = await holdToTalk(viewer);
    // Chromium's fake microphone beeps about once a second: listen for two seconds.
    const talking = await loudest(pulse, `${pulse.sink}.monitor`, 2500);
    await stopTalking();
    t.diagnostic(`desktop speakers: ${quiet.toFixed(1)} dBFS before, ${talking.toFixed(1)} dBFS while the controller talks`);
    assert.ok(quiet < -60, `silent before talking (${quiet} dBFS)`);
    assert.ok(talking > -40, `the controller's voice plays on the desktop (${talking} dBFS)`);
  }),
);
