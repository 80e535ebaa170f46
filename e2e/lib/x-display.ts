/** What e2e tests of host mode and the agent do with an X display and with a viewer's picture of it. */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import type { Page } from "playwright-core";
import { waitFor } from "../harness.js";
import type { TestDisplay } from "./xvfb.js";

/**
 * An X client run to its end, at most X_CLIENT_TIMEOUT_MS: a display that stops answering fails
 * the test that asked, where a wait without end would block the test process's event loop and
 * with it every test timeout.
 */
const X_CLIENT_TIMEOUT_MS = 10_000;
function xClient(display: TestDisplay, command: string, args: string[]): string {
  const r = spawnSync(command, args, { env: display.env, encoding: "utf8", timeout: X_CLIENT_TIMEOUT_MS });
  if (r.error) throw new Error(`${command} on ${display.display}: ${r.error.message}`);
  assert.equal(r.status, 0, `${command}: ${r.stderr}`);
  return r.stdout;
}

/** Paints the root window one colour (no window manager, nothing covers it). */
export function paint(display: TestDisplay, colour: string): void {
  xClient(display, "xsetroot", ["-solid", colour]);
}

/** The display's root window size as xwininfo reports it, "WxH". */
export function rootSize(display: TestDisplay): string {
  const out = xClient(display, "xwininfo", ["-root"]);
  return `${/Width: (\d+)/.exec(out)?.[1]}x${/Height: (\d+)/.exec(out)?.[1]}`;
}

/** In the page: the RGB of the picture's centre, from the <video> or the fallback's canvas, or null before a picture. */
export function centreColour(selector: string): [number, number, number] | null {
  type Drawable = { videoWidth?: number; videoHeight?: number; width: number; height: number };
  const doc = (globalThis as unknown as { document: { querySelector(s: string): Drawable; createElement(t: string): unknown } }).document;
  const el = doc.querySelector(selector);
  const w = el.videoWidth ?? el.width;
  const h = el.videoHeight ?? el.height;
  if (!w || !h) return null;
  const c = doc.createElement("canvas") as {
    width: number;
    height: number;
    getContext(k: string): {
      drawImage(e: unknown, x: number, y: number, w: number, h: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
    };
  };
  c.width = 1;
  c.height = 1;
  const ctx = c.getContext("2d");
  ctx.drawImage(el, -Math.floor(w / 2), -Math.floor(h / 2), w, h);
  const d = ctx.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2]];
}

/** Waits until the picture's centre is close to `rgb` (codecs shift colours a little); returns how long that took, ms. */
export async function showsColour(page: Page, selector: string, rgb: readonly number[], what: string, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    what,
    async () => {
      const c = await page.evaluate(centreColour, selector);
      return c !== null && c.every((v, i) => Math.abs(v - rgb[i]) <= 40);
    },
    { timeoutMs, intervalMs: 20 },
  );
  return Date.now() - t0;
}

/**
 * In the page: where the <video>'s picture is drawn (letterboxed inside the
 * element) and its scale in the device's pixels (`size`, the display's): the
 * video itself may be a smaller simulcast layer of the same picture.
 */
export function pictureBox(size: { width: number; height: number }): { left: number; top: number; scale: number } {
  type Video = { getBoundingClientRect(): { left: number; top: number; width: number; height: number } };
  const v = (globalThis as unknown as { document: { querySelector(s: string): Video } }).document.querySelector("#video");
  const r = v.getBoundingClientRect();
  const scale = Math.min(r.width / size.width, r.height / size.height);
  return { left: r.left + (r.width - size.width * scale) / 2, top: r.top + (r.height - size.height * scale) / 2, scale };
}

/**
 * In the page: where the drawn device pointer's hotspot is, in the device's
 * pixels (`size`) of the picture (from `#remote-cursor`'s box, its
 * `data-hotspot-*` and the picture's box), or null while it is hidden.
 */
export function drawnPointer(size: { width: number; height: number }): { x: number; y: number } | null {
  type El = { hidden: boolean; dataset: Record<string, string | undefined>; getBoundingClientRect(): { left: number; top: number } };
  const c = (globalThis as unknown as { document: { querySelector(s: string): El | null } }).document.querySelector("#remote-cursor");
  if (!c || c.hidden) return null;
  // pictureBox, inlined: a page function cannot reach the module's other functions.
  type Video = { getBoundingClientRect(): { left: number; top: number; width: number; height: number } };
  const v = (globalThis as unknown as { document: { querySelector(s: string): Video } }).document.querySelector("#video");
  const r = v.getBoundingClientRect();
  const scale = Math.min(r.width / size.width, r.height / size.height);
  const left = r.left + (r.width - size.width * scale) / 2;
  const top = r.top + (r.height - size.height * scale) / 2;
  const box = c.getBoundingClientRect();
  return {
    x: (box.left - left) / scale + Number(c.dataset.hotspotX ?? 0),
    y: (box.top - top) / scale + Number(c.dataset.hotspotY ?? 0),
  };
}

/** One event X delivered on the root window. */
export interface XEventRecord {
  type: string;
  x?: number;
  y?: number;
  button?: number;
  keysym?: string;
}

/** `xev -root`: the button and key events X delivers on a display's root window, parsed as they come. */
export class EventLog {
  readonly events: XEventRecord[] = [];
  private readonly child: ChildProcess;
  private partial = "";

  constructor(env: NodeJS.ProcessEnv) {
    // xev writes through stdio, which a pipe makes block-buffered: stdbuf makes it line-buffered, so each event comes as it happens.
    this.child = spawn("stdbuf", ["-oL", "xev", "-root", "-event", "button", "-event", "keyboard"], { env, stdio: ["ignore", "pipe", "ignore"] });
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (this.partial + chunk).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) this.parse(line);
    });
  }

  /**
   * xev prints a blank line, then an event's lines ("ButtonPress event, …",
   * then its coordinates, button or keysym): a record starts with its first
   * line and fills in as the rest come, so the latest event is never waiting
   * for the next one.
   */
  private parse(line: string): void {
    const type = /^(\w+) event,/.exec(line)?.[1];
    if (type) {
      this.events.push({ type });
      return;
    }
    const e = this.events.at(-1);
    if (!e) return;
    const at = /\((-?\d+),(-?\d+)\), root:/.exec(line);
    if (at) [e.x, e.y] = [Number(at[1]), Number(at[2])];
    const button = /button (\d+),/.exec(line);
    if (button) e.button = Number(button[1]);
    const keysym = /keysym 0x[0-9a-f]+, (\w+)\)/.exec(line);
    if (keysym) e.keysym = keysym[1];
  }

  close(): void {
    this.child.kill("SIGKILL");
  }
}
