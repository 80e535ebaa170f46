/**
 * Interactive control in Chromium: a device page (fake camera) and viewers
 * that take control, click, type, paste, talk, and hand control over.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { devicePublishing, framesAdvance, readMetric, useEnv, waitFor, withPages, type Pages } from "./harness.js";
import { pictureToClient, viewerGeometry } from "./lib/picture-geometry.js";
import { measureAudio } from "./probes.js";
import { screenshot } from "./lib/screenshots.js";

// No built-in test device: its 720p encoder would take most of a core from the browsers here.
const env = useEnv(() => ["--source", "none"]);

/** Coordinates may be off by rounding (fractional CSS pixels): the brief allows ±2 stream pixels. */
const TOLERANCE = 2;

type Hooks = Record<string, unknown> & { input?: { readyState: string; send(line: string): void } };
/** One field of the page's `window.tessera`. */
const hook = (page: Page, name: string) => page.evaluate((n) => (globalThis as unknown as { tessera: Hooks }).tessera[n], name);
const deviceLines = (page: Page) => page.evaluate(() => [...(globalThis as unknown as { tessera: { inputLines: string[] } }).tessera.inputLines]);

/** A device page publishing, and viewers of it with their `input` channel open. */
async function setup(pages: Pages, id: string, viewers: string[], extra: Record<string, string> = {}): Promise<{ device: Page; views: Page[] }> {
  const device = await pages.device(id, `Control ${id}`, "device", "", extra);
  await devicePublishing(device);
  const views: Page[] = [];
  for (const label of viewers) {
    const page = await pages.viewer(id, label);
    views.push(page);
  }
  for (const page of views) {
    await framesAdvance(page, 5, 15_000);
    await waitFor("the viewer's input channel to open", () =>
      page.evaluate(() => {
        const t = (globalThis as unknown as { tessera: Hooks }).tessera;
        return t.input?.readyState === "open" && t.control !== undefined && (t.control as { holder: unknown }).holder !== undefined;
      }),
    );
  }
  return { device, views };
}

async function takeControl(page: Page): Promise<void> {
  await page.click("#control-toggle");
  await page.waitForSelector('#player[data-control="self"]', { timeout: 5000 });
}

/** Lines the device received after index `from`, once `done` accepts them. */
async function linesAfter(device: Page, from: number, what: string, done: (lines: string[]) => boolean, timeoutMs = 5000): Promise<string[]> {
  return waitFor(
    what,
    async () => {
      const lines = (await deviceLines(device)).slice(from);
      return done(lines) ? lines : undefined;
    },
    { timeoutMs },
  );
}

/** Waits until the viewer decodes exactly the size the device last reported (the server bounds coordinates by it). */
async function sizesAgree(viewer: Page, device: Page): Promise<void> {
  await waitFor(
    "the viewer to know the device's reported resolution, and its video to have that shape",
    async () => {
      const g = await viewer.evaluate(viewerGeometry);
      const r = (await hook(device, "resolution")) as { width: number; height: number } | undefined;
      // The video may be a smaller simulcast layer: the same picture, so the same shape.
      const shape = await viewer.evaluate<number>(
        `(() => { const v = document.querySelector("#video"); return v.videoHeight > 0 ? v.videoWidth / v.videoHeight : 0; })()`,
      );
      return r !== undefined && g.videoWidth === r.width && g.videoHeight === r.height && Math.abs(shape - r.width / r.height) < 0.02;
    },
    { timeoutMs: 10_000 },
  );
}

/**
 * Clicks at fraction (fx, fy) of the picture and returns the device's button-down
 * line and the stream pixel the test expected, computed here from the element
 * rect and the intrinsic size (object-fit: contain, centred). Retries if the
 * stream size changed around the click (the encoder adapts its resolution).
 */
async function clickPicture(viewer: Page, device: Page, fx: number, fy: number): Promise<{ got: [number, number]; want: [number, number]; size: string }> {
  for (let attempt = 0; ; attempt++) {
    const g = await viewer.evaluate(viewerGeometry);
    const { clientX, clientY, want } = pictureToClient(g, fx, fy);
    const mark = (await deviceLines(device)).length;
    await viewer.mouse.click(clientX, clientY);
    const lines = await linesAfter(
      device,
      mark,
      "the click's down and up lines",
      (ls) => ls.some((l) => /^m,\d+,\d+,1,0$/.test(l)) && ls.some((l, i) => i > 0 && /^m,\d+,\d+,0,0$/.test(l)),
    );
    const after = await viewer.evaluate(viewerGeometry);
    if ((after.videoWidth !== g.videoWidth || after.videoHeight !== g.videoHeight) && attempt < 3) continue;
    const down = lines.find((l) => /^m,\d+,\d+,1,0$/.test(l)) ?? "";
    const [, x, y] = down.split(",").map(Number);
    // Every line of this click is at the clicked point (no stray moves elsewhere).
    for (const l of lines) assert.match(l, new RegExp(`^m,${x},${y},[01],0$`), `line ${l} of a click at ${x},${y}`);
    return { got: [x, y], want, size: `${g.videoWidth}x${g.videoHeight} in ${g.width.toFixed(0)}x${g.height.toFixed(0)}` };
  }
}

const near = (got: number[], want: number[]) => Math.abs(got[0] - want[0]) <= TOLERANCE && Math.abs(got[1] - want[1]) <= TOLERANCE;

/** Gives #video a fixed CSS size inside its stage, so the letterboxing is known. */
async function setVideoBox(viewer: Page, width: number, height: number): Promise<void> {
  await viewer.evaluate(
    ([w, h]) => {
      const d = (globalThis as unknown as { document: { querySelector(s: string): { style: Record<string, string> } } }).document;
      Object.assign(d.querySelector(".stage").style, { aspectRatio: "auto", width: "fit-content" });
      Object.assign(d.querySelector("#video").style, { width: `${w}px`, height: `${h}px` });
    },
    [width, height],
  );
}

test("the controller's clicks, wheel and touches arrive in stream pixels at two element sizes, its keys as keysyms", { timeout: 40_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const {
      device,
      views: [viewer],
    } = await setup(pages, "ctl-map", ["viewer"]);
    assert.equal(await viewer.textContent("#control-status"), "Nobody controls");
    await takeControl(viewer);
    assert.equal(await viewer.textContent("#control-status"), "You control this device");
    await sizesAgree(viewer, device);

    // A square box letterboxes the 16:9 picture above and below; a wide one pillarboxes it.
    for (const [w, h] of [
      [400, 400],
      [600, 200],
    ]) {
      await setVideoBox(viewer, w, h);
      for (const [fx, fy] of [
        [0.2, 0.3],
        [0.85, 0.7],
      ]) {
        const { got, want, size } = await clickPicture(viewer, device, fx, fy);
        t.diagnostic(`box ${w}x${h}: click at (${fx}, ${fy}) of ${size} → m,${got.join(",")} (expected ${want.map((v) => v.toFixed(1)).join(",")})`);
        assert.ok(near(got, want), `got ${got}, want ${want}`);
      }
      // A click on a bar beside the picture sends nothing.
      const g = await viewer.evaluate(viewerGeometry);
      const mark = (await deviceLines(device)).length;
      const onBar: [number, number] = w > h ? [g.left + 3, g.top + g.height / 2] : [g.left + g.width / 2, g.top + 3];
      await viewer.mouse.click(...onBar);
      const inside = await clickPicture(viewer, device, 0.5, 0.5);
      const lines = (await deviceLines(device)).slice(mark);
      assert.ok(
        lines.every((l) => l.startsWith(`m,${inside.got[0]},${inside.got[1]},`)),
        `only the picture click arrived: ${lines.join(" ")}`,
      );
    }

    // The wheel: one Chromium notch (100 px) is one step, negative up.
    const g = await viewer.evaluate(viewerGeometry);
    const centre = pictureToClient(g, 0.5, 0.5);
    let mark = (await deviceLines(device)).length;
    await viewer.mouse.move(centre.clientX, centre.clientY);
    await viewer.mouse.wheel(0, 100);
    await viewer.mouse.wheel(0, -100);
    const wheel = (await linesAfter(device, mark, "two wheel lines", (ls) => ls.filter((l) => !l.endsWith(",0")).length >= 2)).filter((l) => !l.endsWith(",0"));
    assert.deepEqual(
      wheel.map((l) => l.split(",").slice(3).join(",")),
      ["0,1", "0,-1"],
      `wheel lines ${wheel.join(" ")}`,
    );

    // Two fingers (CDP touch events): per-touch ids from 0, positions in stream pixels.
    const second = pictureToClient(g, 0.75, 0.25);
    const cdp = await viewer.context().newCDPSession(viewer);
    mark = (await deviceLines(device)).length;
    const fingers = [
      { x: centre.clientX, y: centre.clientY, id: 17 },
      { x: second.clientX, y: second.clientY, id: 42 },
    ];
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: fingers });
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await cdp.detach();
    const touches = await linesAfter(device, mark, "4 touch lines", (ls) => ls.filter((l) => l.startsWith("t,")).length >= 4);
    const parsed = touches.filter((l) => l.startsWith("t,")).map((l) => l.split(","));
    assert.deepEqual(
      parsed.map(([, phase, id]) => `${phase} ${id}`),
      ["start 0", "start 1", "end 0", "end 1"],
    );
    for (const [, , id, x, y] of parsed) {
      const want = id === "0" ? centre.want : second.want;
      assert.ok(near([Number(x), Number(y)], want), `touch ${id} at ${x},${y}, want ${want}`);
    }

    // Keys go to the focused picture as X11 keysyms, downs and ups paired in order.
    mark = (await deviceLines(device)).length;
    await viewer.keyboard.type("Hi");
    await viewer.keyboard.press("Enter");
    await viewer.keyboard.press("ArrowLeft");
    const want = ["kd,72", "ku,72", "kd,105", "ku,105", "kd,65293", "ku,65293", "kd,65361", "ku,65361"];
    const keys = await linesAfter(device, mark, "8 key lines", (ls) => ls.filter((l) => l.startsWith("k")).length >= want.length);
    assert.deepEqual(
      keys.filter((l) => l.startsWith("k")),
      want,
    );

    // Ctrl+Alt+Shift is the way out: every key is released on the device, and control is given up.
    mark = (await deviceLines(device)).length;
    for (const key of ["Control", "Alt", "Shift"]) await viewer.keyboard.down(key);
    await viewer.waitForSelector('#player[data-control="none"]', { timeout: 5000 });
    for (const key of ["Shift", "Alt", "Control"]) await viewer.keyboard.up(key);
    const out = await linesAfter(device, mark, "the release-all line", (ls) => ls.includes("kr"));
    assert.deepEqual(out.slice(0, 3), ["kd,65507", "kd,65513", "kr"], "Control_L, Alt_L down, then everything released");
    assert.equal(
      await viewer.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id),
      "",
      "the picture lost focus",
    );
  }),
);

test("only the holder drives the device; state and clipboards reach every viewer; control passes when the holder leaves", { timeout: 45_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const e = env();
    const {
      device,
      views: [a, b],
    } = await setup(pages, "ctl-share", ["viewerA", "viewerB"]);
    await takeControl(a);
    const aId = (await hook(a, "peerId")) as string;
    await b.waitForSelector(`#player[data-control="other"][data-control-holder="${aId}"]`, { timeout: 5000 });
    assert.match((await b.textContent("#control-status")) ?? "", /^Viewer [0-9a-f]{6} controls$/);
    assert.equal(await b.textContent("#control-toggle"), "Ask for control", "B can only ask while A holds it");
    // The holder measures its input round trip (the device page answers p,N at once); a watcher does not.
    const rtt = await a.waitForSelector("#player[data-input-round-trip]", { timeout: 10_000 });
    t.diagnostic(`A's input round trip: ${await rtt.getAttribute("data-input-round-trip")} ms`);
    assert.match((await a.textContent("#latency")) ?? "", /input \d+ ms/);
    assert.equal(await b.getAttribute("#player", "data-input-round-trip"), null);

    // B's clicks and keys send nothing, and lines it forces onto its channel are refused by the server.
    await sizesAgree(b, device);
    const g = await b.evaluate(viewerGeometry);
    await b.mouse.click(g.left + g.width / 2, g.top + g.height / 2);
    await b.keyboard.type("x");
    assert.deepEqual(await hook(b, "sentLines"), [], "B's page sent no input");
    const refusedBefore = await readMetric(e.server, "tessera_input_lines_total", { result: "dropped", reason: "not_controller" });
    await b.evaluate(() => {
      const input = (globalThis as unknown as { tessera: Hooks }).tessera.input;
      for (let i = 0; i < 3; i++) input?.send("m,3,3,1,0");
    });
    await waitFor(
      "the server to refuse B's 3 lines",
      async () => (await readMetric(e.server, "tessera_input_lines_total", { result: "dropped", reason: "not_controller" })) >= refusedBefore + 3,
    );
    const mark = (await deviceLines(device)).length;
    await sizesAgree(a, device);
    const { got } = await clickPicture(a, device, 0.5, 0.5);
    assert.ok(
      (await deviceLines(device)).slice(mark).every((l) => l.startsWith(`m,${got[0]},${got[1]},`)),
      "only A's click reached the device",
    );

    // Device state and clipboard reach both viewers.
    await device.check("#led-1");
    await device.fill("#clipboard-text", "from the device ✓");
    await device.click("#send-clipboard");
    for (const v of [a, b]) {
      await v.waitForFunction(
        () => {
          const d = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
          return (
            d.querySelector('#device-status .chip[data-key="leds"] .chip-value')?.textContent === "on, off" &&
            d.querySelector("#device-clipboard-text")?.textContent === "from the device ✓"
          );
        },
        undefined,
        { timeout: 5000 },
      );
      assert.equal(await v.textContent('#device-status .chip[data-key="battery"] .chip-value'), "80%");
    }

    // A pastes: the text reaches the device as `cw` and is shown there.
    await a.evaluate(() => {
      const g = globalThis as unknown as {
        DataTransfer: new () => { setData(t: string, v: string): void };
        ClipboardEvent: new (type: string, init: object) => unknown;
        document: { activeElement: { dispatchEvent(e: unknown): void } };
      };
      const data = new g.DataTransfer();
      data.setData("text/plain", "pasted ✓ text");
      g.document.activeElement.dispatchEvent(new g.ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await device.waitForFunction(
      () =>
        (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } } }).document.querySelector("#received-clipboard")
          .textContent === "pasted ✓ text",
      undefined,
      { timeout: 5000 },
    );

    // A leaves: control is free, and B can take it and drive the device.
    const t0 = Date.now();
    await a.close();
    await b.waitForSelector('#player[data-control="none"]', { timeout: 10_000 });
    t.diagnostic(`B saw control freed ${Date.now() - t0} ms after A closed its page`);
    assert.equal(await b.isDisabled("#control-toggle"), false);
    await takeControl(b);
    const { got: bGot, want } = await clickPicture(b, device, 0.25, 0.75);
    assert.ok(near(bGot, want), `B's click: got ${bGot}, want ${want}`);
  }),
);

test(
  "scale modes: 1:1 shows stream pixels at their size, scrolling where the player is smaller, and clicks still land; fit scales back",
  { timeout: 45_000 },
  (t) =>
    withPages(t, env(), async (pages) => {
      const {
        device,
        views: [viewer],
      } = await setup(pages, "ctl-scale", ["viewer"]);
      await viewer.setViewportSize({ width: 900, height: 600 });
      await takeControl(viewer);
      await sizesAgree(viewer, device);
      type Box = { clientWidth: number; scrollWidth: number; scrollLeft: number };
      const boxes = () =>
        viewer.evaluate(() => {
          const d = (globalThis as unknown as { document: { querySelector(s: string): Box & { videoWidth: number } } }).document;
          const video = d.querySelector("#video");
          const scroller = d.querySelector("#scroller");
          return { video: video.clientWidth, stream: video.videoWidth, scroller: scroller.clientWidth, scrolls: scroller.scrollWidth > scroller.clientWidth };
        });
      assert.equal(await viewer.getAttribute("#player", "data-scale"), "resize", "the default");
      const fit = await boxes();
      assert.ok(fit.video <= fit.scroller && !fit.scrolls, `fit: ${JSON.stringify(fit)}`);

      await viewer.selectOption("#scale", "native");
      await waitFor("1:1", async () => {
        const b = await boxes();
        return b.video === b.stream ? b : undefined;
      });
      // A player narrower than the stream (a loaded machine's encoder may have shrunk the stream, so narrow the window until it is).
      let native = await boxes();
      for (const width of [700, 560, 460, 360, 280]) {
        if (native.scroller < native.stream) break;
        await viewer.setViewportSize({ width, height: 600 });
        native = await waitFor("the player resized", async () => {
          const b = await boxes();
          return b.video === b.stream ? b : undefined;
        });
      }
      t.diagnostic(`1:1: a ${native.stream} px wide stream in a ${native.scroller} px player`);
      assert.ok(native.scroller < native.stream, `a player narrower than the stream: ${JSON.stringify(native)}`);
      assert.ok(native.scrolls, "the player scrolls to show the rest");
      // Scrolled to the far side, a click there lands on the stream pixel under it: near the top of
      // what the player shows, since in a player a few hundred pixels wide its own buttons lie over the rest.
      const shown = await viewer.evaluate(() => {
        const s = (
          globalThis as unknown as { document: { querySelector(s: string): Box & { clientHeight: number; getBoundingClientRect(): { top: number } } } }
        ).document.querySelector("#scroller");
        s.scrollLeft = s.scrollWidth;
        return { top: s.getBoundingClientRect().top, height: s.clientHeight };
      });
      const picture = await viewer.evaluate(viewerGeometry);
      const fy = (shown.top + 0.15 * Math.min(shown.height, picture.height) - picture.top) / picture.height;
      const { got, want } = await clickPicture(viewer, device, 0.9, fy);
      assert.ok(near(got, want), `1:1 click: got ${got}, want ${want}`);

      await viewer.selectOption("#scale", "fit");
      await waitFor("fit again", async () => {
        const b = await boxes();
        return b.video <= b.scroller && !b.scrolls;
      });
    }),
);

test(
  "hand-off: a viewer asks, the holder hands over (its keys let go on the device); asked back, the new holder keeps control; names as given",
  { timeout: 45_000 },
  (t) =>
    withPages(t, env(), async (pages) => {
      const {
        device,
        views: [a, b],
      } = await setup(pages, "ctl-handoff", ["viewerA", "viewerB"]);
      // A gives itself a name; B stays "Viewer 1a2b3c".
      await a.fill("#viewer-name", "Alice");
      await a.press("#viewer-name", "Enter");
      await takeControl(a);
      const [aId, bId] = [(await hook(a, "peerId")) as string, (await hook(b, "peerId")) as string];
      const label = (id: string) => (id === aId ? "Alice" : `Viewer ${id.replace(/-/g, "").slice(0, 6)}`);
      await b.waitForSelector('#player[data-control="other"]', { timeout: 5000 });
      await waitFor("B to read A's name", async () => (await b.textContent("#control-status")) === "Alice controls");
      // A holds a key down when it hands over: the device must not keep it pressed.
      await a.focus("#video");
      await a.keyboard.down("Shift");
      await linesAfter(device, 0, "A's Shift down", (ls) => ls.includes("kd,65505"));
      const mark = (await deviceLines(device)).length;

      await b.click("#control-toggle");
      await waitFor("B told it asked", async () => (await b.textContent("#control-note"))?.startsWith(`Asked ${label(aId)}`));
      await a.waitForSelector("#control-ask:not([hidden])", { timeout: 5000 });
      assert.equal(await a.textContent("#control-ask-text"), `${label(bId)} asks for control.`);
      await screenshot(a, "control-asked");
      await a.click("#control-hand-over");
      await b.waitForSelector('#player[data-control="self"]', { timeout: 5000 });
      await a.waitForSelector(`#player[data-control="other"][data-control-holder="${bId}"]`, { timeout: 5000 });
      assert.equal(await a.isHidden("#control-ask"), true);
      await linesAfter(device, mark, "every key let go as control moved", (ls) => ls.includes("kr"));
      await a.keyboard.up("Shift");

      // A asks back; B keeps control: A is told, and B still drives the device.
      await a.click("#control-toggle");
      await b.waitForSelector("#control-ask:not([hidden])", { timeout: 5000 });
      await b.click("#control-keep");
      await waitFor("A told B keeps control", async () => (await a.textContent("#control-note")) === `${label(bId)} keeps control.`);
      assert.equal(await b.getAttribute("#player", "data-control"), "self");
      const { got, want } = await clickPicture(b, device, 0.5, 0.5);
      assert.ok(near(got, want), `B's click: got ${got}, want ${want}`);
      t.diagnostic(`handed from ${label(aId)} to ${label(bId)}, then kept`);
    }),
);

test("a locked pointer sends relative moves (m2) with its buttons; unlocking goes back to absolute", { timeout: 45_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const {
      device,
      views: [viewer],
    } = await setup(pages, "ctl-lock", ["viewer"]);
    await takeControl(viewer);
    await sizesAgree(viewer, device);
    const mark = (await deviceLines(device)).length;
    // The click on the button leaves the mouse at the button's centre; the locked moves count from there.
    const b = (await viewer.locator("#pointer-lock").boundingBox())!;
    await viewer.click("#pointer-lock");
    await viewer.waitForSelector('#player[data-pointer-locked="true"]', { timeout: 5000 });
    const from = { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    const to = { x: from.x + 30, y: from.y - 20 };
    await viewer.mouse.move(to.x, to.y, { steps: 3 });
    await viewer.mouse.down();
    await viewer.mouse.up();
    const lines = await linesAfter(
      device,
      mark,
      "relative moves and a click",
      (ls) => ls.some((l) => /^m2,0,0,0,/.test(l)) && ls.some((l) => /^m2,-?\d+,-?\d+,1,/.test(l)),
    );
    const moves = lines.filter((l) => l.startsWith("m2,"));
    const dx = moves.reduce((n, l) => n + Number(l.split(",")[1]), 0);
    const dy = moves.reduce((n, l) => n + Number(l.split(",")[2]), 0);
    t.diagnostic(`locked: ${moves.length} m2 lines, moved ${dx},${dy}: ${moves.join(" ")}`);
    assert.ok(Math.abs(dx - 30) <= 1 && Math.abs(dy + 20) <= 1, "the moves add up to the mouse's");
    assert.ok(!lines.some((l) => l.startsWith("m,")), "no absolute lines while locked");
    await viewer.evaluate("document.exitPointerLock()");
    await viewer.waitForSelector('#player[data-pointer-locked="false"]', { timeout: 5000 });
    const { got, want } = await clickPicture(viewer, device, 0.3, 0.3);
    assert.ok(near(got, want), `absolute again: got ${got}, want ${want}`);
  }),
);

test("the device's audio reaches the viewer, and the controller's push-to-talk reaches the device", { timeout: 40_000 }, (t) =>
  withPages(t, env(), async (pages) => {
    const {
      device,
      views: [viewer],
    } = await setup(pages, "ctl-audio", ["viewer"]);
    // Chromium's fake microphone beeps about once a second: listen until a beep.
    const heard = await viewer.evaluate(measureAudio, { source: "video" as const, threshold: 0.01, timeoutMs: 5000 });
    t.diagnostic(`viewer: device audio peak RMS ${heard.peak.toFixed(3)} after ${heard.ms.toFixed(0)} ms (context ${heard.context})`);
    assert.ok(heard.peak > 0.01, `device audio is not silent at the viewer (${JSON.stringify(heard)})`);

    await takeControl(viewer);
    assert.equal(await viewer.isVisible("#talk"), true, "push-to-talk shows while controlling");
    const box = await viewer.locator("#talk").boundingBox();
    assert.ok(box);
    await viewer.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await viewer.mouse.down();
    await viewer.waitForSelector('#talk[data-state="talking"]', { timeout: 5000 });
    const talk = await device.evaluate(measureAudio, { source: "talkback" as const, threshold: 0.01, timeoutMs: 8000 });
    await viewer.mouse.up();
    await viewer.waitForSelector('#talk[data-state="muted"]', { timeout: 5000 });
    t.diagnostic(`device: talk-back peak RMS ${talk.peak.toFixed(3)} after ${talk.ms.toFixed(0)} ms (context ${talk.context})`);
    assert.ok(talk.peak > 0.01, `the viewer's microphone is heard on the device (${JSON.stringify(talk)})`);
  }),
);
