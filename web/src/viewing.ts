import type { ClientMessage } from "../../server/protocol/messages.js";
import type { FallbackCodec } from "../../server/protocol/fallback.js";
import type { Controller } from "./control.js";
import { FallbackTrigger, type FallbackReason, type TransportChoice } from "./fallback/auto-fallback.js";
import { FallbackWatch } from "./fallback/fallback-watch.js";
import { h264Supported } from "./fallback/h264-painter.js";
import type { PlayerView, Transport } from "./player.js";
import type { RtcConfigSource } from "./rtc-config.js";
import type { SignalingState } from "./signaling.js";
import type { StatsSample } from "./stats-summary.js";
import { Watch, type WatchMessage, type WatchTimeline } from "./watch.js";

/** What a Viewing needs from the page. */
export interface ViewingDeps {
  signal: (msg: ClientMessage) => boolean;
  ice: RtcConfigSource;
  player: PlayerView;
  control: Controller;
  /** Devices that fell back to the WebSocket stream in this document: they stay there until a reload. */
  fellBack: Set<string>;
  /** The fallback socket's hello, with the session token when the server asks for one. */
  hello(): Promise<{ type: "hello"; token?: string; name?: string }>;
}

/**
 * Watching one device by the transport the page asked for: WebRTC (a Watch),
 * the WebSocket fallback (a FallbackWatch), or auto: WebRTC first, switched
 * for good to the fallback when FallbackTrigger gives WebRTC up.
 */
export class Viewing {
  private watch: Watch | undefined;
  private fallback: FallbackWatch | undefined;
  private trigger: FallbackTrigger | undefined;
  private _transport: Transport = "webrtc";
  private _fallbackReason: FallbackReason | "asked" | undefined;
  private closed = false;

  constructor(
    readonly deviceId: string,
    choice: TransportChoice,
    private readonly codec: FallbackCodec | undefined,
    private readonly deps: ViewingDeps,
  ) {
    const { player, control } = deps;
    player.setTransport("webrtc");
    if (choice === "ws" || deps.fellBack.has(deviceId)) {
      void this.useFallback("asked");
      return;
    }
    if (choice === "auto") {
      this.trigger = new FallbackTrigger(
        { set: (fn, ms) => window.setTimeout(fn, ms), clear: (h) => clearTimeout(h as number) },
        (reason) => void this.useFallback(reason),
      );
    }
    const trigger = this.trigger;
    this.watch = new Watch(
      deviceId,
      deps.signal,
      {
        stream: (s) => player.attach(s),
        connectionState: (s) => {
          trigger?.connectionState(s);
          if (this.watch) player.setConnection(s);
        },
        deviceState: (s) => {
          trigger?.deviceState(s);
          player.setDevice(s);
        },
        stats: (s) => player.renderStats(s),
        error: (e) => {
          if (e?.code !== "not_found") return player.setError(e);
          // Not there (yet): wait for it, as for a device gone offline; viewer.ts watches again
          // once it is listed. Never a reason to give WebRTC up.
          trigger?.deviceState("offline");
          player.setError(null);
          player.setDevice("offline");
        },
        input: (c, pointer) => control.setChannel(c, pointer),
        talkSender: (s) => control.setTalkSender(s),
        progress: (step) => {
          if (step === "watch") trigger?.watchSent();
          else if (step === "offer") trigger?.offered();
          else trigger?.answered();
        },
        unplayable: (codecs) => {
          const names = codecs.map((c) => c.toUpperCase()).join(", ");
          console.info(`tessera: this browser cannot decode ${names} over WebRTC`);
          if (trigger) trigger.unplayable();
          else
            player.setError({
              code: "unsupported",
              message: `This browser cannot decode ${names} over WebRTC; the WebSocket stream (?transport=ws) can show it.`,
            });
        },
      },
      deps.ice,
    );
  }

  /** "webrtc", or the fallback's "ws_jpeg" / "ws_h264". */
  get transport(): Transport {
    return this._transport;
  }

  /** Why this device is on the fallback stream (undefined while on WebRTC). */
  get fallbackReason(): FallbackReason | "asked" | undefined {
    return this._fallbackReason;
  }

  get pc(): RTCPeerConnection | undefined {
    return this.watch?.pc;
  }

  get stats(): StatsSample | undefined {
    return this.fallback?.stats ?? this.watch?.stats;
  }

  get timeline(): WatchTimeline | undefined {
    return this.watch?.timeline;
  }

  get lastError(): string | undefined {
    return this.watch?.lastError;
  }

  /** The fallback stream, while in use. */
  get fallbackWatch(): FallbackWatch | undefined {
    return this.fallback;
  }

  /** Sends `watch` (after every welcome); the fallback socket needs no signaling. */
  start(): void {
    this.watch?.start();
  }

  /** A signaling message for this device. */
  handle(msg: WatchMessage): void {
    this.watch?.handle(msg);
  }

  /** Signaling's state: while it is down, WebRTC is not expected to progress. */
  signalingState(state: SignalingState): void {
    if (state !== "open") this.trigger?.pause();
  }

  /** Ends watching; `unwatch` tells the server (for WebRTC); idempotent. */
  close(unwatch: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.trigger?.close();
    this.watch?.close(unwatch);
    this.watch = undefined;
    this.fallback?.close();
    this.fallback = undefined;
  }

  private async useFallback(reason: FallbackReason | "asked"): Promise<void> {
    if (this.closed || this.fallback) return;
    const { player, control } = this.deps;
    if (reason !== "asked") console.info(`tessera: WebRTC gave up (${reason}); switching to the WebSocket stream`);
    this._fallbackReason = reason;
    this.deps.fellBack.add(this.deviceId);
    player.setFallback(reason);
    this.trigger?.close();
    // The server drops the WebRTC subscription; the Watch lets go of its channel and peer connection.
    const watch = this.watch;
    this.watch = undefined;
    watch?.close(true);
    const codec = this.codec ?? ((await h264Supported()) ? "h264" : "jpeg");
    if (this.closed) return;
    this._transport = codec === "jpeg" ? "ws_jpeg" : "ws_h264";
    player.setTransport(this._transport);
    player.renderStats(undefined);
    player.setConnection("connecting");
    this.fallback = new FallbackWatch(
      this.deviceId,
      codec,
      player.picture.canvas,
      {
        connectionState: (s) => player.setConnection(s),
        deviceState: (s) => player.setDevice(s),
        stats: (s) => player.renderStats(s),
        error: (e) => player.setError(e),
        input: (c) => control.setChannel(c),
        control: (holder, name) => control.socketControl(holder, name),
        refused: (e) => control.refused(e),
        asked: (from, name) => control.asked(from, name),
        deviceMessage: (text) => control.deviceMessage(text),
      },
      () => this.deps.hello(),
    );
  }
}
