import type { UpTrack } from "../relay/up-track.js";

/** Bytes of the payload descriptor written before each packet's share of the frame: X, I, and a 15-bit picture ID. */
const DESCRIPTOR_BYTES = 4;
/** The RTP fixed header the MTU also has to hold. */
const RTP_HEADER_BYTES = 12;

/**
 * Cuts whole encoded VP8 frames into RTP payloads (RFC 7741) and pushes them
 * into an UpTrack, all of a frame's packets at once. A server-side source
 * pulls one buffer per frame from GStreamer this way instead of one per RTP
 * packet: every pull from an appsink costs a threadpool hop and a turn of the
 * event loop, and a 720p keyframe of 50-odd packets pulled one by one took
 * 40-190 ms (seconds on a loaded machine) to reach the relay.
 *
 * The RTP timestamp is the frame's arrival (90 kHz of performance.now()):
 * the appsink does not hand over the buffer's time, and for a live source
 * the arrival is when it was made, give or take the pull.
 */
export class Vp8Packetizer {
  private sequenceNumber = Math.floor(Math.random() * 0x10000);
  private pictureId = Math.floor(Math.random() * 0x8000);
  private readonly chunk: number;

  constructor(mtu: number) {
    this.chunk = mtu - RTP_HEADER_BYTES - DESCRIPTOR_BYTES;
    if (this.chunk < 64) throw new RangeError(`an MTU of ${mtu} leaves no room for VP8`);
  }

  /** Pushes `frame` into `track` as RTP packets; `now` is its arrival, performance.now() ms. */
  push(track: UpTrack, frame: Buffer, now = performance.now()): void {
    if (frame.length === 0) return;
    const timestamp = Math.round(now * 90) >>> 0;
    const pid = this.pictureId;
    this.pictureId = (pid + 1) & 0x7fff;
    for (let at = 0; at < frame.length; at += this.chunk) {
      const end = Math.min(frame.length, at + this.chunk);
      const payload = Buffer.allocUnsafe(DESCRIPTOR_BYTES + end - at);
      payload[0] = at === 0 ? 0x90 : 0x80; // X, and S on the frame's first packet (partition 0)
      payload[1] = 0x80; // I: a picture ID follows
      payload[2] = 0x80 | (pid >> 8); // M: 15 bits
      payload[3] = pid & 0xff;
      frame.copy(payload, DESCRIPTOR_BYTES, at, end);
      track.push(this.sequenceNumber, timestamp, end === frame.length, payload, now);
      this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    }
  }
}
