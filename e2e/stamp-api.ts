/**
 * What the bench-only stamp page script (e2e/pages/stamp.ts) exposes as
 * `window.tesseraStamp`; shared by the page and bench/latency.ts (no DOM types).
 */

/** What a watcher has read since it started or was last reset. */
export interface StampReadings {
  /** now − stamp of each new frame read, ms (negative for a frame shown before it was drawn). */
  delays: number[];
  /** Frames with a new stamp. */
  frames: number;
  /** Frames whose two copies of the stamp disagreed (or read as a delay over 10 s either way). */
  unreadable: number;
  /** When the first frame was read (ms, the page's Date.now() clock), never reset. */
  firstAt: number | null;
  /** From the page's navigation to that first frame, ms. */
  pageToFirstFrame: number | null;
  /** The width of the last frame read. */
  width: number;
}

export interface StampApi {
  /** Makes the page's getUserMedia return the stamped canvas (width × height) for video. */
  replaceCamera(width: number, height: number): void;
  /** Reads the stamp off every frame the element (a <video> or <canvas>) shows; waits for the element to exist. */
  watch(selector: string): void;
  /**
   * A direct connection between two pages, with candidates in the descriptions (no trickling):
   * `offer` makes the sending side (the stamped canvas, VP8) and returns its offer, `answer` the
   * receiving side in another page (which watches what arrives), `accept` takes that answer.
   */
  offer(width: number, height: number): Promise<string>;
  answer(offer: string): Promise<string>;
  accept(answer: string): Promise<void>;
  /** The readings so far; with `reset`, starts a new window. */
  readings(reset: boolean): StampReadings;
}
