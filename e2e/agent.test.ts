/**
 * The desktop agent against a separate server process: Xvfb display →
 * `tessera agent` → server → Chromium viewer, input going the whole way
 * back, and the agent coming back by itself when the server restarts.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { launchBrowser, startServer, waitFor, withPages, type Env, type TestServer } from "./harness.js";
import { measureAudio } from "./probes.js";
import { clipboardBothWays } from "./lib/clipboard-check.js";
import { centreColour, EventLog, paint, pictureBox, rootSize, showsColour } from "./lib/x-display.js";
import { holdToTalk, loudest, playTone, startPulse, viewerHasAudio, type TestPulse } from "./lib/pulse.js";
import { startXvfb, type TestDisplay } from "./lib/xvfb.js";

const MAIN = fileURLToPath(new URL("../server/main.js", import.meta.url));
const DEVICE = "desk-agent";

let display: TestDisplay;
/** Kept across the restart: the device key lives in it. */
const dataDir = mkdtempSync(join(tmpdir(), "tessera-agent-data-"));
let server: TestServer;
let pulse: TestPulse;
let browser: Browser;
let agent: ChildProcess | undefined;
const agentLog: string[] = [];

function startAgent(url: string, key: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      "agent",
      "--server",
      url,
      "--display",
      display.display,
      "--id",
      DEVICE,
      "--name",
      "Agent desk",
      "--allow-input",
      "--allow-resize",
      "--audio",
      "pulse",
    ],
    {
      env: { ...pulse.env, TESSERA_AGENT_KEY: key, UV_THREADPOOL_SIZE: "64" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  for (const s of [child.stdout, child.stderr]) s?.setEncoding("utf8").on("data", (d: string) => agentLog.push(...d.split("\n").filter(Boolean)));
  return child;
}

async function newKey(url: string): Promise<string> {
  const made = await fetch(`${url}api/keys`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ deviceId: DEVICE }) });
  assert.equal(made.status, 201, await made.clone().text());
  return ((await made.json()) as { key: string }).key;
}

before(async () => {
  display = await startXvfb({ server: "Xvnc", width: 640, height: 480 });
  pulse = await startPulse();
  server = await startServer({ args: ["--source", "none", "--data-dir", dataDir] });
  browser = await launchBrowser();
});
after(async () => {
  agent?.kill("SIGKILL");
  await browser?.close().catch(() => undefined);
  await server?.close();
  await display?.close();
  await pulse?.close();
  rmSync(dataDir, { recursive: true, force: true });
});
const env = (): Env => ({ server, browser });

test("an agent publishes its display; viewers see it, drive it, share its clipboard and resize it through the server", { timeout: 90_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const key = await newKey(server.url);
    agent = startAgent(server.url, key);
    t.after(() => agentLog.slice(-20).forEach((l) => t.diagnostic(`[agent] ${l}`)));
    paint(display, "#00ff00");
    const page = await pages.viewer(DEVICE, "viewer");
    await showsColour(page, "#video", [0, 255, 0], "green from the agent", 30_000);
    paint(display, "#ff00ff");
    await showsColour(page, "#video", [255, 0, 255], "magenta from the agent");

    const log = new EventLog(display.env);
    try {
      await page.click("#control-toggle");
      await page.waitForSelector('#player[data-control="self"]', { timeout: 5000 });
      // The agent answers echo requests: the round trip viewer → server → agent → server → viewer.
      const rtt = await page.waitForSelector("#player[data-input-round-trip]", { timeout: 10_000 });
      t.diagnostic(`input round trip through the agent: ${await rtt.getAttribute("data-input-round-trip")} ms`);
      // Control makes the display the player's size (--allow-resize), through the agent; the stream follows.
      const want = await page.evaluate(() => {
        const st = (globalThis as unknown as { document: { querySelector(q: string): { clientWidth: number; clientHeight: number } } }).document.querySelector(
          ".stage",
        );
        return { width: Math.floor(st.clientWidth / 2) * 2, height: Math.floor(st.clientHeight / 2) * 2 };
      });
      await waitFor(`the agent's display at ${want.width}x${want.height}`, () => rootSize(display) === `${want.width}x${want.height}`, { timeoutMs: 15_000 });
      await waitFor(
        "the viewer's video at the new size",
        () =>
          page.evaluate(
            (w) =>
              (globalThis as unknown as { document: { querySelector(q: string): { videoWidth: number; videoHeight: number } } }).document.querySelector(
                "#video",
              ).videoWidth === w,
            want.width,
          ),
        { timeoutMs: 15_000 },
      );
      const box = await page.evaluate(pictureBox, want);
      const target = { x: Math.round(want.width * 0.75), y: Math.round(want.height * 0.75) };
      await page.mouse.click(box.left + (target.x + 0.5) * box.scale, box.top + (target.y + 0.5) * box.scale);
      const press = await waitFor("the agent's display to get the click", () => log.events.find((e) => e.type === "ButtonPress" && e.button === 1));
      assert.ok(
        Math.abs((press.x ?? -99) - target.x) <= 1 && Math.abs((press.y ?? -99) - target.y) <= 1,
        `clicked at (${press.x},${press.y}), expected (${target.x},${target.y}) ±1`,
      );
      await page.keyboard.type("q");
      await waitFor("the key on the agent's display", () => log.events.some((e) => e.type === "KeyPress" && e.keysym === "q"));
      // The clipboard both ways through the agent: its pictures travel in parts, agent → server → viewer.
      await clipboardBothWays(page, display.env);
    } finally {
      log.close();
    }
    assert.notEqual(await page.evaluate(centreColour, "#video"), null);
  }),
);

test("the agent reconnects when the server restarts", { timeout: 90_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    assert.ok(agent, "the first test started the agent");
    const port = new URL(server.url).port;
    await server.close();
    // The same port and data dir: the device key is still valid, the agent's URL still right.
    server = await startServer({ port: Number(port), args: ["--source", "none", "--data-dir", dataDir] });
    paint(display, "#ffff00");
    const page = await pages.viewer(DEVICE, "after-restart");
    await showsColour(page, "#video", [255, 255, 0], "yellow after the restart", 45_000);
    assert.ok(
      agentLog.some((l) => /disconnected; retrying/.test(l)),
      "the agent saw the server go",
    );
  }),
);

test("sound through the agent: the desktop's tone reaches the viewer, the controller's voice plays on the desktop", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    assert.ok(agent, "the first test started the agent");
    const viewer = await pages.viewer(DEVICE, "sound");
    await waitFor("the viewer's stream with an audio track", () => viewer.evaluate(viewerHasAudio), { timeoutMs: 30_000 });
    const tone = playTone(pulse);
    try {
      const heard = await viewer.evaluate(measureAudio, { source: "video" as const, threshold: 0.05, timeoutMs: 15_000 });
      t.diagnostic(`viewer: the agent's desktop audio peak RMS ${heard.peak.toFixed(3)}`);
      assert.ok(heard.peak > 0.05, `the desktop's tone is heard at the viewer (${JSON.stringify(heard)})`);
    } finally {
      tone.kill("SIGKILL");
    }
    const stopTalking = await holdToTalk(viewer);
    const talking = await waitFor(
      "the controller's voice on the agent's desktop",
      async () => {
        const level = await loudest(pulse, `${pulse.sink}.monitor`, 1500);
        return level > -40 ? level : undefined;
      },
      { timeoutMs: 15_000 },
    );
    await stopTalking();
    t.diagnostic(`the agent's desktop speakers while the controller talks: ${talking.toFixed(1)} dBFS`);
  }),
);

test("an agent whose key the server refuses stops with status 1 and says why", { timeout: 30_000 }, async () => {
  const refused = startAgent(server.url, `tk_000000000000.${"A".repeat(43)}`);
  const code = await new Promise<number | null>((resolve) => refused.once("exit", (c) => resolve(c)));
  assert.equal(code, 1);
  assert.ok(
    agentLog.some((l) => /refused this agent; not retrying/.test(l)),
    agentLog.slice(-5).join("\n"),
  );
});
