import type { RelayPacket, TrackCodec } from "./up-track.js";

/**
 * One call per packet for many DownTracks (the native fan-out,
 * server/rtc/fanout-lane.ts): UpTrack.push hands it each packet newer than
 * any before it for the DownTracks in it, and forwards to the rest one by
 * one. A DownTrack is in it only while its forward() would do nothing but
 * add its offsets to the numbers and send: its source flowing, no keyframe
 * awaited, no layer pending, every temporal layer, no picture ID to change,
 * no probe, not held. Anything else takes it out first (`LaneSink.leaveLane`).
 */
export interface FanoutLane {
  /** DownTracks in it now. */
  readonly size: number;
  /** Sends `packet` (newer than every packet before it) to every member. */
  send(packet: RelayPacket): void;
  /** Takes every member out (a late packet, the source closing). */
  clear(): void;
}

/** What a DownTrack gives the lane, through its sink. */
export interface LaneMember {
  /** Adds what the lane sent it since the last call (payload bytes): its stats. */
  sent(packets: number, bytes: number): void;
  /**
   * It is out of the lane: `last` is the last packet the lane sent it
   * (undefined when none), whose numbers its rewriter takes up.
   */
  left(last: RelayPacket | undefined): void;
}

/** What a DownTrack adds to the numbers of a packet newer than any before it (its rewriter's and picture ID munger's offsets). */
export interface LaneOffsets {
  seq: number;
  ts: number;
  /** Added to the payload's picture ID and TL0PICIDX (VP8, VP9; 0 for other codecs). */
  pictureId: number;
  tl0: number;
}

/** What a DownSink that can send through a lane adds. */
export interface LaneSink {
  /**
   * Joins `lane` (a new one for `codec`'s packets when undefined) with these
   * offsets: the lane it joined, or undefined when it cannot now.
   */
  joinLane(lane: FanoutLane | undefined, codec: TrackCodec, offsets: LaneOffsets, member: LaneMember): FanoutLane | undefined;
  /** Leaves its lane (member.left runs first); nothing when not in one. */
  leaveLane(): void;
}
