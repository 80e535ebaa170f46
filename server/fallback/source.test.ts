import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { createLogger } from "../log.js";
import type { PictureSource } from "./picture-source.js";
import { FallbackSource, SOURCE_DEFAULTS, type EncodedFrame } from "./source.js";

const WIDTH = 320;
const HEIGHT = 96;

/** A flat picture; each shade differs from the last, so every stripe changes. */
const picture = (shade: number) => ({ width: WIDTH, height: HEIGHT, data: Buffer.alloc((WIDTH * HEIGHT * 3) / 2, shade) });

/** An H.264 fallback source fed by hand (real x264 encoders), and the frames it gives out with when. */
function h264Source(): { source: FallbackSource; frames: { frame: EncodedFrame; at: number }[] } {
  const pictures = { add() {}, remove() {}, latest: undefined, device: {} } as unknown as PictureSource;
  const source = new FallbackSource(pictures, "h264", SOURCE_DEFAULTS, createLogger("error"));
  const frames: { frame: EncodedFrame; at: number }[] = [];
  source.add({ onFrame: (frame) => frames.push({ frame, at: performance.now() }), onDeviceState() {} });
  return { source, frames };
}

const allIdr = (f: EncodedFrame) => f.stripes.length === f.layout.length && f.stripes.every((s) => s.idr);

describe("FallbackSource, H.264 IDRs on request", () => {
  const sources: FallbackSource[] = [];
  after(() => sources.forEach((s) => s.close()));

  test("while pictures come, the next one carries the IDRs: no extra frame", async () => {
    const { source, frames } = h264Source();
    sources.push(source);
    let shade = 0;
    source.onPicture(picture(shade++), undefined);
    await waitFor(() => frames.length === 1, 10_000, "the first frame");
    assert.ok(allIdr(frames[0].frame), "the first frame is all IDRs");
    // Pictures every 40 ms, like a device's; IDRs asked for between two of them (the source idle, not quiet).
    for (let i = 0; i < 6; i++) {
      source.onPicture(picture(shade++), undefined);
      const n = frames.length;
      await waitFor(() => frames.length > n, 10_000, `frame ${n + 1}`);
      if (i === 2) source.requestIdr();
      await waitFor(() => performance.now() - frames[n].at >= 40, 1000, "the next picture's time");
    }
    assert.equal(frames.length, 7, "one frame per picture");
    assert.deepEqual(
      frames.slice(1).map((f) => allIdr(f.frame)),
      [false, false, false, true, false, false],
      "the picture after the ask is all IDRs, the rest deltas",
    );
  });

  test("a source with no new picture encodes its last one again, all IDRs, once quiet", async () => {
    const { source, frames } = h264Source();
    sources.push(source);
    const pictureAt = performance.now();
    source.onPicture(picture(1), undefined);
    await waitFor(() => frames.length === 1, 10_000, "the first frame");
    source.requestIdr();
    await waitFor(() => frames.length === 2, 5000, "the same picture again");
    assert.ok(allIdr(frames[1].frame));
    assert.ok(frames[1].at - pictureAt >= 100, `not before the source was quiet for 100 ms (${(frames[1].at - pictureAt).toFixed(0)} ms)`);
    // Asked again long after: at once.
    await waitFor(() => performance.now() - frames[1].at >= 150, 1000, "quiet");
    const askedAt = performance.now();
    source.requestIdr();
    await waitFor(() => frames.length === 3, 5000, "again");
    assert.ok(allIdr(frames[2].frame));
    assert.ok(frames[2].at - askedAt < 100, "a quiet source answers at once");
  });
});
