import type { Logger } from "../log.js";
import type { X11Desktop } from "./x11-desktop.js";

/** Least time between two resizes of a display: each one restarts the capture. */
export const RESIZE_INTERVAL_MS = 1000;

/** What the control holder may do to a desktop. */
export interface DesktopPermissions {
  /** Pointer, keys, touch and clipboard (--allow-input). */
  input: boolean;
  /** `r,WxH`: the display's size (--allow-resize). */
  resize: boolean;
}

/** Where frame-rate and bitrate requests go: the capture, which holds them to its limits. */
export type StreamSettings = (request: { fps?: number; bitrateKbps?: number }) => void;

/** What a desktop says back to its viewers: the answer to a `p,N` line. */
export type DesktopReply = (message: { type: "pong"; n: number }) => void;

/**
 * The control holder's lines for one desktop, in the server (`--source x11`)
 * and in the agent alike: `_arg_fps,N` and `vb,KBPS` set the stream's frame
 * rate and bitrate (within the server's limits, no restart); `r,WxH`
 * resizes the display, at most once a second and only the latest request
 * (a player being dragged asks many times); `p,N` is answered with a `pong`
 * (the holder's input round trip, whatever it may inject); everything else
 * is injected. Resizes and injection only when allowed.
 */
export class DesktopControl {
  private resizing = false;
  private pending: { width: number; height: number } | undefined;
  private closed = false;

  constructor(
    private readonly desktop: Pick<X11Desktop, "inject" | "resize">,
    private readonly allow: DesktopPermissions,
    private readonly log: Logger,
    private readonly settings: StreamSettings = () => {},
    private readonly reply: DesktopReply = () => {},
    private readonly intervalMs = RESIZE_INTERVAL_MS,
  ) {}

  /** True when the line was taken (injected, or a resize queued). */
  line(text: string): boolean {
    if (this.closed) return false;
    const setting = /^(_arg_fps|vb),(\d{1,7})$/.exec(text);
    if (setting) {
      const n = Number(setting[2]);
      this.settings(setting[1] === "vb" ? { bitrateKbps: n } : { fps: n });
      return true;
    }
    const ping = /^p,(\d{1,10})$/.exec(text);
    if (ping) {
      this.reply({ type: "pong", n: Number(ping[1]) });
      return true;
    }
    if (text.startsWith("r,")) {
      const m = /^r,(\d{1,5})x(\d{1,5})$/.exec(text);
      if (!this.allow.resize || !m) return false;
      this.resize(Number(m[1]), Number(m[2]));
      return true;
    }
    return this.allow.input && this.desktop.inject(text);
  }

  close(): void {
    this.closed = true;
    this.pending = undefined;
  }

  private resize(width: number, height: number): void {
    this.pending = { width, height };
    if (this.resizing) return;
    this.resizing = true;
    void this.drain().finally(() => (this.resizing = false));
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.closed) {
      const want = this.pending;
      this.pending = undefined;
      const got = await this.desktop.resize(want.width, want.height);
      if (!got) this.log.info("the display did not resize", { ...want });
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }
}
