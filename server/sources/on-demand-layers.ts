import { lowerLayerElements, lowerLayerSize } from "../../pipelines/descriptions.js";
import type { GstPipeline } from "../../pipelines/pipeline.js";
import type { Logger } from "../log.js";
import { LOWER_LAYERS } from "../protocol/simulcast.js";
import type { RelayObserver } from "../relay/observer.js";
import { parseRtp } from "../relay/rtp.js";
import { UpTrack, type TrackCodec } from "../relay/up-track.js";
import { Vp8Packetizer } from "./vp8-packetizer.js";

/** How the layers' tracks are made. */
export interface OnDemandLayersOptions {
  idPrefix: string;
  codec: TrackCodec;
  /** The full picture's size. */
  size: { width: number; height: number };
  observer?: RelayObserver;
  log: Logger;
  /** Called when a layer starts or wants a keyframe: a source that idles (a still screen) sends its next frame now. */
  wake?: () => void;
  /** Called when a layer has started or stopped (runningLayers tells which run), before its first frame is asked for. */
  onChange?: () => void;
  /** The layers' appsinks give whole VP8 frames (to packetize at this MTU) rather than RTP. */
  vp8FramesMtu?: number;
}

/**
 * The lower simulcast layers of a server-side source, each encoded only
 * while a viewer takes it: the pipeline has a branch per layer
 * (lowerLayerBranches) behind a shut valve; a layer's first DownTrack opens
 * it (with a keyframe) and its last shuts it again. Used by the test device
 * and by host displays captured with VP8.
 */
export class OnDemandLayers {
  /** The layers' tracks, lowest first. */
  readonly tracks: UpTrack[] = [];
  private readonly sinks: string[] = [];
  private readonly running = new Set<string>();
  private closed = false;

  constructor(
    private readonly pipeline: GstPipeline,
    private readonly o: OnDemandLayersOptions,
  ) {
    for (const layer of LOWER_LAYERS) {
      const e = lowerLayerElements(layer.rid);
      this.sinks.push(e.sink);
      this.tracks.push(
        new UpTrack({
          id: `${o.idPrefix}-${layer.rid}`,
          codec: o.codec,
          requestKeyframe: () => {
            o.wake?.();
            pipeline.forceKeyUnit(e.sink);
          },
          keyframeBy: "encoder",
          observer: o.observer,
          onDemand: { ...lowerLayerSize(o.size, layer), bitrate: layer.maxBitrate },
          onConsumers: (count) => this.run(layer.rid, count > 0, o),
        }),
      );
    }
  }

  /** Tells every layer, `top` included (last), that they are the layers of one picture; returns them lowest first. */
  join(top: UpTrack): UpTrack[] {
    const all = [...this.tracks, top];
    for (const t of all) t.setLayers(all);
    return all;
  }

  /** Feeds each layer from its appsink; after the pipeline started. */
  start(): void {
    const mtu = this.o.vp8FramesMtu;
    this.sinks.forEach((sink, i) => {
      const track = this.tracks[i];
      if (mtu !== undefined) {
        const packetizer = new Vp8Packetizer(mtu);
        this.pipeline.pullFrom(sink, (frame) => packetizer.push(track, frame));
        return;
      }
      this.pipeline.pullFrom(sink, (buf) => {
        const rtp = parseRtp(buf);
        if (rtp) track.push(rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
      });
    });
  }

  /** The rids of the layers being encoded now. */
  get runningLayers(): string[] {
    return [...this.running];
  }

  /** Ends the layers' tracks (the pipeline is its owner's to close); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.tracks) t.close();
  }

  private run(rid: string, on: boolean, o: OnDemandLayersOptions): void {
    if (this.closed || this.pipeline.closed || this.running.has(rid) === on) return;
    const e = lowerLayerElements(rid);
    this.pipeline.setProperty(e.valve, "drop", !on);
    if (on) this.running.add(rid);
    else this.running.delete(rid);
    o.onChange?.();
    if (on) {
      o.wake?.();
      this.pipeline.forceKeyUnit(e.sink);
    }
    o.log.debug(on ? "layer started" : "layer stopped", { rid });
  }
}
