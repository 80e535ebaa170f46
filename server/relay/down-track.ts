import { RtpRewriter } from "./rewriter.js";
import type { RelayPacket, TrackCodec, UpTrack } from "./up-track.js";

/** Where a DownTrack delivers rewritten packets (a werift sender, in practice). */
export interface DownSink {
  send(packet: RelayPacket, sequenceNumber: number, timestamp: number): void;
}

/** Counters of one down track. */
export interface DownTrackStats {
  packetsOut: number;
  bytesOut: number;
  /** Video packets skipped while waiting for a keyframe. */
  droppedWaitingKeyframe: number;
  /** Packets dropped because they belonged before a source switch. */
  droppedStale: number;
}

/**
 * One viewer's copy of one device track. Survives its source: when the
 * device reconnects, `setSource` attaches the new UpTrack and the rewriter
 * keeps the viewer's sequence and timestamps continuous. Video starts only
 * at a keyframe.
 */
export class DownTrack {
  readonly stats: DownTrackStats = { packetsOut: 0, bytesOut: 0, droppedWaitingKeyframe: 0, droppedStale: 0 };
  private readonly rewriter: RtpRewriter;
  private source: UpTrack | undefined;
  private waitingKeyframe: boolean;
  private _closed = false;

  constructor(
    readonly codec: TrackCodec,
    private readonly sink: DownSink,
  ) {
    this.rewriter = new RtpRewriter(codec.clockRate);
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

  /** Attaches a (new) source; video waits for its next keyframe, which is requested. */
  setSource(up: UpTrack): void {
    if (this._closed) throw new Error("DownTrack is closed");
    if (this.source === up) return;
    this.detach();
    this.source = up;
    up.attachDown(this);
    this.rewriter.switchSource();
    if (this.codec.kind === "video") {
      this.waitingKeyframe = true;
      up.requestKeyframe();
    }
  }

  /** Detaches from the current source without closing; the track goes quiet. */
  clearSource(): void {
    this.detach();
  }

  /** Asks the current source for a keyframe (the viewer reported a loss). */
  requestKeyframe(): void {
    this.source?.requestKeyframe();
  }

  /** Called by the UpTrack for every packet. */
  forward(packet: RelayPacket): void {
    if (this.waitingKeyframe) {
      if (!packet.keyframe) {
        this.stats.droppedWaitingKeyframe++;
        return;
      }
      this.waitingKeyframe = false;
    }
    // The packet's arrival time is the wall clock the rewriter needs: no clock read per viewer.
    const out = this.rewriter.rewrite(packet.sequenceNumber, packet.timestamp, packet.receivedAt);
    if (!out) {
      this.stats.droppedStale++;
      return;
    }
    this.stats.packetsOut++;
    this.stats.bytesOut += packet.payload.length;
    this.sink.send(packet, out.sequenceNumber, out.timestamp);
  }

  /** Called by the UpTrack when it closes. */
  sourceClosed(up: UpTrack): void {
    if (this.source === up) this.source = undefined;
  }

  /** Detaches from the source and stops forwarding; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.detach();
  }

  private detach(): void {
    this.source?.detachDown(this);
    this.source = undefined;
  }
}
