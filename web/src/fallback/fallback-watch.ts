import type { ErrorMessage } from "../../../server/protocol/messages.js";
import { ackLine, KEYFRAME_LINE, settingsLine, type FallbackCodec, type StreamMessage } from "../../../server/protocol/fallback.js";
import type { SocketChannel } from "../control.js";
import type { StatsSample } from "../stats-summary.js";
import type { DeviceState } from "../watch.js";
import { fallbackSample, type FallbackCounters } from "./fallback-stats.js";
import { FrameAcks } from "./frame-acks.js";
import { H264Painter } from "./h264-painter.js";
import { JpegPainter } from "./jpeg-painter.js";
import type { StripePainter } from "./painter.js";
import { StreamClient, type StreamHello, type StreamSocketState } from "./stream-client.js";
import { fallbackUrl, type FallbackMessage } from "./stripe-wire.js";

/** How often painted frames are acked, ms (the server paces each viewer by its acks). */
export const ACK_INTERVAL_MS = 50;
/** How often the stats overlay gets a sample, ms. */
const STATS_INTERVAL_MS = 1000;

/** What a FallbackWatch tells the view. */
export interface FallbackWatchEvents {
  /** `ready` came: `peerId` names this viewer on the socket. */
  ready?(peerId: string): void;
  /** The socket's state in the player's words: connecting, connected (stream ready), disconnected, failed. */
  connectionState(state: RTCPeerConnectionState | "none"): void;
  deviceState(state: DeviceState): void;
  stats(sample: StatsSample): void;
  error(err: Pick<ErrorMessage, "code" | "message"> | null): void;
  /** The socket as the Controller's input channel (undefined once closed). */
  input(channel: SocketChannel | undefined): void;
  /** Who controls the device (and its name, if it gave one), from the socket. */
  control(holder: string | null, holderName?: string): void;
  /** A control request was refused (busy). */
  refused(err: { code: string; message: string }): void;
  /** Another viewer asks this one, the holder, for control. */
  asked(from: string, fromName?: string): void;
  /** A device message (cursor, clipboard, state, resolution), as the data channel would deliver it. */
  deviceMessage(text: string): void;
}

/**
 * Watching one device over the WebSocket fallback: the socket, a painter for
 * its codec drawing stripes on the canvas, acks of painted frames every
 * ACK_INTERVAL_MS, and the stats overlay's samples.
 */
export class FallbackWatch {
  private readonly client: StreamClient;
  private readonly painter: StripePainter;
  private readonly acks = new FrameAcks();
  private readonly counters: FallbackCounters = { bytes: 0, frames: 0, width: null, height: null };
  private readonly ackTimer: number;
  private readonly statsTimer: number;
  private _peerId: string | undefined;
  private _stream: StreamMessage | undefined;
  private _stats: StatsSample | undefined;
  private _closed = false;
  /** The server explained itself before closing: keep its words. */
  private gotError = false;
  /** The Controller's view of this socket. */
  readonly channel: SocketChannel;

  constructor(
    readonly deviceId: string,
    readonly codec: FallbackCodec,
    canvas: HTMLCanvasElement,
    private readonly events: FallbackWatchEvents,
    hello?: () => StreamHello | Promise<StreamHello>,
  ) {
    const done = (frameId: number, painted: boolean) => this.acks.done(frameId, painted);
    this.painter = codec === "jpeg" ? new JpegPainter(canvas, done) : new H264Painter(canvas, done, () => this.client.send(KEYFRAME_LINE));
    // The getters read this watch's state as it is when asked (the object literal's own `this` is the channel).
    const watch = () => this;
    this.channel = {
      kind: "socket",
      get readyState() {
        return watch().client.state === "open" ? "open" : "closed";
      },
      get bufferedAmount() {
        return watch().client.bufferedAmount;
      },
      get peerId() {
        return watch()._peerId;
      },
      send: (line) => void this.client.send(line),
      control: (action, to) => this.client.send(JSON.stringify({ type: "control", action, ...(to ? { to } : {}) })),
      rename: (name) => this.client.send(JSON.stringify({ type: "name", name })),
    };
    this.client = new StreamClient(
      fallbackUrl(location, deviceId, codec),
      {
        message: (m) => this.route(m),
        stripe: (s, bytes) => {
          this.counters.bytes += bytes;
          this.acks.received(s.frameId, performance.now());
          this.painter.paint(s);
        },
        state: (s, detail) => this.socketChanged(s, detail),
      },
      hello,
    );
    this.ackTimer = window.setInterval(() => this.ack(), ACK_INTERVAL_MS);
    this.statsTimer = window.setInterval(() => this.sample(), STATS_INTERVAL_MS);
    this.events.input(this.channel);
  }

  get transport(): "ws_jpeg" | "ws_h264" {
    return this.codec === "jpeg" ? "ws_jpeg" : "ws_h264";
  }

  /** This viewer's peer id on the fallback socket (from `ready`). */
  get peerId(): string | undefined {
    return this._peerId;
  }

  /** Frames painted so far (with at least one stripe drawn). */
  get framesPainted(): number {
    return this.counters.frames;
  }

  /** The last `stream` message. */
  get stream(): StreamMessage | undefined {
    return this._stream;
  }

  get stats(): StatsSample | undefined {
    return this._stats;
  }

  get socketState(): StreamSocketState {
    return this.client.state;
  }

  /** Sends `SETTINGS,{json}` (e.g. `{fps: 30}`); false when the socket is not open. */
  settings(settings: Record<string, number>): boolean {
    return this.client.send(settingsLine(settings));
  }

  /** Closes the socket and the decoders; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearInterval(this.ackTimer);
    clearInterval(this.statsTimer);
    this.client.close();
    this.painter.close();
    this.events.input(undefined);
    this.events.connectionState("none");
  }

  private route(m: FallbackMessage): void {
    if (this._closed) return;
    switch (m.type) {
      case "ready":
        this.gotError = false;
        this._peerId = m.peerId;
        this.events.error(null);
        this.events.deviceState("online");
        this.events.connectionState("connecting");
        this.events.ready?.(m.peerId);
        return;
      case "control":
        this.events.control(m.holder, m.holderName);
        return;
      case "control_request":
        this.events.asked(m.from, m.fromName);
        return;
      case "stream":
        this._stream = m;
        this.counters.width = m.width;
        this.counters.height = m.height;
        this.painter.resize(m.width, m.height);
        this.events.connectionState("connected");
        return;
      case "device_offline":
        this.events.deviceState("offline");
        return;
      case "device_online":
        this.events.deviceState("online");
        return;
      case "pace":
        this.counters.pace = { fps: m.fps, tier: m.tier, tiers: m.tiers };
        return;
      case "error":
        if (m.code === "busy") return this.events.refused(m);
        this.gotError = true;
        this.events.error({ code: m.code as ErrorMessage["code"], message: m.message });
        return;
      case "device":
        this.events.deviceMessage(m.text);
        return;
    }
  }

  private socketChanged(state: StreamSocketState, detail?: string): void {
    if (this._closed) return;
    if (state === "reconnecting") {
      // A new socket numbers frames from scratch and sends a new `stream`.
      this.acks.reset();
      this.events.connectionState("disconnected");
    } else if (state === "connecting") {
      this.events.connectionState("connecting");
    } else if (state === "closed") {
      this.events.connectionState("failed");
      if (detail && !this.gotError) this.events.error({ code: "internal", message: `fallback stream closed: ${detail}` });
    }
  }

  private ack(): void {
    const { ack, painted } = this.acks.poll(performance.now());
    this.counters.frames += painted;
    if (ack !== undefined) this.client.send(ackLine(ack));
  }

  private sample(): void {
    this._stats = fallbackSample(this.codec, this.counters, this._stats, performance.now());
    this.events.stats(this._stats);
  }
}
