/**
 * The `input` data channel's wire format as the web app speaks it: text
 * lines from viewers (server/input/lines.ts is the grammar the server
 * enforces) and JSON messages from devices. Pure: no DOM, so
 * e2e/input-lines.test.ts runs it under node.
 */
import type { DeviceMessage, DeviceMessageType } from "../../server/protocol/messages.js";
import { base64Bytes } from "../../server/protocol/clipboard-image.js";

/** Protocol button bits: left, middle, right. */
export const BUTTON_LEFT = 1;
export const BUTTON_MIDDLE = 2;
export const BUTTON_RIGHT = 4;
/** Wheel steps the server accepts in one line. */
export const MAX_SCROLL = 1000;
/** Touch ids the server accepts: 0..255. */
export const MAX_TOUCH_ID = 255;

/** Touch phases of `t` lines. */
export type TouchPhase = "start" | "move" | "end" | "cancel";

/** `m,x,y,buttonMask,scroll`. */
export function pointerLine(x: number, y: number, buttons: number, scroll = 0): string {
  return `m,${x},${y},${buttons},${Math.max(-MAX_SCROLL, Math.min(MAX_SCROLL, scroll))}`;
}

/** Largest relative move in one `m2` line (server/input/lines.ts MAX_RELATIVE). */
const MAX_RELATIVE = 4096;

/** `m2,dx,dy,buttonMask,scroll`: a relative move of a locked pointer. */
export function relativeLine(dx: number, dy: number, buttons: number, scroll = 0): string {
  const clamp = (v: number, max: number) => Math.max(-max, Math.min(max, v));
  return `m2,${clamp(dx, MAX_RELATIVE)},${clamp(dy, MAX_RELATIVE)},${buttons},${clamp(scroll, MAX_SCROLL)}`;
}

/** `kd,keysym` or `ku,keysym`. */
export function keyLine(down: boolean, keysym: number): string {
  return `${down ? "kd" : "ku"},${keysym}`;
}

/** `kr`: release every key. */
export const RELEASE_ALL = "kr";

/** `t,phase,id,x,y`. */
export function touchLine(phase: TouchPhase, id: number, x: number, y: number): string {
  return `t,${phase},${id},${x},${y}`;
}

/** Standard base64 of some bytes. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** `cw,<base64 of the UTF-8 text>`. */
export function clipboardLine(text: string): string {
  return `cw,${toBase64(new TextEncoder().encode(text))}`;
}

/** `p,N`: asks the device to answer `{"type":"pong","n":N}`. */
export function pingLine(n: number): string {
  return `p,${n}`;
}

/** The N of a `p,N` line; undefined for any other line. */
export function pingNumber(line: string): number | undefined {
  const m = /^p,(\d{1,10})$/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** `r,WxH`. */
export function resizeLine(width: number, height: number): string {
  return `r,${width}x${height}`;
}

/**
 * DOM MouseEvent.buttons (1 primary, 2 secondary, 4 auxiliary) → protocol
 * mask (bit 0 left, bit 1 middle, bit 2 right); the back/forward bits pass as
 * bits 3 and 4.
 */
export function buttonMask(domButtons: number): number {
  let mask = 0;
  if (domButtons & 1) mask |= BUTTON_LEFT;
  if (domButtons & 4) mask |= BUTTON_MIDDLE;
  if (domButtons & 2) mask |= BUTTON_RIGHT;
  return mask | (domButtons & 0x18);
}

/** Pixels of wheel delta per step (Chromium reports 100 px per notch; Firefox 3 lines). */
const PIXELS_PER_STEP = 100;
const LINES_PER_STEP = 3;
const STEPS_PER_PAGE = 10;

/**
 * Turns WheelEvent deltas into whole wheel steps (negative = up), keeping the
 * remainder so a touchpad's small deltas add up instead of vanishing.
 */
export class WheelSteps {
  private pending = 0;

  /** Adds one event's deltaY (in `deltaMode` units: 0 pixel, 1 line, 2 page); returns the whole steps to send now. */
  add(deltaY: number, deltaMode: number): number {
    const steps = deltaMode === 1 ? deltaY / LINES_PER_STEP : deltaMode === 2 ? deltaY * STEPS_PER_PAGE : deltaY / PIXELS_PER_STEP;
    // Turning the wheel the other way starts afresh: a leftover must not swallow the first notch back.
    if (steps * this.pending < 0) this.pending = 0;
    this.pending += steps;
    const whole = Math.trunc(this.pending);
    this.pending -= whole;
    return Math.max(-MAX_SCROLL, Math.min(MAX_SCROLL, whole));
  }

  reset(): void {
    this.pending = 0;
  }
}

/**
 * Maps browser Touch.identifier values (arbitrary integers) to protocol
 * touch ids 0..255: each new touch takes the smallest free id.
 */
export class TouchIds {
  private readonly ids = new Map<number, number>();

  /** The id for a new touch; undefined when 256 touches are down. */
  start(identifier: number): number | undefined {
    const existing = this.ids.get(identifier);
    if (existing !== undefined) return existing;
    const used = new Set(this.ids.values());
    for (let id = 0; id <= MAX_TOUCH_ID; id++) {
      if (!used.has(id)) {
        this.ids.set(identifier, id);
        return id;
      }
    }
    return undefined;
  }

  /** The id of a touch that is down, if it is. */
  get(identifier: number): number | undefined {
    return this.ids.get(identifier);
  }

  /** Ends a touch; returns its id. */
  end(identifier: number): number | undefined {
    const id = this.ids.get(identifier);
    this.ids.delete(identifier);
    return id;
  }

  /** Every touch that is down, as [identifier, id]. */
  active(): [number, number][] {
    return [...this.ids.entries()];
  }

  clear(): void {
    this.ids.clear();
  }
}

// ---- the device's side -------------------------------------------------------

/** A parsed viewer line, as the device page shows it. */
export type InputLine =
  | { kind: "pointer"; x: number; y: number; buttons: number; scroll: number }
  | { kind: "key"; down: boolean; keysym: number }
  | { kind: "release_all" }
  | { kind: "clipboard"; text: string }
  | { kind: "clipboard_image"; part: number; parts: number }
  | { kind: "relative"; dx: number; dy: number; buttons: number; scroll: number }
  | { kind: "resize"; width: number; height: number }
  | { kind: "touch"; phase: TouchPhase; id: number; x: number; y: number };

const PHASES: ReadonlySet<string> = new Set(["start", "move", "end", "cancel"]);

/** Parses a line the server forwarded (it has validated it); undefined for anything else. */
export function parseInputLine(line: string): InputLine | undefined {
  const f = line.split(",");
  const n = f.slice(1).map(Number);
  switch (f[0]) {
    case "m":
      return f.length === 5 && n.every(Number.isInteger) ? { kind: "pointer", x: n[0], y: n[1], buttons: n[2], scroll: n[3] } : undefined;
    case "m2":
      return f.length === 5 && n.every(Number.isInteger) ? { kind: "relative", dx: n[0], dy: n[1], buttons: n[2], scroll: n[3] } : undefined;
    case "kd":
    case "ku":
      return f.length === 2 && Number.isInteger(n[0]) ? { kind: "key", down: f[0] === "kd", keysym: n[0] } : undefined;
    case "kr":
      return f.length === 1 ? { kind: "release_all" } : undefined;
    case "cw": {
      const text = f.length === 2 ? decodeClipboard(f[1]) : undefined;
      return text === undefined ? undefined : { kind: "clipboard", text };
    }
    case "ci":
      return f.length === 4 && Number.isInteger(n[0]) && Number.isInteger(n[1]) ? { kind: "clipboard_image", part: n[0], parts: n[1] } : undefined;
    case "r": {
      const m = f.length === 2 ? /^(\d+)x(\d+)$/.exec(f[1]) : null;
      return m ? { kind: "resize", width: Number(m[1]), height: Number(m[2]) } : undefined;
    }
    case "t": {
      const [id, x, y] = f.slice(2).map(Number);
      if (f.length !== 5 || !PHASES.has(f[1]) || ![id, x, y].every(Number.isInteger)) return undefined;
      return { kind: "touch", phase: f[1] as TouchPhase, id, x, y };
    }
    default:
      return undefined;
  }
}

/** The text of a `cw` payload (base64 of UTF-8); undefined when it is not valid. */
export function decodeClipboard(base64: string): string | undefined {
  const bytes = base64Bytes(base64);
  if (!bytes) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

const DEVICE_TYPES: ReadonlySet<string> = new Set<DeviceMessageType>(["cursor", "clipboard", "state", "resolution", "pong"]);

/** A device → viewers message from its JSON text; undefined when it is not one. */
export function parseDeviceMessage(text: string): DeviceMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === "string" && DEVICE_TYPES.has(type) ? (value as DeviceMessage) : undefined;
}
