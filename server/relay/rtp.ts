/** Minimal RTP helpers the relay needs on its hot path; no allocation beyond the result. */

/** The fields of an RTP packet the relay reads. `payload` is a view into the packet. */
export interface RtpView {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/** Parses an RTP packet (RFC 3550); returns undefined for anything that is not one. */
export function parseRtp(buf: Buffer): RtpView | undefined {
  if (buf.length < 12 || buf[0] >> 6 !== 2) return undefined;
  const csrcCount = buf[0] & 0x0f;
  let offset = 12 + csrcCount * 4;
  if (buf[0] & 0x10) {
    if (buf.length < offset + 4) return undefined;
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
  }
  let end = buf.length;
  if (buf[0] & 0x20) end -= buf[buf.length - 1];
  if (offset > end) return undefined;
  return {
    payloadType: buf[1] & 0x7f,
    marker: (buf[1] & 0x80) !== 0,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

/** a - b on the 16-bit sequence circle, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

/** (a + b) mod 2^16. */
export function seqAdd(a: number, b: number): number {
  return (a + b) & 0xffff;
}

/** (a + b) mod 2^32. */
export function tsAdd(a: number, b: number): number {
  return (a + b) >>> 0;
}

/** Serialises an RTP packet with a 12-byte header and no extensions; one allocation. */
export function writeRtp(payloadType: number, sequenceNumber: number, timestamp: number, ssrc: number, marker: boolean, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + payload.length);
  out[0] = 0x80;
  out[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  out.writeUInt16BE(sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(timestamp >>> 0, 4);
  out.writeUInt32BE(ssrc >>> 0, 8);
  payload.copy(out, 12);
  return out;
}
