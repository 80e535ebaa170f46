import { createRequire } from "node:module";
import type GstModule from "gstreamer-superficial";
import type { GstBusMessage, GstElement } from "gstreamer-superficial";

// The package's main is a native addon, which only require() can load.
const gstreamer = createRequire(import.meta.url)("gstreamer-superficial") as typeof GstModule;

/** What a running pipeline reports about itself, and how it may be kept. */
export interface PipelineEvents {
  /** A bus error or unexpected end of stream; the pipeline is closed after it. */
  onError?: (message: string) => void;
  /** What the pipeline does, for runningPipelines() (e.g. "decode"). */
  kind?: string;
  /**
   * Once closed cleanly, keep the stopped pipeline for the next one made from
   * the same description. Only for pipelines whose owners set every property
   * they change for each buffer (decoders, stripe encoders): a reused one
   * keeps its elements' properties.
   */
  reuse?: boolean;
}

type NativePipeline = InstanceType<typeof gstreamer.Pipeline>;

/**
 * Stopped pipelines kept for reuse, by description. gstreamer-superficial
 * never frees a pipeline (its destructor does not unref it, and pollBus
 * keeps a reference for good): each one created stays in memory, several
 * MB for a 720p decoder (measured: 150 fallback viewers joining and
 * leaving grew the server by 580 MB). Reusing stopped ones bounds that by
 * how many ever ran at once.
 */
const idle = new Map<string, Array<{ native: NativePipeline; elements: Map<string, GstElement> }>>();
/** Most stopped pipelines kept per description; beyond, one is dropped (and stays in memory, as every pipeline used to). */
const MAX_IDLE_PER_DESCRIPTION = 64;

/** Stopped pipelines kept for reuse in this process (for tests and metrics). */
export function idlePipelines(): number {
  let n = 0;
  for (const list of idle.values()) n += list.length;
  return n;
}

const running = new Map<string, number>();
/** Native pipelines made in this process (reused ones not counted again): each stays in memory for good. */
let made = 0;

/** How many native pipelines this process has made (for tests: reuse keeps it flat). */
export function pipelinesMade(): number {
  return made;
}

/** Pipelines started and not yet closed in this process, by kind. */
export function runningPipelines(): ReadonlyMap<string, number> {
  return running;
}

/**
 * Owns one running GStreamer pipeline: starts it, pulls buffers from its
 * appsinks, pushes into its appsrcs, and stops it once. With `reuse`, the
 * stopped pipeline goes back to a pool once nothing of this owner can touch
 * it any more (its bus poll and appsink pulls have ended), and the next
 * GstPipeline of the same description takes it instead of a new one.
 */
export class GstPipeline {
  private readonly pipeline: NativePipeline;
  private readonly elements: Map<string, GstElement>;
  private _closed = false;
  private started = false;
  /** The bus poll still runs (it ends at the first message after stop()). */
  private polling = false;
  /** appsink pulls queued or running; each ends (with no buffer) once the pipeline stops. */
  private pulls = 0;
  /** Closed cleanly: the pipeline may be reused. */
  private reusable = false;
  private recycled = false;

  constructor(
    readonly description: string,
    private readonly events: PipelineEvents = {},
  ) {
    const kept = events.reuse ? idle.get(description)?.pop() : undefined;
    if (kept) {
      this.pipeline = kept.native;
      this.elements = kept.elements;
      return;
    }
    this.pipeline = new gstreamer.Pipeline(description);
    made++;
    this.elements = new Map();
    // pollBus waits in a threadpool thread for the next message, 250 ms at
    // most (scripts/addon-fixes.mjs), and polls again while the pipeline is
    // not stopped. A poll that starts after stop() (it waited for a free
    // thread) finds the pipeline stopped and ends without a message unless
    // the bus keeps stop()'s state-change messages: unflushed, it does, and
    // the owner hears that its poll ended.
    (this.pipeline as unknown as Record<string, unknown>)["auto-flush-bus"] = false;
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Starts the pipeline and watches its bus for errors. */
  start(): void {
    if (this._closed) throw new Error("pipeline is closed");
    if (this.started) return;
    this.started = true;
    const kind = this.events.kind ?? "other";
    running.set(kind, (running.get(kind) ?? 0) + 1);
    this.pipeline.play();
    this.polling = true;
    // gstreamer-superficial keeps a poll's callback for good: it reaches this owner only through `ref`, cleared once the poll ends, so a closed owner (and what it holds) can be collected.
    const ref: { owner: GstPipeline | undefined } = { owner: this };
    this.pipeline.pollBus((msg) => ref.owner?.busMessage(msg, ref));
  }

  /** One message of the bus poll; the first one after stop() is the last the poll delivers. */
  private busMessage(msg: GstBusMessage, ref: { owner: GstPipeline | undefined }): void {
    if (this._closed) {
      this.polling = false;
      ref.owner = undefined;
      this.recycle();
      return;
    }
    if (msg.type !== "error" && msg.type !== "eos") return;
    const text = `${msg.type}${msg._src_element_name ? ` in ${msg._src_element_name}` : ""}: ${msg.message ?? ""}`;
    try {
      this.events.onError?.(text);
    } finally {
      // Stopped here, the poll ends after this message.
      this.close(false);
      this.polling = false;
      ref.owner = undefined;
    }
  }

  /**
   * Calls `onBuffer` for every buffer the named appsink produces, with the
   * fields of its caps (e.g. `width`, `height`), until the pipeline closes.
   * Only after start(): a pull on a stopped appsink returns nothing at once,
   * which would end the loop silently. Each pending pull holds a libuv
   * threadpool thread for at most 250 ms (scripts/addon-fixes.mjs), so exit
   * never waits on one; a pull that timed out is asked again.
   *
   * With `reuse: n`, buffers are copied into a ring of `n` Buffers kept
   * here, each written again `n` buffers later: for large buffers (a raw
   * 720p picture is 1.4 MB), whose allocation at 30 a second V8 pays back
   * in major GCs. The consumer then keeps a buffer beyond its call only
   * while it is among the newest `n - 1`, and copies it otherwise.
   */
  pullFrom(sinkName: string, onBuffer: (buf: Buffer, caps: Record<string, unknown>) => void, { reuse = 0 } = {}): void {
    if (!this.started) throw new Error("start the pipeline before pulling from it");
    const sink = this.element(sinkName);
    const appsinkPull = sink.pull?.bind(sink);
    if (typeof appsinkPull !== "function") throw new TypeError(`${sinkName} is not an appsink`);
    const ring: Buffer[] = [];
    let slot = 0;
    const pull = (then: typeof next) => {
      this.pulls++;
      appsinkPull((buf, caps, bytes) => {
        this.pulls--;
        if (buf && reuse > 0) {
          // Copied into the ring's buffer (`bytes` of it), or, too small or not there yet, a new one that takes its place.
          if (bytes !== undefined) buf = buf.subarray(0, bytes);
          else ring[slot] = buf;
          slot = (slot + 1) % reuse;
        }
        then(buf, caps);
      }, ring[slot]);
    };
    const next = (buf: Buffer | undefined, caps?: Record<string, unknown>) => {
      if (this._closed) return this.recycle();
      if (!buf) {
        // No buffer: the pull timed out on a quiet pipeline (ask again), or the sink reached its end.
        if (sink["eos"] === true) return this.recycle();
        return pull(next);
      }
      try {
        onBuffer(buf, caps ?? {});
      } catch (err) {
        this.events.onError?.(`appsink ${sinkName} consumer threw: ${(err as Error).message}`);
      }
      pull(next);
    };
    pull(next);
  }

  /** Pushes one buffer into the named appsrc. */
  pushTo(srcName: string, buf: Buffer): void {
    if (this._closed) return;
    const src = this.element(srcName);
    if (typeof src.push !== "function") throw new TypeError(`${srcName} is not an appsrc`);
    src.push(buf);
  }

  /** Asks the encoder upstream of the named element for a keyframe. */
  forceKeyUnit(elementName: string): void {
    if (this._closed) return;
    this.pipeline.forceKeyUnit(elementName, 1);
  }

  /**
   * Sets a property of the named element. Elements read most properties when
   * they handle the next buffer, so set it before pushing the buffer it is for.
   */
  setProperty(elementName: string, property: string, value: string | number | boolean): void {
    if (this._closed) throw new Error("pipeline is closed");
    this.element(elementName)[property] = value;
  }

  /**
   * Where the named RTP payloader's sequence numbers and timestamps start,
   * before start(): at `offsets` (a pipeline made again for the same track
   * carries its numbering on), else at random. Set as properties, not in the
   * description, so that a pipeline of the same description can be reused.
   * (GStreamer's "random" timestamp offset, 2^32 - 1, reaches the element as
   * 0 through the add-on, so the random one is drawn here.)
   */
  numberFrom(payloaderName: string, offsets: { seqnumOffset: number; timestampOffset: number } | undefined): void {
    this.setProperty(payloaderName, "seqnum-offset", offsets ? offsets.seqnumOffset & 0xffff : -1);
    this.setProperty(payloaderName, "timestamp-offset", offsets ? offsets.timestampOffset >>> 0 : Math.floor(Math.random() * 0xffffffff));
  }

  /** Stops the pipeline; idempotent. `reusable` false: it failed or stalled, so it is not kept for reuse. */
  close(reusable = true): void {
    if (this._closed) return;
    this._closed = true;
    if (this.started) {
      const kind = this.events.kind ?? "other";
      running.set(kind, (running.get(kind) ?? 1) - 1);
    }
    this.pipeline.stop();
    this.reusable = reusable && this.events.reuse === true;
    this.recycle();
  }

  /** Puts the stopped pipeline back in the pool once no poll or pull of this owner is left. */
  private recycle(): void {
    if (!this._closed || !this.reusable || this.recycled || this.polling || this.pulls > 0) return;
    this.recycled = true;
    const list = idle.get(this.description) ?? [];
    if (list.length >= MAX_IDLE_PER_DESCRIPTION) return;
    list.push({ native: this.pipeline, elements: this.elements });
    idle.set(this.description, list);
  }

  // findChild() wraps the element anew and takes a GStreamer reference each
  // call; per-buffer pushes would pile them up, so each name is looked up once.
  private element(name: string): GstElement {
    let el = this.elements.get(name);
    if (el) return el;
    el = this.pipeline.findChild(name) ?? undefined;
    if (!el) throw new TypeError(`pipeline has no element named ${name}`);
    this.elements.set(name, el);
    return el;
  }
}
