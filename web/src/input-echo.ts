import { pingLine } from "./input-lines.js";

/** How often the holder measures its input round trip, ms. */
const INTERVAL_MS = 2000;
/** An answer later than this no longer counts (the next ping goes on). */
const GIVE_UP_MS = 10_000;
/** The figure is the median of this many latest round trips. */
const KEPT = 5;

/**
 * The input round trip while this viewer controls a device: a `p,N` line on
 * the reliable `input` lane every two seconds, answered by the device with
 * `{"type":"pong","n":N}` through the server. The time between is what a key
 * press takes to reach the device and its reply to come back, the part of
 * "how laggy does it feel" that the video's playout delay does not show.
 * Devices that do not answer leave the figure unknown.
 */
export class InputEcho {
  private timer: number | undefined;
  /** Pongs go to every viewer of the device; starting at a random number keeps viewers' numbers apart. */
  private next = Math.floor(Math.random() * 1e9);
  private readonly sent = new Map<number, number>();
  private readonly recent: number[] = [];

  constructor(
    /** Sends a line on the reliable lane; false when it cannot. */
    private readonly send: (line: string) => boolean,
    /** The figure changed (undefined: not measuring, or no answer yet). */
    private readonly changed: (ms: number | undefined) => void,
  ) {}

  /** The median of the latest round trips, ms; undefined before the first answer. */
  get ms(): number | undefined {
    if (this.recent.length === 0) return undefined;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** Measures while on (this viewer holds control and can reach the device); off forgets the figure. */
  setActive(on: boolean): void {
    if (on === (this.timer !== undefined)) return;
    if (on) {
      this.timer = window.setInterval(() => this.ping(), INTERVAL_MS);
      this.ping();
      return;
    }
    clearInterval(this.timer);
    this.timer = undefined;
    this.sent.clear();
    this.recent.length = 0;
    this.changed(undefined);
  }

  /** A `pong` from the device: counted when it answers one of ours. */
  answer(n: unknown): void {
    const at = typeof n === "number" ? this.sent.get(n) : undefined;
    if (at === undefined) return;
    this.sent.delete(n as number);
    this.recent.push(performance.now() - at);
    if (this.recent.length > KEPT) this.recent.shift();
    this.changed(this.ms);
  }

  private ping(): void {
    const now = performance.now();
    for (const [n, at] of this.sent) if (now - at > GIVE_UP_MS) this.sent.delete(n);
    const n = (this.next = (this.next + 1) % 2 ** 31);
    if (this.send(pingLine(n))) this.sent.set(n, now);
  }
}
