import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { z } from "zod";
import type { Metrics } from "../../metrics/metrics.js";
import type { Device } from "../devices/device.js";
import { badRequest, closeCodeFor, closeReason, notFound, toClientError } from "../errors.js";
import { inputBucket, type TokenBucket } from "../input/rate-limiter.js";
import type { Lease } from "../limits.js";
import type { Logger } from "../log.js";
import { nextFrameId, streamMessage, type FallbackCodec } from "../protocol/fallback.js";
import { CLOSE_CODES, CONTROL_ACTIONS, HELLO_TIMEOUT_MS, viewerName } from "../protocol/messages.js";
import { ViewerSeat } from "../sessions/viewer-seat.js";
import { FlowControl } from "./backpressure.js";
import { Pacer, QUALITY_TIERS } from "./pacer.js";
import type { EncodedFrame, EncodedStripe, FallbackSource, FrameListener } from "./source.js";
import { encodeH264Stripe, encodeJpegStripe, parseClientMessage } from "./wire.js";

/** Bytes the socket may hold unsent before the viewer counts as stalled. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** How often a viewer missing IDRs asks again, ms. */
const IDR_ASK_INTERVAL_MS = 300;

/** JSON messages a fallback viewer may send besides the stream's own lines. */
const jsonMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("hello"), token: z.string().max(8192).optional(), name: viewerName.optional() }),
  z.strictObject({ type: z.literal("name"), name: viewerName }),
  z.strictObject({ type: z.literal("control"), action: z.enum(CONTROL_ACTIONS), to: z.string().min(1).max(64).optional() }),
]);

/** `{[key]: name}` when there is a name, else nothing. */
const named = (key: string, name: string | undefined): Record<string, string> => (name === undefined ? {} : { [key]: name });

/** What a fallback viewer needs from the app. */
export interface FallbackViewerDeps {
  metrics: Metrics;
  log: Logger;
  inputRate: number;
  /** Highest frame rate a viewer gets, whatever it asks for. */
  maxFps: number;
  /** The account a hello's token belongs to; throws a TesseraError when refused. */
  authenticate(token: string | undefined): Promise<{ account: string }>;
  /** The account's device, or undefined (also for another account's device). */
  findDevice(account: string, deviceId: string): Device | undefined;
  /** The shared source of a device's stream in a codec and quality tier, started on first use. */
  acquire(device: Device, codec: FallbackCodec, tier: number): FallbackSource;
  /** Gives a source back; the last viewer leaving stops it. */
  release(source: FallbackSource): void;
  /** Counts this viewer against the `fallback-viewers` limits of its account; throws a `limit` error when refused. */
  lease(account: string): Lease;
}

/**
 * One WebSocket fallback viewer on `/ws/stream/{deviceId}`: after its hello
 * it receives the device's stripes from the shared source, paced by its own
 * acks (FlowControl) and fps cap, and may control the device with the same
 * input lines and arbitration as a WebRTC viewer. A viewer that falls behind
 * is paused, loses what was queued, and gets a whole picture when it
 * catches up; it never slows the source or other viewers. Its Pacer adapts
 * it to its link: the frame rate, then the quality tier (a lower tier's
 * source, shared with other slow viewers) follow its ack round trip; it is
 * told in `pace`.
 */
export class FallbackViewer implements FrameListener {
  readonly peerId = `fb-${randomUUID()}`;
  private seat: ViewerSeat | undefined;
  private source: FallbackSource | undefined;
  private readonly flow = new FlowControl({ now: () => performance.now() });
  private readonly bucket: TokenBucket;
  private frameId = 0xffff;
  private lastSize = "";
  /** The frame rate it is sent at: what it asked for (capped by the server), or less while its link is slow. */
  private fps: number;
  private readonly pacer: Pacer;
  private device: Device | undefined;
  /**
   * The fps cap as a token bucket: bursts of a few frames pass, so jitter at
   * the cap costs nothing. JPEG allows two; H.264 four, since a frame skipped
   * there costs every viewer of the stream a set of IDRs (traced with two:
   * one or two extra sets in the second after a viewer joined, the source's
   * frames coming unevenly).
   */
  private readonly fpsBurst: number;
  private fpsTokens: number;
  private fpsRefilledAt = performance.now();
  /** A whole picture is owed (join, keyframe request, recovery from a pause). */
  private needFull = true;
  /** JPEG: stripes changed in frames this viewer skipped. */
  private readonly dirty = new Set<number>();
  /** H.264: stripes that must start again at an IDR before deltas make sense. */
  private readonly awaitingIdr = new Set<number>();
  /** When this viewer last asked the source for IDRs, performance.now(). */
  private lastIdrAsk = -Infinity;
  private helloTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** This socket counted against the `fallback-viewers` limits, from hello. */
  private lease: Lease | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly deviceId: string,
    private readonly codec: FallbackCodec,
    private readonly deps: FallbackViewerDeps,
  ) {
    this.fps = deps.maxFps;
    this.fpsBurst = this.fpsTokens = codec === "h264" ? 4 : 2;
    this.pacer = new Pacer(deps.maxFps, performance.now());
    this.bucket = inputBucket(deps.inputRate);
    this.helloTimer = setTimeout(() => this.close(CLOSE_CODES.helloTimeout, "no hello"), HELLO_TIMEOUT_MS);
    ws.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on("close", () => this.cleanup());
    ws.on("error", () => this.cleanup());
  }

  private get transport(): "ws_jpeg" | "ws_h264" {
    return this.codec === "jpeg" ? "ws_jpeg" : "ws_h264";
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.refuse(badRequest("the fallback stream takes text messages only"));
    const text = data.toString("utf8");
    if (text.startsWith("{")) return this.json(text);
    const seat = this.seat;
    if (!seat) return this.refuse(badRequest("say hello first"));
    const msg = parseClientMessage(text);
    switch (msg.kind) {
      case "ack":
        this.flow.ack(msg.frameId);
        if (this.flow.takeRefresh()) this.needFull = true;
        this.adapt(false);
        return;
      case "keyframe":
        this.needFull = true;
        return;
      case "settings":
        if (msg.settings.fps !== undefined) {
          this.pacer.setMaxFps(Math.min(msg.settings.fps, this.deps.maxFps));
          this.fps = this.pacer.pace.fps;
        }
        this.source?.apply(msg.settings);
        return;
      case "input":
        return seat.input(msg.line);
      case "error":
        return this.sendJson({ type: "error", code: "bad_request", message: msg.message });
    }
  }

  private json(text: string): void {
    // Before hello, anything but a hello ends the socket (4400); after it, a bad message is only refused.
    const bad = (message: string) =>
      this.helloTimer !== undefined ? this.refuse(badRequest(message)) : this.sendJson({ type: "error", code: "bad_request", message });
    let parsed;
    try {
      parsed = jsonMessage.safeParse(JSON.parse(text));
    } catch {
      return bad("malformed JSON");
    }
    if (!parsed.success) return bad(`expected hello or control: ${parsed.error.issues[0].message}`);
    const msg = parsed.data;
    if (msg.type === "hello") {
      if (this.seat || this.helloTimer === undefined) return this.sendJson({ type: "error", code: "bad_request", message: "hello was already said" });
      clearTimeout(this.helloTimer);
      this.helloTimer = undefined;
      this.hello(msg.token, msg.name).catch((err: unknown) => this.refuse(err));
      return;
    }
    if (!this.seat) return this.refuse(badRequest("say hello first"));
    if (msg.type === "name") return this.seat.rename(msg.name);
    try {
      this.seat.control(msg.action, msg.to);
    } catch (err) {
      const { code, message } = toClientError(err);
      this.sendJson({ type: "error", code, message });
    }
  }

  private controlState(holder: string | null): object {
    return { type: "control", holder, ...named("holderName", this.seat?.nameOf(holder)) };
  }

  private async hello(token: string | undefined, name: string | undefined): Promise<void> {
    const { account } = await this.deps.authenticate(token);
    if (this.closed) return;
    const device = this.deps.findDevice(account, this.deviceId);
    if (!device) throw notFound(`no device '${this.deviceId}'`);
    this.lease = this.deps.lease(account);
    const source = this.deps.acquire(device, this.codec, 0);
    const seat = new ViewerSeat({
      device,
      peerId: this.peerId,
      name,
      metrics: this.deps.metrics,
      inputBucket: this.bucket,
      listener: {
        onControl: (holder) => this.sendJson(this.controlState(holder)),
        onDeviceMessage: (text) => this.sendText(text),
        onAsk: (from) => this.sendJson({ type: "control_request", from, ...named("fromName", this.seat?.nameOf(from)) }),
        onRefused: () => this.sendJson({ type: "error", code: "busy", ref: "control", message: `the viewer controlling '${this.deviceId}' keeps control` }),
        onBusy: (message) => this.sendJson({ type: "error", code: "busy", ref: "control", message }),
      },
    });
    this.seat = seat;
    seat.setTransport(this.transport);
    this.sendJson({ type: "ready", peerId: this.peerId, deviceId: this.deviceId });
    this.sendJson(this.controlState(seat.holder));
    for (const text of seat.replay()) this.sendText(text);
    if (!device.online) this.sendJson({ type: "device_offline" });
    this.device = device;
    this.source = source;
    this.source.add(this);
    this.needFull = true;
    this.askForAllIdrs();
  }

  onDeviceState(online: boolean): void {
    this.sendJson({ type: online ? "device_online" : "device_offline" });
  }

  onFrame(frame: EncodedFrame): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const size = `${frame.width}x${frame.height}/${frame.stripeHeight}`;
    if (size !== this.lastSize) {
      this.lastSize = size;
      this.sendText(streamMessage({ width: frame.width, height: frame.height, codec: this.codec, stripeHeight: frame.stripeHeight }));
      this.needFull = true;
      this.dirty.clear();
      this.awaitingIdr.clear();
    }
    for (const s of frame.stripes) this.dirty.add(s.index);
    const now = performance.now();
    this.fpsTokens = Math.min(this.fpsBurst, this.fpsTokens + ((now - this.fpsRefilledAt) * this.fps) / 1000);
    this.fpsRefilledAt = now;
    if (this.fpsTokens < 1) return this.skipped(frame);
    if (!this.flow.canSend() || this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      const reason = this.flow.takePause() ?? (this.ws.bufferedAmount > MAX_BUFFERED_BYTES ? "limit" : undefined);
      if (reason) {
        this.deps.metrics.fallbackPaused(reason);
        this.adapt(true);
      }
      this.needFull = true;
      return this.skipped(frame);
    }
    if (this.flow.takeRefresh()) this.needFull = true;
    const stripes = this.codec === "jpeg" ? this.jpegStripes(frame) : this.h264Stripes(frame);
    if (stripes.length === 0) return;
    this.frameId = nextFrameId(this.frameId);
    let bytes = 0;
    let paintOvers = 0;
    for (const s of stripes) {
      const msg =
        this.codec === "jpeg"
          ? encodeJpegStripe(this.frameId, s.rows.y, s.data)
          : encodeH264Stripe({ idr: s.idr, frameId: this.frameId, y: s.rows.y, width: frame.width, height: s.rows.height }, s.data);
      bytes += msg.length;
      if (s.paintOver) paintOvers++;
      this.ws.send(msg);
    }
    this.flow.sent(this.frameId, bytes);
    this.fpsTokens -= 1;
    this.deps.metrics.fallbackFrame(this.codec, stripes.length, bytes, paintOvers);
    if (frame.ingressAt !== undefined) this.deps.metrics.fallbackLatency(performance.now() - frame.ingressAt);
  }

  /** Lets the pacer see the link (after an ack, or a pause); follows a new pace. */
  private adapt(paused: boolean): void {
    const pace = this.pacer.update({ rttMs: this.flow.rttMs, deliveredFps: this.flow.deliveredFps, paused }, performance.now());
    if (!pace) return;
    this.fps = pace.fps;
    if (this.device && this.source && pace.tier !== this.source.tier) {
      // Another tier's source: a whole picture from it, then its changes.
      const old = this.source;
      try {
        this.source = this.deps.acquire(this.device, this.codec, pace.tier);
      } catch (err) {
        // No pipeline may start for that tier (a limit): stay on this one.
        this.deps.log.debug("fallback tier unavailable", { device: this.deviceId, tier: pace.tier, err: toClientError(err).message });
        this.sendJson({ type: "pace", fps: pace.fps, tier: old.tier, tiers: QUALITY_TIERS });
        return;
      }
      this.source.add(this);
      old.remove(this);
      this.deps.release(old);
      this.needFull = true;
      this.dirty.clear();
      this.askForAllIdrs();
      this.deps.metrics.fallbackTier(pace.tier > old.tier ? "down" : "up");
    }
    this.sendJson({ type: "pace", fps: pace.fps, tier: pace.tier, tiers: QUALITY_TIERS });
  }

  /** JPEG: every stripe changed since the last send, at its latest encoding; all of them when a whole picture is owed. */
  private jpegStripes(frame: EncodedFrame): EncodedStripe[] {
    // The usual case, a viewer that got the previous frame: exactly this frame's stripes.
    if (!this.needFull && this.dirty.size === frame.stripes.length) {
      this.dirty.clear();
      return frame.stripes;
    }
    const snapshot = this.source?.snapshot();
    if (!snapshot) return [];
    const full = this.needFull && snapshot.stripes.length === frame.layout.length;
    const out = snapshot.stripes.filter((s) => full || this.dirty.has(s.index));
    if (full) this.needFull = false;
    this.dirty.clear();
    return out;
  }

  /**
   * H.264: this frame's stripes, except deltas of stripes still waiting for
   * their IDR. IDRs are asked for after this frame is looked at: it may be
   * the one the viewer's hello asked for, and an ask for IDRs it already
   * carries would cost every viewer of the stream another set.
   */
  private h264Stripes(frame: EncodedFrame): EncodedStripe[] {
    if (this.needFull) {
      this.needFull = false;
      frame.layout.forEach((_, i) => this.awaitingIdr.add(i));
    }
    this.dirty.clear();
    const out = frame.stripes.filter((s) => {
      if (s.idr) this.awaitingIdr.delete(s.index);
      return !this.awaitingIdr.has(s.index);
    });
    this.askForIdr();
    return out;
  }

  /** A frame this viewer did not get: H.264 stripes in it need an IDR before their next delta. */
  private skipped(frame: EncodedFrame): void {
    if (this.codec !== "h264" || frame.stripes.length === 0) return;
    for (const s of frame.stripes) this.awaitingIdr.add(s.index);
    this.askForIdr();
  }

  /**
   * Asks the source for IDRs of the stripes this viewer waits on, at most
   * every 300 ms while any is missing (an IDR encoded for it may have gone
   * by in a frame it skipped). Every viewer of the stream gets them.
   */
  private askForIdr(): void {
    if (this.awaitingIdr.size === 0) return;
    const t = performance.now();
    if (t - this.lastIdrAsk < IDR_ASK_INTERVAL_MS) return;
    this.lastIdrAsk = t;
    this.source?.requestIdr(this.awaitingIdr);
  }

  /** Asks the source for IDRs of every stripe (a new viewer, a new tier), and counts it as an ask. */
  private askForAllIdrs(): void {
    this.lastIdrAsk = performance.now();
    this.source?.requestIdr();
  }

  private sendJson(msg: object): void {
    this.sendText(JSON.stringify(msg));
  }

  private sendText(text: string): void {
    if (!this.closed && this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Tells the viewer why (what toClientError lets a client see) and closes with the matching code. */
  private refuse(err: unknown): void {
    const { code, message } = toClientError(err);
    if (code === "internal") this.deps.log.error("fallback viewer failed", { err });
    this.sendJson({ type: "error", code, message });
    this.close(closeCodeFor(code), closeReason(message));
  }

  close(code: number = CLOSE_CODES.normal, reason = ""): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    if (this.source) {
      this.source.remove(this);
      this.deps.release(this.source);
    }
    this.seat?.close();
    this.lease?.release();
  }
}
