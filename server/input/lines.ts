/**
 * The input protocol's text lines (Selkies-compatible), parsed and checked
 * where they enter. Pure: no I/O, no clock. Valid lines are forwarded to the
 * device unchanged (but for a pointer line's sequence number, see
 * pointer-order.ts); this module only decides whether a line may pass.
 */

/** Longest input line accepted, in bytes (a clipboard write of ~48 KiB of text). */
export const MAX_LINE_BYTES = 65_536;
/** Largest stream dimension accepted when the device has not told its size. */
export const MAX_DIMENSION = 16_384;
/** Largest decoded clipboard text, bytes. */
export const MAX_CLIPBOARD_BYTES = 48 * 1024;

/** Kinds of input lines, for counting. */
export type InputKind = "pointer" | "key" | "release_all" | "clipboard" | "resize" | "touch" | "settings" | "ping";

/** Why a line was refused; bounded, so it can be a metric label. */
export type InputRejection = "too_long" | "unknown_command" | "field_count" | "not_a_number" | "out_of_range" | "bad_base64" | "bad_phase";

/** The verdict on one line. */
export type InputVerdict = { ok: true; kind: InputKind } | { ok: false; reason: InputRejection };

/** The stream's size in pixels, when the device has reported it. */
export interface StreamSize {
  width: number;
  height: number;
}

import { MAX_PARTS, PART_CHARS } from "../protocol/clipboard-image.js";

const INT = /^-?\d{1,10}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TOUCH_PHASES = new Set(["start", "move", "end", "cancel"]);
/** Largest frame rate and video bitrate (kbit/s) a viewer may ask for; the device holds them to its own limits. */
export const MAX_FPS = 240;
export const MAX_BITRATE_KBPS = 1_000_000;
/** Largest relative move in one `m2` line, pixels. */
export const MAX_RELATIVE = 4096;
/** Largest echo number in a `p` line (fits a signed 32-bit integer). */
export const MAX_PING = 2 ** 31 - 1;
/** X11 keysyms are 29-bit values; Unicode keysyms reach 0x0110ffff. */
const MAX_KEYSYM = 0x1fffffff;

function int(field: string): number | undefined {
  return INT.test(field) ? Number(field) : undefined;
}

const reject = (reason: InputRejection): InputVerdict => ({ ok: false, reason });

/** Checks a coordinate pair against the stream size (or the generic bound). */
function inStream(x: number, y: number, size: StreamSize | undefined): boolean {
  const w = size?.width ?? MAX_DIMENSION;
  const h = size?.height ?? MAX_DIMENSION;
  return x >= 0 && y >= 0 && x < w && y < h;
}

/**
 * Validates one input line:
 * `m,x,y,buttonMask,scroll[,seq]` · `m2,dx,dy,buttonMask,scroll` (relative) · `kd,keysym` · `ku,keysym` · `kr` · `cw,<base64>` ·
 * `ci,part,parts,<base64>` (a PNG for the clipboard, in parts: protocol/clipboard-image.ts) ·
 * `r,WxH` · `t,phase,id,x,y` · `_arg_fps,N` · `vb,KBPS` (Selkies' frame-rate and video-bitrate requests) ·
 * `p,N` (asks the device to answer `{"type":"pong","n":N}`: the input round trip).
 */
export function checkInputLine(line: string, size?: StreamSize): InputVerdict {
  if (line.length > MAX_LINE_BYTES || Buffer.byteLength(line) > MAX_LINE_BYTES) return reject("too_long");
  const fields = line.split(",");
  switch (fields[0]) {
    case "m": {
      if (fields.length !== 5 && fields.length !== 6) return reject("field_count");
      const [x, y, mask, scroll] = fields.slice(1, 5).map(int);
      const seq = fields.length === 6 ? int(fields[5]) : 0;
      if (x === undefined || y === undefined || mask === undefined || scroll === undefined || seq === undefined) return reject("not_a_number");
      if (!inStream(x, y, size) || mask < 0 || mask > 0xff || scroll < -1000 || scroll > 1000 || seq < 0) return reject("out_of_range");
      return { ok: true, kind: "pointer" };
    }
    case "m2": {
      // Relative motion (a locked pointer): dx, dy in pixels, then buttons and wheel as in `m`.
      if (fields.length !== 5) return reject("field_count");
      const [dx, dy, mask, scroll] = fields.slice(1).map(int);
      if (dx === undefined || dy === undefined || mask === undefined || scroll === undefined) return reject("not_a_number");
      if (Math.abs(dx) > MAX_RELATIVE || Math.abs(dy) > MAX_RELATIVE || mask < 0 || mask > 0xff || scroll < -1000 || scroll > 1000)
        return reject("out_of_range");
      return { ok: true, kind: "pointer" };
    }
    case "kd":
    case "ku": {
      if (fields.length !== 2) return reject("field_count");
      const keysym = int(fields[1]);
      if (keysym === undefined) return reject("not_a_number");
      if (keysym <= 0 || keysym > MAX_KEYSYM) return reject("out_of_range");
      return { ok: true, kind: "key" };
    }
    case "kr":
      return fields.length === 1 ? { ok: true, kind: "release_all" } : reject("field_count");
    case "cw": {
      if (fields.length !== 2) return reject("field_count");
      const data = fields[1];
      if (data.length % 4 !== 0 || !BASE64.test(data)) return reject("bad_base64");
      if ((data.length / 4) * 3 > MAX_CLIPBOARD_BYTES + 2) return reject("too_long");
      return { ok: true, kind: "clipboard" };
    }
    case "ci": {
      if (fields.length !== 4) return reject("field_count");
      const [part, parts] = [int(fields[1]), int(fields[2])];
      if (part === undefined || parts === undefined) return reject("not_a_number");
      if (part < 1 || part > parts || parts > MAX_PARTS) return reject("out_of_range");
      const data = fields[3];
      if (data.length === 0 || data.length % 4 !== 0 || !BASE64.test(data)) return reject("bad_base64");
      if (data.length > PART_CHARS) return reject("too_long");
      return { ok: true, kind: "clipboard" };
    }
    case "r": {
      if (fields.length !== 2) return reject("field_count");
      const m = /^(\d{1,5})x(\d{1,5})$/.exec(fields[1]);
      if (!m) return reject("not_a_number");
      const w = Number(m[1]);
      const h = Number(m[2]);
      if (w < 1 || h < 1 || w > MAX_DIMENSION || h > MAX_DIMENSION) return reject("out_of_range");
      return { ok: true, kind: "resize" };
    }
    case "t": {
      if (fields.length !== 5) return reject("field_count");
      if (!TOUCH_PHASES.has(fields[1])) return reject("bad_phase");
      const [id, x, y] = fields.slice(2).map(int);
      if (id === undefined || x === undefined || y === undefined) return reject("not_a_number");
      if (id < 0 || id > 255 || !inStream(x, y, size)) return reject("out_of_range");
      return { ok: true, kind: "touch" };
    }
    case "_arg_fps":
    case "vb": {
      if (fields.length !== 2) return reject("field_count");
      const n = int(fields[1]);
      if (n === undefined) return reject("not_a_number");
      if (n < 1 || n > (fields[0] === "vb" ? MAX_BITRATE_KBPS : MAX_FPS)) return reject("out_of_range");
      return { ok: true, kind: "settings" };
    }
    case "p": {
      if (fields.length !== 2) return reject("field_count");
      const n = int(fields[1]);
      if (n === undefined) return reject("not_a_number");
      if (n < 0 || n > MAX_PING) return reject("out_of_range");
      return { ok: true, kind: "ping" };
    }
    default:
      return reject("unknown_command");
  }
}
