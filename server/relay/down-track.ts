import type { FanoutLane, LaneMember, LaneSink } from "./lane.js";
import { RtpRewriter } from "./rewriter.js";
import { seqAdd } from "./rtp.js";
import type { RelayPacket, TrackCodec, UpTrack } from "./up-track.js";
import type { PictureIdMunger } from "./picture-id-munger.js";
import { Vp8Munger } from "./vp8.js";
import { Vp9Munger } from "./vp9.js";

/** Where a DownTrack delivers rewritten packets (a werift sender, in practice). */
export interface DownSink extends Partial<LaneSink> {
  send(packet: RelayPacket, sequenceNumber: number, timestamp: number): void;
  /**
   * Sends one padding-only packet (PADDING_BYTES of padding) under these
   * numbers; false when it cannot now (nothing sent). A sink without it
   * cannot probe.
   */
  sendPadding?(sequenceNumber: number, timestamp: number): boolean;
  /**
   * Sends a sender report now, besides the regular ones: the viewer's
   * answer gives a round trip. False when it cannot now.
   */
  senderReport?(): boolean;
}

/** Padding bytes in one padding-only packet (RTP counts padding in one byte). */
export const PADDING_BYTES = 255;
/** At most this many padding packets go out after one frame, so a probe resumes after a pause in the video without a burst. */
const MAX_PADDING_BURST = 64;
/**
 * While a probe pads, a sender report goes out this often, ms, so that the
 * round trips the viewer answers with show a queue the padding builds at
 * its bottleneck within a few hundred ms (the regular ones come every
 * 0.5–1.5 s, and a probe lasts 1.7 s).
 */
export const PROBE_REPORT_EVERY_MS = 200;

/** Counters of one down track. */
export interface DownTrackStats {
  packetsOut: number;
  bytesOut: number;
  /** Video packets skipped while waiting for a keyframe. */
  droppedWaitingKeyframe: number;
  /** Packets dropped because they belonged before a source switch. */
  droppedStale: number;
  /** VP8 or VP9 packets of temporal layers this viewer does not get. */
  droppedTemporal: number;
  /** Padding-only packets sent to probe the viewer's link. */
  paddingOut: number;
}

/**
 * A keyframe asked for and not come after this long is asked for again, ms:
 * a request can be lost, or reach a layer the device has paused.
 */
export const KEYFRAME_RETRY_MS = 1000;

/**
 * While held (the viewer's connection is not up yet), video from its newest
 * keyframe on is kept to go out the moment it is, for at most this long
 * (ms) and this many packets; past either, the viewer starts at a later
 * keyframe instead of being sent a stale burst.
 */
export const HOLD_MAX_MS = 300;
export const HOLD_MAX_PACKETS = 400;

/** The picture ID offsets of a codec without picture IDs. */
const NO_IDS = { pictureId: 0, tl0: 0 };

/** Forward every temporal layer. */
export const ALL_TEMPORAL: number = 3;

/**
 * One viewer's copy of one device track. Survives its source: when the
 * device reconnects, `setSource` attaches the new UpTrack and the rewriter
 * keeps the viewer's sequence and timestamps continuous (and, for VP8 and
 * VP9, the picture ID and TL0PICIDX). Video starts only at a keyframe.
 * `switchLayer` moves to another simulcast layer without a gap: the current
 * one is forwarded until the new one's keyframe arrives. `setTemporal`
 * limits a VP8 or VP9 source with temporal layers to the lower ones (fewer
 * frames per second, no keyframe needed): down at the next frame, up at a
 * layer sync (VP8) or switching-up (VP9) frame or a keyframe; dropped frames
 * leave no gap in the viewer's sequence numbers, nor in its VP8 picture IDs.
 * `hold` keeps what would go out until `release`: attached while the viewer
 * still connects, the keyframe asked for is on its way during ICE and DTLS
 * rather than after them.
 */
export class DownTrack {
  readonly stats: DownTrackStats = { packetsOut: 0, bytesOut: 0, droppedWaitingKeyframe: 0, droppedStale: 0, droppedTemporal: 0, paddingOut: 0 };
  private readonly rewriter: RtpRewriter;
  private source: UpTrack | undefined;
  /** The layer being switched to, attached until its keyframe comes. */
  private pending: UpTrack | undefined;
  /** Picture IDs and TL0PICIDX kept continuous (VP8, VP9). */
  private readonly pictureIds: PictureIdMunger | undefined;
  private waitingKeyframe: boolean;
  /** When the keyframe waited for (of the source or the pending layer) was last asked for, performance.now() ms. */
  private keyframeAskedAt = -Infinity;
  /** The highest temporal layer wanted, and the one forwarded now (they differ until a frame lets it change). */
  private temporalTarget = ALL_TEMPORAL;
  private temporalNow = ALL_TEMPORAL;
  /** The frame under way is a temporal layer not forwarded: its packets are dropped. */
  private droppingFrame = false;
  /** What was to go out while held (video from its newest keyframe; audio is dropped), or undefined when not held. */
  private held: Array<{ packet: RelayPacket; sequenceNumber: number; timestamp: number }> | undefined;
  /** The lead-in sent (leadIn): its number, timestamp and the arrival of the keyframe it went before. */
  private leadInAt: { sequenceNumber: number; timestamp: number; receivedAt: number } | undefined;
  /** This hold already dropped what it kept for age once (and asked for a fresh keyframe then). */
  private heldOverflowed = false;
  private _closed = false;
  /** A probe under way: the padding rate it ramps to (bits/s, 0 for none), when it started, its ramp, when padding last went out and the bytes owed since. */
  private probeBps = 0;
  private probeStartedAt = 0;
  private probeRampMs = 0;
  private paddedAt = 0;
  private paddingOwed = 0;
  /** When the probe last had a sender report sent (PROBE_REPORT_EVERY_MS). */
  private probeReportAt = -Infinity;
  /** When the last probe stopped. */
  private probeStoppedAt = -Infinity;
  /** The lane (lane.ts) this track's packets go through while it is steady, and the last packet it sent there when it left. */
  private lane: FanoutLane | undefined;
  private laneLast: RelayPacket | undefined;
  private readonly laneMember: LaneMember = {
    sent: (packets, bytes) => {
      this.stats.packetsOut += packets;
      this.stats.bytesOut += bytes;
    },
    left: (last) => this.leftLane(last),
  };

  constructor(
    readonly codec: TrackCodec,
    private readonly sink: DownSink,
  ) {
    this.rewriter = new RtpRewriter(codec.clockRate);
    this.pictureIds = codec.mimeType === "video/vp8" ? new Vp8Munger() : codec.mimeType === "video/vp9" ? new Vp9Munger() : undefined;
    this.waitingKeyframe = codec.kind === "video";
  }

  get kind(): "video" | "audio" {
    return this.codec.kind;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** The UpTrack currently feeding this viewer, if any. */
  get upTrack(): UpTrack | undefined {
    return this.source;
  }

  /** The layer this track is switching to, until its keyframe arrives. */
  get pendingTrack(): UpTrack | undefined {
    return this.pending;
  }

  /** Attaches a (new) source; video waits for its next keyframe, which is requested. */
  setSource(up: UpTrack): void {
    if (this._closed) throw new Error("DownTrack is closed");
    if (this.source === up) return;
    this.detach();
    this.source = up;
    up.attachDown(this);
    this.rewriter.switchSource();
    this.pictureIds?.switchSource();
    if (this.codec.kind === "video") {
      this.waitingKeyframe = true;
      this.askKeyframe(up);
    }
  }

  /**
   * Moves to `up` (another layer of the same picture) at its next keyframe,
   * which is requested; until then the current source keeps flowing. Without
   * a flowing source this is setSource.
   */
  switchLayer(up: UpTrack): void {
    if (this._closed || up === this.pending) return;
    this.leaveLane();
    if (up === this.source) {
      this.dropPending();
      return;
    }
    if (!this.source || this.waitingKeyframe || this.codec.kind !== "video") {
      this.dropPending();
      this.setSource(up);
      return;
    }
    this.dropPending();
    this.pending = up;
    up.attachDown(this);
    this.askKeyframe(up);
  }

  /** The highest temporal layer the viewer gets (ALL_TEMPORAL for every one). */
  get temporal(): number {
    return this.temporalTarget;
  }

  /** Forwards temporal layers 0..`tid` only; a climb waits for a sync frame, and asks for a keyframe. */
  setTemporal(tid: number): void {
    const target = Math.max(0, Math.min(ALL_TEMPORAL, tid));
    if (target === this.temporalTarget) return;
    this.leaveLane();
    this.temporalTarget = target;
    if (target > this.temporalNow) this.source?.requestKeyframe();
  }

  /** Keeps packets instead of sending them, until release(). */
  hold(): void {
    if (this._closed || this.held) return;
    this.leaveLane();
    this.held = [];
    this.heldOverflowed = false;
  }

  /**
   * While held and before anything went out: sends one padding-only packet
   * numbered just below the held video's first (the same number each call:
   * a keyframe that replaces the held one is numbered right after it),
   * false when there is none yet or the track cannot pad. Called while the
   * viewer finishes its handshake, the first of these it can decrypt marks
   * where its stream starts, ahead of the held burst. On a link that
   * reorders, the burst arrives in any order, and a browser never asks
   * again for packets older than the first it received: without the
   * lead-in, a keyframe packet lost from before that one is lost for good,
   * and the viewer waits for its keyframe request to bring another.
   */
  leadIn(): boolean {
    if (!this.held || this.stats.packetsOut > 0 || !this.canProbe) return false;
    const first = this.held[0];
    const lead =
      this.leadInAt ?? (first && { sequenceNumber: seqAdd(first.sequenceNumber, -1), timestamp: first.timestamp, receivedAt: first.packet.receivedAt });
    if (!lead || !this.sink.sendPadding?.(lead.sequenceNumber, lead.timestamp)) return false;
    this.leadInAt = lead;
    this.stats.paddingOut++;
    return true;
  }

  /**
   * Sends what was held, in order and stamped as arriving now (the relay's
   * forward latency counts this hop, not the wait for the connection), and
   * forwards from here on. Video whose held keyframe was dropped for age asks for another.
   */
  release(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    // What the lead-in went before was dropped for age: the keyframe still to come is numbered right after it.
    const lead = this.leadInAt;
    if (lead && held.length === 0) this.rewriter.restartAfter(lead.sequenceNumber, lead.timestamp, lead.receivedAt);
    this.leadInAt = undefined;
    if (this._closed) return;
    const now = performance.now();
    for (const h of held) this.send({ ...h.packet, receivedAt: now }, h.sequenceNumber, h.timestamp);
    // A keyframe still on its way is waited for; one dropped for age is asked for again now.
    if (this.waitingKeyframe && this.codec.kind === "video") this.askKeyframeAgain(this.source, now);
  }

  /** Detaches from the current source without closing; the track goes quiet. */
  clearSource(): void {
    this.detach();
  }

  /** Asks the current source for a keyframe (the viewer reported a loss). */
  requestKeyframe(): void {
    this.source?.requestKeyframe();
  }

  /** Called by the UpTrack (`from`) for every packet. */
  forward(packet: RelayPacket, from?: UpTrack): void {
    // Sent by the lane just before this track left it.
    if (packet === this.laneLast) return;
    if (from !== undefined && from !== this.source) {
      if (from !== this.pending) return;
      if (!packet.keyframe) {
        this.askKeyframeAgain(from, packet.receivedAt);
        return;
      }
      // The new layer's keyframe: it is the source from here on.
      this.source?.detachDown(this);
      this.source = from;
      this.pending = undefined;
      this.rewriter.switchSource();
      this.pictureIds?.switchSource();
      this.waitingKeyframe = false;
    }
    if (this.waitingKeyframe) {
      if (!packet.keyframe) {
        this.stats.droppedWaitingKeyframe++;
        this.askKeyframeAgain(this.source, packet.receivedAt);
        return;
      }
      this.waitingKeyframe = false;
    }
    if (packet.temporal >= 0 && this.dropsTemporal(packet)) return;
    // A keyframe that replaces what a lead-in went before is numbered right after the lead-in: no gap the viewer would ask for.
    const lead = this.leadInAt;
    if (lead && packet.keyframe && this.held) this.rewriter.restartAfter(lead.sequenceNumber, lead.timestamp, lead.receivedAt);
    // The packet's arrival time is the wall clock the rewriter needs: no clock read per viewer.
    const out = this.rewriter.rewrite(packet.sequenceNumber, packet.timestamp, packet.receivedAt);
    if (!out) {
      this.stats.droppedStale++;
      return;
    }
    const payload = this.pictureIds ? this.pictureIds.munge(packet.payload) : packet.payload;
    const sent = payload === packet.payload ? packet : { ...packet, payload };
    if (this.held) {
      this.keep(sent, out.sequenceNumber, out.timestamp);
      return;
    }
    this.send(sent, out.sequenceNumber, out.timestamp);
    const newest = this.rewriter.isNewest(out.sequenceNumber);
    // Padding follows a frame's last packet when that is the newest out, not a late one.
    if (this.probeBps > 0) {
      if (packet.marker && newest) this.padAfterFrame(packet.receivedAt);
    } else if (newest && from !== undefined && this.sink.joinLane !== undefined) {
      this.joinLane(from);
    }
  }

  /**
   * Joins the source's lane (lane.ts) when this track is steady: what it
   * forwards from the next packet on would only have its numbers offset.
   */
  private joinLane(from: UpTrack): void {
    if (
      this.lane !== undefined ||
      from !== this.source ||
      this.pending !== undefined ||
      this.held !== undefined ||
      this.waitingKeyframe ||
      this.temporalTarget !== ALL_TEMPORAL ||
      this.temporalNow !== ALL_TEMPORAL
    )
      return;
    const ids = this.pictureIds ? this.pictureIds.offsets : NO_IDS;
    if (ids === undefined) return;
    const offsets = { seq: this.rewriter.seqOffsetNow, ts: this.rewriter.tsOffsetNow, pictureId: ids.pictureId, tl0: ids.tl0 };
    const lane = this.sink.joinLane?.(from.lane, this.codec, offsets, this.laneMember);
    if (lane === undefined) return;
    this.lane = lane;
    this.laneLast = undefined;
    from.joinedLane(this, lane);
  }

  /** Leaves the lane, if in one: what it sent is taken up (leftLane) before anything else changes. */
  private leaveLane(): void {
    if (this.lane !== undefined) this.sink.leaveLane?.();
  }

  /** Out of the lane (LaneMember.left): the rewriter and picture IDs take up the last packet it sent. */
  private leftLane(last: RelayPacket | undefined): void {
    if (this.lane === undefined) return;
    this.lane = undefined;
    this.laneLast = last;
    if (last !== undefined) {
      this.rewriter.caughtUp(last.sequenceNumber, last.timestamp, last.receivedAt);
      this.pictureIds?.munge(last.payload);
    }
    this.source?.leftLane(this);
  }

  /**
   * Whether this track can probe its viewer's link with padding: its sink
   * sends padding, and its codec's receivers assemble frames by picture ID
   * (VP8, VP9), so a padding packet lost on the way stalls nothing.
   * (A browser finds H.264 frames by contiguous sequence numbers.)
   */
  get canProbe(): boolean {
    const mime = this.codec.mimeType;
    return this.sink.sendPadding !== undefined && (mime === "video/vp8" || mime === "video/vp9");
  }

  /**
   * Probes the viewer's link: from `now`, padding-only packets follow each
   * frame at a rate that ramps from 0 to `bps` over `rampMs`, then stays,
   * until stopProbe(), with a sender report every PROBE_REPORT_EVERY_MS.
   * What the viewer's bandwidth estimate, loss and round trips do meanwhile
   * tell whether its link has room for that much more.
   */
  probe(bps: number, rampMs: number, now = performance.now()): void {
    if (!this.canProbe || this._closed) return;
    this.leaveLane();
    this.probeBps = Math.max(0, bps);
    this.probeStartedAt = this.paddedAt = now;
    this.probeReportAt = -Infinity;
    this.probeRampMs = Math.max(1, rampMs);
    this.paddingOwed = 0;
  }

  stopProbe(now = performance.now()): void {
    if (this.probeBps > 0) this.probeStoppedAt = now;
    this.probeBps = 0;
  }

  /** When this track last probed its viewer's link: `now` while a probe pads, else when the last stopped (-Infinity before any). */
  probedAt(now = performance.now()): number {
    return this.probeBps > 0 ? now : this.probeStoppedAt;
  }

  /** The padding owed since the last frame's, sent after a frame whose last packet is the newest out. */
  private padAfterFrame(now: number): void {
    const sink = this.sink;
    if (!sink.sendPadding) return;
    const ramp = Math.min(1, (now - this.probeStartedAt) / this.probeRampMs);
    // At most 100 ms of padding is owed: a pause in the video is not made up for.
    this.paddingOwed += (this.probeBps * ramp * Math.min(100, Math.max(0, now - this.paddedAt))) / 8000;
    this.paddedAt = now;
    if (now - this.probeReportAt >= PROBE_REPORT_EVERY_MS && sink.senderReport?.()) this.probeReportAt = now;
    for (let n = 0; n < MAX_PADDING_BURST && this.paddingOwed >= PADDING_BYTES; n++) {
      const out = this.rewriter.pad();
      if (!out || !sink.sendPadding(out.sequenceNumber, out.timestamp)) {
        this.paddingOwed = 0;
        return;
      }
      this.paddingOwed -= PADDING_BYTES;
      this.stats.paddingOut++;
    }
    this.paddingOwed = Math.min(this.paddingOwed, PADDING_BYTES);
  }

  private send(packet: RelayPacket, sequenceNumber: number, timestamp: number): void {
    this.stats.packetsOut++;
    this.stats.bytesOut += packet.payload.length;
    this.sink.send(packet, sequenceNumber, timestamp);
  }

  /**
   * Keeps a packet while held: video from the newest keyframe on, within
   * HOLD_MAX_MS and HOLD_MAX_PACKETS. Past them the viewer waits for the
   * next keyframe, asked for at once the first time and at release after
   * that: a viewer that never connects costs the device at most two
   * keyframes. Audio is not kept: it has no start to wait for.
   */
  private keep(packet: RelayPacket, sequenceNumber: number, timestamp: number): void {
    if (this.codec.kind !== "video") return;
    const held = this.held as NonNullable<typeof this.held>;
    if (packet.keyframe) held.length = 0;
    held.push({ packet, sequenceNumber, timestamp });
    if (held.length > HOLD_MAX_PACKETS || packet.receivedAt - held[0].packet.receivedAt > HOLD_MAX_MS) {
      held.length = 0;
      this.waitingKeyframe = true;
      if (!this.heldOverflowed && this.source) {
        // The first time, a fresh keyframe is asked for now: it is likely held when the connection comes up.
        this.heldOverflowed = true;
        this.askKeyframe(this.source, packet.receivedAt);
      } else {
        // After that, at release, not before.
        this.keyframeAskedAt = -Infinity;
      }
    }
  }

  private askKeyframe(up: UpTrack, now = performance.now()): void {
    this.keyframeAskedAt = now;
    up.requestKeyframe();
  }

  /** Asks `up` again when the keyframe waited for has not come within KEYFRAME_RETRY_MS (`now`: a packet's arrival); not while held. */
  private askKeyframeAgain(up: UpTrack | undefined, now: number): void {
    if (up && !this.held && now - this.keyframeAskedAt >= KEYFRAME_RETRY_MS) this.askKeyframe(up, now);
  }

  /**
   * Whether this VP8 or VP9 packet belongs to a temporal layer the viewer
   * does not get (and is dropped, its numbers closed over). The layer forwarded
   * changes only at a frame's first packet: down at once, up at a keyframe or
   * at a layer sync frame of a layer within the target.
   */
  private dropsTemporal(packet: RelayPacket): boolean {
    const tid = packet.temporal & 3;
    if (packet.temporal & 8) {
      if (this.temporalTarget < this.temporalNow) this.temporalNow = this.temporalTarget;
      else if (this.temporalTarget > this.temporalNow && (packet.keyframe || (packet.temporal & 4 && tid <= this.temporalTarget))) {
        this.temporalNow = this.temporalTarget;
      }
      this.droppingFrame = tid > this.temporalNow;
      if (this.droppingFrame) this.pictureIds?.dropPicture(packet.payload);
    }
    if (!this.droppingFrame) return false;
    this.rewriter.drop(packet.sequenceNumber);
    this.stats.droppedTemporal++;
    return true;
  }

  /** Called by the UpTrack when it closes. */
  sourceClosed(up: UpTrack): void {
    if (this.source === up) {
      this.leaveLane();
      this.source = undefined;
    }
    if (this.pending === up) this.pending = undefined;
  }

  /** Detaches from the source and stops forwarding; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.held = undefined;
    this.probeBps = 0;
    this.detach();
  }

  private detach(): void {
    this.leaveLane();
    this.dropPending();
    this.source?.detachDown(this);
    this.source = undefined;
  }

  private dropPending(): void {
    this.pending?.detachDown(this);
    this.pending = undefined;
  }
}
