import { h264SpsSize } from "./h264-sps.js";
import type { RelayPacket } from "./up-track.js";
import { vp8KeyframeSize } from "./vp8.js";
import { vp9FrameSize, vp9KeyframeSize } from "./vp9.js";

/**
 * Keeps a server-side decoder (the fallback's, a transcoder's) from ever
 * seeing a picture larger than `max`: the size a VP8 keyframe, a VP9 frame
 * header (and a VP9 keyframe's scalability structure) or an H.264 SPS
 * announces is read from the RTP payload, and from such a keyframe or
 * SPS on, packets are held back until one announces a size within bounds.
 * A device may claim 16383×16383 in a few bytes; the decoder would
 * allocate for it.
 */
export class PictureGuard {
  private refusing = false;

  constructor(
    private readonly max: { readonly width: number; readonly height: number },
    /** Told once per refused size change, with the size claimed. */
    private readonly refused: (size: { width: number; height: number }) => void = () => {},
  ) {}

  /** True when `p` of a track in `mimeType` may reach the decoder. */
  admit(mimeType: string, p: RelayPacket): boolean {
    const size =
      mimeType === "video/vp8"
        ? p.keyframe
          ? vp8KeyframeSize(p.payload)
          : undefined
        : mimeType === "video/vp9"
          ? larger(vp9FrameSize(p.payload), vp9KeyframeSize(p.payload))
          : mimeType === "video/h264"
            ? h264SpsSize(p.payload)
            : undefined;
    if (size) {
      const tooLarge = size.width > this.max.width || size.height > this.max.height;
      if (tooLarge && !this.refusing) this.refused(size);
      this.refusing = tooLarge;
    }
    return !this.refusing;
  }
}

/** The larger in either dimension of two announced sizes (either may be missing). */
function larger(
  a: { width: number; height: number } | undefined,
  b: { width: number; height: number } | undefined,
): { width: number; height: number } | undefined {
  if (!a || !b) return a ?? b;
  return { width: Math.max(a.width, b.width), height: Math.max(a.height, b.height) };
}
