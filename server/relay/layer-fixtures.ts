/**
 * Simulcast layers for the LayerFollower's tests: VP8 frames with temporal
 * layers fed at a chosen bitrate on the caller's clock, and a viewer's
 * DownTrack with a follower that chooses only when the test asks.
 */
import { DownTrack, type DownSink } from "./down-track.js";
import { LayerFollower, type FollowerOptions, type LayerReport } from "./layer-follower.js";
import type { ViewerWants } from "./layer-select.js";
import { nullObserver, type RelayObserver } from "./observer.js";
import { UpTrack } from "./up-track.js";

export const VP8 = { kind: "video" as const, mimeType: "video/vp8", clockRate: 90000 };
export const QS = { width: 320, height: 180 };
export const HS = { width: 640, height: 360 };
export const FS = { width: 1280, height: 720 };

/** A viewer's DownTrack on `source` (writing to `sink`), and a LayerFollower (telling `report`, tracing to `options.log`) for it that chooses only when the test calls check() or estimated(). */
export function following(
  source: UpTrack,
  wants: () => ViewerWants,
  sink: DownSink = { send: () => {} },
  observer: RelayObserver = nullObserver,
  report: (r: LayerReport) => void = () => {},
  options: Omit<FollowerOptions, "intervalMs"> = {},
): { down: DownTrack; follower: LayerFollower } {
  const down = new DownTrack(VP8, sink);
  down.setSource(source);
  return { down, follower: new LayerFollower(down, wants, observer, report, { ...options, intervalMs: 1e9 }) };
}

/** A VP8 frame's first packet: 15-bit picture ID, TL0PICIDX, TID; a keyframe of `size` when given. */
export function frame(pid: number, tid: number, bytes: number, size?: { width: number; height: number }): Buffer {
  const head = Buffer.from([0x90, 0xe0, 0x80 | (pid >> 8), pid & 0xff, 0, tid << 6]);
  const body = Buffer.alloc(Math.max(12, bytes));
  body[0] = 1; // a delta frame
  if (size) {
    body[0] = 0x10;
    body.set([0x9d, 0x01, 0x2a], 3);
    body.writeUInt16LE(size.width, 6);
    body.writeUInt16LE(size.height, 8);
  }
  return Buffer.concat([head, body]);
}

/** Feeds `up` 30 frames/s in L1T3 (TIDs 0,2,1,2; base frames twice the bytes) at `bps`, from `t0` for `ms`, one packet per frame. */
export function feed(up: UpTrack, state: { seq: number; pid: number }, bps: number, t0: number, ms: number, size: { width: number; height: number }): void {
  const perGroup = bps / 8 / 7.5; // bytes per 4 frames
  for (let t = t0; t < t0 + ms; t += 1000 / 30) {
    const tid = [0, 2, 1, 2][state.pid % 4];
    const bytes = tid === 0 ? (perGroup * 2) / 5 : perGroup / 5;
    up.push(state.seq++ & 0xffff, state.pid * 3000, true, frame(state.pid & 0x7fff, tid, bytes, state.pid % 30 === 0 ? size : undefined), t);
    state.pid++;
  }
}

/** Three layers, fed at 150 kb/s, 500 kb/s and 2 Mb/s up to the time `until` is given, ms. */
export function threeLayers() {
  const [q, h, f] = ["q", "h", "f"].map((id) => new UpTrack({ id, codec: VP8, requestKeyframe: () => {} }));
  for (const t of [q, h, f]) t.setLayers([q, h, f]);
  const states = [q, h, f].map(() => ({ seq: 1, pid: 0 }));
  let fed = 0;
  const until = (ms: number) => {
    feed(q, states[0], 150_000, fed, ms - fed, QS);
    feed(h, states[1], 500_000, fed, ms - fed, HS);
    feed(f, states[2], 2_000_000, fed, ms - fed, FS);
    fed = ms;
  };
  return { q, h, f, until, close: () => [q, h, f].forEach((t) => t.close()) };
}
