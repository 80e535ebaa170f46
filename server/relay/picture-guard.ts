import { h264SpsSize } from "./h264-sps.js";
import type { RelayPacket } from "./up-track.js";
import { vp8KeyframeSize } from "./vp8.js";
import { parseVp9Descriptor, vp9HeaderSize, vp9SuperframeFrames, type Size } from "./vp9.js";

/** The most of one VP9 frame kept to read a superframe's frames, bytes (a larger frame ending in a superframe index is refused). */
const MAX_VP9_FRAME_BYTES = 4 * 1024 * 1024;

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
    if (mimeType === "video/vp9") return this.admitVp9(p);
    return this.judge(
      mimeType === "video/vp8" ? (p.keyframe ? vp8KeyframeSize(p.payload) : undefined) : mimeType === "video/h264" ? h264SpsSize(p.payload) : undefined,
    );
  }

  /** Takes the size a packet announces (if any) into account; true while sizes are within bounds. */
  private judge(size: Size | undefined): boolean {
    if (size) {
      const tooLarge = size.width > this.max.width || size.height > this.max.height;
      if (tooLarge && !this.refusing) this.refused(size);
      this.refusing = tooLarge;
    }
    return !this.refusing;
  }

  /** The VP9 frame under way: its packets' sequence numbers and bodies since its first packet (B), as they came. */
  private vp9Frame: { first: number; parts: Array<{ seq: number; body: Buffer }>; bytes: number } | undefined;

  /**
   * A VP9 frame's first packet has its header read (one that cannot be read
   * is not admitted: the decoder would read it some way of its own), and a
   * keyframe's scalability structure. A frame may also be a superframe
   * whose index, in its last bytes, lists more frames with headers of their
   * own: so when a frame's last packet (the marker: where the depayloader
   * hands the frame on) ends in what reads as such an index, the frame is
   * joined in sequence order and every frame listed is read too. One that
   * does not add up, or whose packets are not all here, is refused in that
   * last packet, so the decoder never gets it whole.
   */
  private admitVp9(p: RelayPacket): boolean {
    const d = parseVp9Descriptor(p.payload);
    if (!d) return false;
    const body = p.payload.subarray(d.length);
    if (d.frameStart) {
      this.vp9Frame = { first: p.sequenceNumber, parts: [], bytes: 0 };
      const header = vp9HeaderSize(p.payload, d.length);
      if (header === undefined) return false;
      if (!this.judge(largest([...d.sizes, ...(header === "kept" ? [] : [header])]))) return false;
    }
    const frame = this.vp9Frame;
    if (frame && frame.bytes + body.length <= MAX_VP9_FRAME_BYTES) {
      frame.parts.push({ seq: p.sequenceNumber, body });
      frame.bytes += body.length;
    }
    if (this.refusing) return false;
    if (!p.marker || body.length === 0 || (body[body.length - 1] & 0xe0) !== 0xc0) return true;
    // The frame's last byte reads as a superframe marker.
    this.vp9Frame = undefined;
    if (!frame) return false;
    const count = ((p.sequenceNumber - frame.first) & 0xffff) + 1;
    const bySeq = new Map(frame.parts.map((x) => [(x.seq - frame.first) & 0xffff, x.body]));
    if (bySeq.size !== count) return false;
    const whole = Buffer.concat(Array.from({ length: count }, (_, i) => bySeq.get(i) ?? Buffer.alloc(0)));
    const listed = vp9SuperframeFrames(whole);
    if (listed === undefined) return true;
    if (listed === null) return false;
    for (const [at, length] of listed) {
      if (length === 0) continue;
      const header = vp9HeaderSize(whole.subarray(at, at + length), 0);
      if (header === undefined || !this.judge(header === "kept" ? undefined : header)) return false;
    }
    return true;
  }
}

/** The largest in either dimension of the sizes a packet announces, or undefined for none. */
function largest(sizes: readonly Size[]): Size | undefined {
  if (sizes.length === 0) return undefined;
  return { width: Math.max(...sizes.map((x) => x.width)), height: Math.max(...sizes.map((x) => x.height)) };
}
