/**
 * Glass-to-glass delay, as the benchmarks measure it: a full-screen window of
 * ours on an X display changes colour, the time of each change is taken right
 * before the X request, and the viewer page notes when a presented frame
 * shows the new colour (requestVideoFrameCallback for WebRTC, each painted
 * canvas frame for the fallback). Both clocks are this machine's.
 */
import type { Page } from "playwright-core";
import x11 from "x11";
import type { XClient } from "x11";
import { waitFor } from "../e2e/harness.js";

const PALETTE = [0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0xff00ff, 0x00ffff];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The options every glass-to-glass bench takes, as parseArgs gives them. */
export interface GlassArgs {
  seconds: string;
  flips: string;
  size: string;
}

/** Checks `--seconds`, `--flips` and `--size WxH`; throws naming the option that is out of range. */
export function glassArgs(values: GlassArgs): { seconds: number; flips: number; width: number; height: number } {
  const seconds = Number(values.seconds);
  const flips = Number(values.flips);
  const [width, height] = values.size.split("x").map(Number);
  if (!(seconds >= 3 && seconds <= 120)) throw new Error("--seconds: expected 3-120");
  if (!(flips >= 5 && flips <= 200)) throw new Error("--flips: expected 5-200");
  if (!(width >= 320 && height >= 240 && width <= 3840 && height <= 2160)) throw new Error("--size: expected WxH within 320x240-3840x2160");
  return { seconds, flips, width, height };
}

/** The value below which `share` of `xs` lie (0.5: the median). */
export function percentile(xs: number[], share: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * share))] : NaN;
}

/** A full-screen window of our own whose colour we set, timing each change right before its X request. */
export class ColourWindow {
  private constructor(
    private readonly X: XClient,
    private readonly wid: number,
  ) {}

  static open(display: string, width: number, height: number): Promise<ColourWindow> {
    return new Promise((resolve, reject) => {
      const X = x11.createClient({ display, shm: false }, (err, d) => {
        if (err) return reject(err);
        const root = d.screen[0].root;
        const wid = X.AllocID();
        // Override-redirect: no window manager is asked, the window is where it says.
        X.CreateWindow(wid, root, 0, 0, width, height, 0, 0, 0, 0, { backgroundPixel: 0, overrideRedirect: 1 });
        X.MapWindow(wid);
        X.sync().then(
          () => resolve(new ColourWindow(X, wid)),
          (e: Error) => reject(e),
        );
      });
      X.on("error", () => {});
    });
  }

  /** Paints the window `rgb` and returns the time (ms, Date.now() clock) the request left. */
  async paint(rgb: number): Promise<number> {
    this.X.ChangeWindowAttributes(this.wid, { backgroundPixel: rgb });
    // ClearArea(window, x, y, width 0, height 0 = to the edges, exposures): repaints with the new background.
    (this.X as unknown as { ClearArea(w: number, x: number, y: number, width: number, height: number, exposures: number): void }).ClearArea(
      this.wid,
      0,
      0,
      0,
      0,
      0,
    );
    const at = performance.timeOrigin + performance.now();
    // A round trip: the server has drawn it when the reply comes.
    await this.X.sync();
    return at;
  }

  close(): void {
    this.X.terminate();
  }
}

/** In the page: records when each presented frame's centre colour changes (ms, Date.now() clock). */
export function watchColours(selector: string): void {
  type Drawable = { videoWidth?: number; videoHeight?: number; width: number; height: number; requestVideoFrameCallback?: (cb: () => void) => void };
  const g = globalThis as unknown as {
    __seen: Array<{ rgb: number[]; at: number }>;
    document: { querySelector(s: string): Drawable; createElement(t: string): unknown };
    requestAnimationFrame(cb: () => void): void;
    performance: { timeOrigin: number; now(): number };
  };
  g.__seen = [];
  const canvas = g.document.createElement("canvas") as {
    width: number;
    height: number;
    getContext(
      k: string,
      o?: object,
    ): {
      drawImage(e: unknown, x: number, y: number, w: number, h: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
    };
  };
  canvas.width = 1;
  canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let last = "";
  const sample = () => {
    const el = g.document.querySelector(selector);
    const w = el.videoWidth ?? el.width;
    const h = el.videoHeight ?? el.height;
    if (w && h) {
      ctx.drawImage(el, -Math.floor(w / 2), -Math.floor(h / 2), w, h);
      const d = ctx.getImageData(0, 0, 1, 1).data;
      const key = `${d[0] >> 5},${d[1] >> 5},${d[2] >> 5}`;
      if (key !== last) {
        last = key;
        g.__seen.push({ rgb: [d[0], d[1], d[2]], at: g.performance.timeOrigin + g.performance.now() });
      }
    }
    const video = el;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(sample);
    else g.requestAnimationFrame(sample);
  };
  sample();
}

const seenSince = (page: Page, from: number) =>
  page.evaluate((n) => (globalThis as unknown as { __seen: Array<{ rgb: number[]; at: number }> }).__seen.slice(n), from);
const near = (rgb: number[], want: number) => [16, 8, 0].every((shift, i) => Math.abs(rgb[i] - ((want >> shift) & 0xff)) <= 48);

/**
 * Flips the window's colour `flips` times; each flip's delay until the page
 * (which runs watchColours) presents it. `timeoutMs` bounds each flip: past
 * it the run fails, or with `onMissed` that flip is reported and skipped.
 */
export async function glassToGlass(page: Page, win: ColourWindow, flips: number, timeoutMs = 10_000, onMissed?: () => void): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < flips; i++) {
    const colour = PALETTE[i % PALETTE.length];
    const mark = (await seenSince(page, 0)).length;
    const paintedAt = await win.paint(colour);
    try {
      const seen = await waitFor(`colour ${colour.toString(16)} in the viewer`, async () => (await seenSince(page, mark)).find((s) => near(s.rgb, colour)), {
        timeoutMs,
        intervalMs: 5,
      });
      delays.push(seen.at - paintedAt);
    } catch (err) {
      // With `onMissed`, a flip the viewer never shows is counted and the run goes on.
      if (!onMissed) throw err;
      onMissed();
    }
    await sleep(150 + Math.random() * 150);
  }
  return delays;
}
