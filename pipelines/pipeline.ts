import { createRequire } from "node:module";
import type GstModule from "gstreamer-superficial";
import type { GstElement } from "gstreamer-superficial";

// The package's main is a native addon, which only require() can load.
const gstreamer = createRequire(import.meta.url)("gstreamer-superficial") as typeof GstModule;

/** What a running pipeline reports about itself. */
export interface PipelineEvents {
  /** A bus error or unexpected end of stream; the pipeline is closed after it. */
  onError?: (message: string) => void;
  /** What the pipeline does, for runningPipelines() (e.g. "decode"). */
  kind?: string;
}

const running = new Map<string, number>();

/** Pipelines started and not yet closed in this process, by kind. */
export function runningPipelines(): ReadonlyMap<string, number> {
  return running;
}

/**
 * Owns one running GStreamer pipeline: starts it, pulls buffers from its
 * appsinks, pushes into its appsrcs, and stops it once. gstreamer-superficial
 * leaks a little per pipeline created, so owners keep pipelines long-lived.
 */
export class GstPipeline {
  private readonly pipeline: InstanceType<typeof gstreamer.Pipeline>;
  private readonly elements = new Map<string, GstElement>();
  private _closed = false;
  private started = false;

  constructor(
    readonly description: string,
    private readonly events: PipelineEvents = {},
  ) {
    this.pipeline = new gstreamer.Pipeline(description);
    // pollBus blocks a threadpool thread in gst_bus_timed_pop until a message
    // comes. A poll that starts after stop() (it waited for a free thread)
    // would find a flushed bus and block forever, and process exit would hang
    // joining that thread. Unflushed, the bus keeps stop()'s state-change
    // messages, so a late poll returns one and sees the pipeline stopped.
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
    this.pipeline.pollBus((msg) => {
      if (this._closed) return;
      if (msg.type === "error" || msg.type === "eos") {
        const text = `${msg.type}${msg._src_element_name ? ` in ${msg._src_element_name}` : ""}: ${msg.message ?? ""}`;
        try {
          this.events.onError?.(text);
        } finally {
          this.close();
        }
      }
    });
  }

  /**
   * Calls `onBuffer` for every buffer the named appsink produces, with the
   * fields of its caps (e.g. `width`, `height`), until the pipeline closes.
   * Only after start(): a pull on a stopped appsink returns nothing at once,
   * which would end the loop silently. Each pending pull holds a libuv
   * threadpool thread.
   */
  pullFrom(sinkName: string, onBuffer: (buf: Buffer, caps: Record<string, unknown>) => void): void {
    if (!this.started) throw new Error("start the pipeline before pulling from it");
    const sink = this.element(sinkName);
    if (typeof sink.pull !== "function") throw new TypeError(`${sinkName} is not an appsink`);
    const pull = sink.pull.bind(sink);
    const next = (buf: Buffer | undefined, caps?: Record<string, unknown>) => {
      if (this._closed || !buf) return;
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

  /** Stops the pipeline; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    if (this.started) {
      const kind = this.events.kind ?? "other";
      running.set(kind, (running.get(kind) ?? 1) - 1);
    }
    this.pipeline.stop();
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
