import { GstPipeline } from "./pipeline.js";

/**
 * The error of a closed encoder, made once: an Error keeps the objects of
 * the stack it was made on (V8 formats its stack lazily), and one made in
 * close() would keep the closing owner, with its last pictures, as long as
 * this encoder is referenced.
 */
const CLOSED = new Error("encoder is closed");

/** How long one picture may take before the encoder counts as stuck, ms. */
const STALL_MS = 2000;

interface Job {
  input: Buffer;
  /** Runs just before the input is pushed: per-picture settings go here. */
  before?: () => void;
  resolve(out: Buffer): void;
  reject(err: Error): void;
}

/**
 * Runs a pipeline that turns each pushed buffer into exactly one output
 * buffer (an appsrc → encoder → appsink chain), as promises. One picture is
 * in flight at a time, so a property set for a picture (quality, a forced
 * keyframe) cannot reach an earlier one still queued in the pipeline.
 */
export class SerialEncoder {
  private readonly pipeline: GstPipeline;
  private readonly jobs: Job[] = [];
  private stallTimer: NodeJS.Timeout | undefined;
  private closeError: Error | undefined;
  /** Closed with a picture in the pipeline: it is stopped once that picture is out, so it can be reused. */
  private draining = false;

  /** `setup` sets what the description leaves out (caps, quality) on the pipeline, new or reused, before it starts. */
  constructor(
    description: string,
    private readonly srcName: string,
    sinkName: string,
    kind: "jpeg_encode" | "h264_encode",
    setup: (pipeline: GstPipeline) => void = () => undefined,
  ) {
    this.pipeline = new GstPipeline(description, { kind, reuse: true, onError: (message) => this.fail(new Error(message)) });
    setup(this.pipeline);
    this.pipeline.start();
    this.pipeline.pullFrom(sinkName, (buf) => this.onOutput(buf));
  }

  /** The pipeline, for setting element properties inside a job's `before`. */
  get gst(): GstPipeline {
    return this.pipeline;
  }

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  /** Encodes one picture; rejects if the encoder is or becomes closed. */
  encode(input: Buffer, before?: () => void): Promise<Buffer> {
    if (this.closeError) return Promise.reject(this.closeError);
    return new Promise((resolve, reject) => {
      this.jobs.push({ input, before, resolve, reject });
      if (this.jobs.length === 1) this.pushHead();
    });
  }

  /**
   * Rejects pending pictures and stops the pipeline; idempotent. A picture
   * already in the pipeline is let out first (within the stall time), so
   * the stopped pipeline holds nothing of it and can be reused: about one
   * close in six came mid-picture when fallback viewers joined and left.
   */
  close(): void {
    if (this.closeError) return;
    if (this.jobs.length === 0) return this.fail(CLOSED, true);
    this.closeError = CLOSED;
    this.draining = true;
    for (const job of this.jobs.splice(0)) job.reject(CLOSED);
  }

  private pushHead(): void {
    const job = this.jobs[0];
    try {
      job.before?.();
      this.pipeline.pushTo(this.srcName, job.input);
      // An encoder that swallows a picture would hold every later one: give up on it instead.
      this.stallTimer = setTimeout(() => this.fail(new Error(`no output within ${STALL_MS} ms`)), STALL_MS);
      this.stallTimer.unref();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private onOutput(buf: Buffer): void {
    clearTimeout(this.stallTimer);
    if (this.draining) {
      this.draining = false;
      this.pipeline.close(true);
      return;
    }
    const job = this.jobs.shift();
    if (!job) return;
    job.resolve(buf);
    if (this.jobs.length) this.pushHead();
  }

  /** Ends the encoder; only a clean close (no error, no stall, nothing in flight) leaves its pipeline fit for reuse. */
  private fail(err: Error, clean = false): void {
    if (this.draining) {
      // The picture let out on close never came (a stall, or the pipeline failed): not fit for reuse.
      this.draining = false;
      this.pipeline.close(false);
      return;
    }
    if (this.closeError) return;
    clearTimeout(this.stallTimer);
    this.closeError = err;
    this.pipeline.close(clean && this.jobs.length === 0);
    for (const job of this.jobs.splice(0)) job.reject(err);
  }
}
