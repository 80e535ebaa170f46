/** Real JPEG pictures for tests, made by GStreamer (never a hand-written byte string). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One JPEG of `width`x`height`: the test pattern, or one solid colour (`0xAARRGGBB`). */
export function testJpeg(width: number, height: number, solidArgb?: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "tessera-jpeg-"));
  try {
    const file = join(dir, "f.jpg");
    const pattern = solidArgb ? ["pattern=solid-color", `foreground-color=${solidArgb}`] : [];
    execFileSync("gst-launch-1.0", [
      "-q",
      "videotestsrc",
      "num-buffers=1",
      ...pattern,
      "!",
      `video/x-raw,width=${width},height=${height}`,
      "!",
      "jpegenc",
      "!",
      "filesink",
      `location=${file}`,
    ]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
