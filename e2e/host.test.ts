/**
 * Host mode in Chromium: a server captures a private Xvfb display
 * (`--source x11:N --allow-input`); viewers see its colour changes over
 * WebRTC and the fallback, and the controller's clicks, keys and clipboard
 * reach X clients on that display.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { useEnv, viewerState, waitFor, withPages } from "./harness.js";
import { WeriftViewer } from "./lib/werift-peers.js";
import { clipboardBothWays } from "./lib/clipboard-check.js";
import { centreColour, drawnPointer, EventLog, paint, pictureBox, showsColour } from "./lib/x-display.js";
import { startXvfb, type TestDisplay } from "./lib/xvfb.js";

/** The test display's size: the device's pixels, whatever layer a viewer receives. */
const DISPLAY = { width: 640, height: 480 };
let display: TestDisplay | undefined;
const x = (): TestDisplay => {
  if (!display) throw new Error("Xvfb did not start");
  return display;
};
const env = useEnv(async () => {
  display = await startXvfb(DISPLAY);
  return ["--source", `x11:${display.display}`, "--allow-input"];
});
after(() => display?.close());
const deviceId = () => `x11-${x().display.slice(1)}`;

test("colour changes on the display reach a WebRTC viewer and a fallback viewer", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    paint(x(), "#000000");
    const rtc = await pages.viewer(deviceId(), "webrtc");
    const ws = await pages.viewer(deviceId(), "fallback", { transport: "ws", codec: "jpeg" });
    await showsColour(rtc, "#video", [0, 0, 0], "black over WebRTC");
    await showsColour(ws, "#canvas", [0, 0, 0], "black over the fallback");
    for (const [name, rgb] of [
      ["#ff0000", [255, 0, 0]],
      ["#0000ff", [0, 0, 255]],
    ] as const) {
      paint(x(), name);
      const [msRtc, msWs] = await Promise.all([
        showsColour(rtc, "#video", [...rgb], `${name} over WebRTC`),
        showsColour(ws, "#canvas", [...rgb], `${name} over the fallback`),
      ]);
      t.diagnostic(`${name}: WebRTC ${msRtc} ms, fallback ${msWs} ms`);
    }
    // Still: the capture idles (XDamage reports no change), and the next change still shows at once.
    const idle = await waitFor(
      "the still screen to idle at a low frame rate",
      async () => {
        const fps = (await viewerState(rtc)).stats?.fps;
        return typeof fps === "number" && fps <= 3 ? fps : undefined;
      },
      { timeoutMs: 15_000 },
    );
    paint(x(), "#00ff00");
    const woke = await showsColour(rtc, "#video", [0, 255, 0], "green after idling");
    t.diagnostic(`idle: ${idle} frames/s; a change after idling showed in ${woke} ms`);
  }),
);

test(
  "the controller's clicks, wheel and keys reach the display, watchers see its pointer; keys held are released when control ends",
  { timeout: 60_000 },
  (t) =>
    withPages(t, env(), async (pages) => {
      const log = new EventLog(x().env);
      // A watcher that does not control: it learns where the desktop's pointer is from cursor messages.
      const watcher = await WeriftViewer.connect(`${env().server.url.replace(/^http/, "ws")}ws`);
      watcher.watch(deviceId());
      try {
        const page = await pages.viewer(deviceId(), "controller");
        const watching = await pages.viewer(deviceId(), "watching");
        await waitFor("a picture", async () => (await page.evaluate(centreColour, "#video")) !== null, { timeoutMs: 15_000 });
        await page.click("#control-toggle");
        await page.waitForSelector('#player[data-control="self"]', { timeout: 5000 });
        // The desktop answers the holder's echo requests: its input round trip shows beside the playout delay.
        const rtt = await page.waitForSelector("#player[data-input-round-trip]", { timeout: 10_000 });
        t.diagnostic(
          `input round trip to the desktop: ${await rtt.getAttribute("data-input-round-trip")} ms; media bar: ${await page.textContent("#latency")}`,
        );
        // A click at the picture's point (160, 120) of 640×480, wherever the player puts the picture.
        // The desktop's pointer shape (XFIXES, as PNG) is the controller's pointer over the picture.
        await waitFor("the desktop's pointer shape as the picture's cursor", () =>
          page.evaluate(() => {
            const g = globalThis as unknown as { document: { querySelector(s: string): unknown }; getComputedStyle(e: unknown): { cursor: string } };
            return g.getComputedStyle(g.document.querySelector("#video")).cursor.startsWith('url("data:image/png;base64,');
          }),
        );
        const box = await page.evaluate(pictureBox, DISPLAY);
        await page.mouse.click(box.left + 160.5 * box.scale, box.top + 120.5 * box.scale);
        const press = await waitFor("a ButtonPress on the display", () => log.events.find((e) => e.type === "ButtonPress" && e.button === 1));
        assert.ok(Math.abs((press.x ?? -99) - 160) <= 1 && Math.abs((press.y ?? -99) - 120) <= 1, `clicked at (${press.x},${press.y}), expected (160,120) ±1`);
        await waitFor("its ButtonRelease", () => log.events.some((e) => e.type === "ButtonRelease" && e.button === 1));
        await waitFor("the watcher to learn the pointer's position", () =>
          watcher.streams
            .get(deviceId())
            ?.inputMessages.map((m) => JSON.parse(m) as { type: string; x?: number; y?: number })
            .some((m) => m.type === "cursor" && Math.abs((m.x ?? -99) - 160) <= 1 && Math.abs((m.y ?? -99) - 120) <= 1),
        );
        // A watching browser draws the desktop's pointer where it is; the controller, whose own pointer has the shape, does not.
        const drawn = await waitFor("the watcher's page to draw the pointer at (160, 120)", async () => {
          const p = await watching.evaluate(drawnPointer, DISPLAY);
          return p && Math.abs(p.x - 160) <= 2 && Math.abs(p.y - 120) <= 2 ? p : undefined;
        });
        t.diagnostic(`the watcher draws the pointer's hotspot at (${drawn.x.toFixed(1)}, ${drawn.y.toFixed(1)})`);
        assert.equal(await page.evaluate(drawnPointer, DISPLAY), null, "the controller's page draws none");
        await page.mouse.wheel(0, 120);
        await waitFor("a wheel-down button (5)", () => log.events.some((e) => e.type === "ButtonPress" && e.button === 5));
        await page.keyboard.type("aB");
        await waitFor("the keys in order", () => {
          const keys = log.events.filter((e) => e.type === "KeyPress" && e.keysym !== "Shift_L").map((e) => e.keysym);
          return keys.join(",") === "a,B" || keys.join(",") === "a,b";
        });
        // Hold a key and give control up: the key is released on the display.
        await page.keyboard.down("x");
        await waitFor("x pressed", () => log.events.some((e) => e.type === "KeyPress" && e.keysym === "x"));
        await page.click("#control-toggle");
        await waitFor("x released when control ended", () => log.events.some((e) => e.type === "KeyRelease" && e.keysym === "x"));
        await page.keyboard.up("x");
      } finally {
        log.close();
        await watcher.close();
      }
    }),
);

test("clipboard both ways, text and pictures: a paste reaches the display, a copy there reaches viewers", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const page = await pages.viewer(deviceId(), "clipboard");
    await waitFor(
      "the input channel",
      () => page.evaluate(() => (globalThis as unknown as { tessera: { input?: { readyState: string } } }).tessera.input?.readyState === "open"),
      { timeoutMs: 15_000 },
    );
    await page.click("#control-toggle");
    await page.waitForSelector('#player[data-control="self"]', { timeout: 5000 });
    await clipboardBothWays(page, x().env);
  }),
);

test("the controller's frame-rate and bitrate menus (_arg_fps, vb) change the stream without a restart", { timeout: 60_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    // A moving picture over the whole display, so the frame rate is the capture's, not the damage's.
    const motion = spawn(
      "gst-launch-1.0",
      [
        "-q",
        "videotestsrc",
        "pattern=ball",
        "motion=sweep",
        "!",
        "video/x-raw,width=640,height=480,framerate=30/1",
        "!",
        "ximagesink",
        `display=${x().display}`,
      ],
      { stdio: "ignore", env: x().env },
    );
    try {
      const page = await pages.viewer(deviceId(), "settings");
      await page.click("#control-toggle");
      await page.waitForSelector('#player[data-control="self"]', { timeout: 15_000 });
      const fps = async () => (await viewerState(page)).stats?.fps ?? 0;
      const fast = await waitFor("more than 15 frames a second", async () => ((await fps()) > 15 ? fps() : undefined), { timeoutMs: 20_000 });
      const offers = (await viewerState(page)).timeline?.offers;
      // The controller's quality menus send the lines.
      await page.selectOption("#quality-fps", "5");
      await page.selectOption("#quality-bitrate", "300");
      const sent = await page.evaluate(() => (globalThis as unknown as { tessera: { sentLines: string[] } }).tessera.sentLines);
      assert.deepEqual(
        sent.filter((l) => !l.startsWith("m,")),
        ["_arg_fps,5", "vb,300"],
      );
      const slow = await waitFor("at most 6 frames a second", async () => ((await fps()) <= 6 ? fps() : undefined), { timeoutMs: 20_000 });
      t.diagnostic(`frames per second: ${fast} before, ${slow} after _arg_fps,5`);
      assert.equal((await viewerState(page)).timeline?.offers, offers, "the same connection all along");
    } finally {
      motion.kill("SIGKILL");
    }
  }),
);
