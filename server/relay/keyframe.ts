/** Keyframe detection on RTP payloads, so a new viewer starts on a decodable picture. */
import { isVp9KeyframeStart } from "./vp9.js";

/** Codecs the relay understands, by lower-case MIME type. */
export type VideoCodec = "video/vp8" | "video/vp9" | "video/h264";

/** True when this RTP payload starts a VP8 keyframe (RFC 7741). */
export function isVp8KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0];
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x07;
  if (!start || partition !== 0) return false;
  let offset = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) return false;
    const x = payload[1];
    offset = 2;
    if (x & 0x80) {
      if (payload.length <= offset) return false;
      offset += payload[offset] & 0x80 ? 2 : 1;
    }
    if (x & 0x40) offset += 1;
    if (x & 0x30) offset += 1;
  }
  if (payload.length <= offset) return false;
  return (payload[offset] & 0x01) === 0;
}

const H264_IDR = 5;
const H264_SPS = 7;
const H264_STAP_A = 24;
const H264_FU_A = 28;

/** True when this RTP payload carries an H.264 SPS or the start of an IDR slice (RFC 6184). */
export function isH264KeyframeStart(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const type = payload[0] & 0x1f;
  if (type === H264_IDR || type === H264_SPS) return true;
  if (type === H264_FU_A) {
    if (payload.length < 2) return false;
    const fuHeader = payload[1];
    const startBit = (fuHeader & 0x80) !== 0;
    const inner = fuHeader & 0x1f;
    return startBit && (inner === H264_IDR || inner === H264_SPS);
  }
  if (type === H264_STAP_A) {
    let offset = 1;
    while (offset + 2 < payload.length) {
      const size = payload.readUInt16BE(offset);
      offset += 2;
      if (size === 0 || offset + size > payload.length) return false;
      const inner = payload[offset] & 0x1f;
      if (inner === H264_IDR || inner === H264_SPS) return true;
      offset += size;
    }
  }
  return false;
}

/** Keyframe-start test for a codec; codecs the relay does not parse never qualify. */
export function isKeyframeStart(codec: string, payload: Buffer): boolean {
  switch (codec) {
    case "video/vp8":
      return isVp8KeyframeStart(payload);
    case "video/vp9":
      return isVp9KeyframeStart(payload);
    case "video/h264":
      return isH264KeyframeStart(payload);
    default:
      return false;
  }
}
