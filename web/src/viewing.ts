import type { ClientMessage, ControlState } from "../../server/protocol/messages.js";
import type { FallbackCodec } from "../../server/protocol/fallback.js";
import type { Controller } from "./control.js";
import { ControlCarry } from "./control-carry.js";
import { FallbackTrigger, type FallbackReason, type TransportChoice } from "./fallback/auto-fallback.js";
import { FallbackWatch } from "./fallback/fallback-watch.js";
import { h264Supported } from "./fallback/h264-painter.js";
import { PROBE_DEADLINE_MS, ProbeBackoff, ProbeJudge } from "./fallback/probe-back.js";
import type { PlayerView, Transport } from "./player.js";
import type { RtcConfigSource } from "./rtc-config.js";
import type { SignalingState } from "./signaling.js";
import type { StatsSample } from "./stats-summary.js";
import { Watch, type WatchEvents, type WatchMessage, type WatchTimeline } from "./watch.js";

/** Why the page is on the fallback stream: the automatic reasons, or asked for (`?transport=ws`). */
export type FallbackCause = FallbackReason | "asked";

/** One change of transport, for the overlay and tests. */
export interface TransportSwitch {
  /** performance.now() of the switch. */
  at: number;
  to: Transport;
  /** Why: a fallback reason, or "probe" for a return to WebRTC. */
  reason: FallbackCause | "probe";
  /** Whether control moved with the page (undefined: it held none). */
  controlKept?: boolean;
}

/** What a Viewing needs from the page. */
export interface ViewingDeps {
  signal: (msg: ClientMessage) => boolean;
  ice: RtcConfigSource;
  player: PlayerView;
  control: Controller;
  /** Devices that fell back to the WebSocket stream in this document, and why: they start there (and probe) until a reload. */
  fellBack: Map<string, FallbackCause>;
  /** The signaling socket's peer id (this page's identity over WebRTC). */
  peerId(): string | undefined;
  /** The fallback socket's hello, with the session token when the server asks for one. */
  hello(): Promise<{ type: "hello"; token?: string; name?: string }>;
  /** Hears every change of transport. */
  switched?(s: TransportSwitch): void;
}

/** A WebRTC watch tried in the background while the fallback stream plays. */
interface Probe {
  watch: Watch;
  judge: ProbeJudge;
  deadline: number;
  stream?: MediaStream;
  input?: RTCDataChannel;
  pointer?: RTCDataChannel;
  talk?: RTCRtpSender;
}

/** Reasons after which trying WebRTC again cannot help. */
const NO_PROBE: ReadonlySet<FallbackCause> = new Set(["asked", "no_codec"]);

/**
 * Watching one device by the transport the page asked for: WebRTC (a Watch),
 * the WebSocket fallback (a FallbackWatch), or auto: WebRTC first, moved to
 * the fallback when FallbackTrigger gives WebRTC up (while connecting or at
 * any time later), and back to WebRTC when a probe in the background shows
 * a live picture (web/src/fallback/probe-back.ts). Control moves with the
 * page (web/src/control-carry.ts).
 */
export class Viewing {
  private watch: Watch | undefined;
  private fallback: FallbackWatch | undefined;
  private trigger: FallbackTrigger | undefined;
  private probe: Probe | undefined;
  private probeTimer: number | undefined;
  private readonly backoff = new ProbeBackoff();
  private carry: ControlCarry | undefined;
  private _transport: Transport = "webrtc";
  private _fallbackReason: FallbackCause | undefined;
  private closed = false;
  private viewSize: { width: number; height: number } | undefined;
  /** The server still holds this page's WebRTC watch for a move of control: `unwatch` is owed. */
  private unwatchOwed = false;

  constructor(
    readonly deviceId: string,
    choice: TransportChoice,
    private readonly codec: FallbackCodec | undefined,
    private readonly deps: ViewingDeps,
  ) {
    deps.player.setTransport("webrtc");
    const before = choice === "auto" ? deps.fellBack.get(deviceId) : undefined;
    if (choice === "ws" || before) {
      void this.useFallback(before ?? "asked");
      return;
    }
    if (choice === "auto") this.trigger = this.newTrigger();
    this.watch = this.newWatch();
  }

  /** "webrtc", or the fallback's "ws_jpeg" / "ws_h264". */
  get transport(): Transport {
    return this._transport;
  }

  /** Why this device is on the fallback stream (undefined while on WebRTC). */
  get fallbackReason(): FallbackCause | undefined {
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

  /** True while a WebRTC probe runs behind the fallback stream. */
  get probing(): boolean {
    return this.probe !== undefined;
  }

  /** Sends `watch` (after every welcome); the fallback socket needs no signaling. */
  start(): void {
    this.watch?.start();
    this.probe?.watch.start();
  }

  /**
   * Tells the server the size the picture is shown at (device pixels), so
   * a simulcast device's layer follows; sent on WebRTC only, after every
   * answer (a new subscription) and when the size changes.
   */
  sendView(size: { width: number; height: number } | undefined): void {
    this.viewSize = size;
    // Before an answer the server has no subscription to size.
    if (!this.watch || this.watch.timeline.answerSentAt === null || !size || size.width < 1 || size.height < 1) return;
    this.deps.signal({ type: "view", deviceId: this.deviceId, width: Math.min(16384, size.width), height: Math.min(16384, size.height) });
  }

  /** A signaling message for this device. */
  handle(msg: WatchMessage): void {
    (this.watch ?? this.probe?.watch)?.handle(msg);
  }

  /** Signaling's state: while it is down, WebRTC is not expected to progress. */
  signalingState(state: SignalingState): void {
    if (state !== "open") this.trigger?.pause();
  }

  /** An ask for control reached this page over signaling: true when it is the page's own (moving transport), answered here. */
  asked(from: string): boolean {
    return this.carry?.asked(from) ?? false;
  }

  /** A control request over signaling was refused: true when that is part of moving control, and not the user's business. */
  refused(code: string): boolean {
    return this.carry?.refused(code) ?? false;
  }

  /** A `control` message from signaling. */
  controlChanged(msg: ControlState): void {
    if (msg.deviceId === this.deviceId) this.carry?.holder(msg.holder);
  }

  /** Ends watching; `unwatch` tells the server (for WebRTC); idempotent. */
  close(unwatch: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.trigger?.close();
    this.carry?.cancel();
    if (this.unwatchOwed) this.deps.signal({ type: "unwatch", deviceId: this.deviceId });
    this.stopProbe(unwatch);
    this.watch?.close(unwatch);
    this.watch = undefined;
    this.fallback?.close();
    this.fallback = undefined;
  }

  /** What gives WebRTC up for the fallback stream (`?transport=auto`). */
  private newTrigger(): FallbackTrigger {
    return new FallbackTrigger(
      { set: (fn, ms) => window.setTimeout(fn, ms), clear: (h) => clearTimeout(h as number) },
      (reason) => void this.useFallback(reason),
    );
  }

  /** A Watch whose events reach the player (while it is the one in use) or the probe's judge (while it is a probe). */
  private newWatch(): Watch {
    const { player, control } = this.deps;
    // `self` is declared below; its events come only after start().
    const live = () => self === this.watch;
    const probing = () => (this.probe?.watch === self ? this.probe : undefined);
    const events: WatchEvents = {
      stream: (s) => {
        if (live()) player.attach(s);
        const p = probing();
        if (p) p.stream = s;
      },
      connectionState: (s) => {
        if (live()) {
          this.trigger?.connectionState(s);
          player.setConnection(s);
        }
        probing()?.judge.connectionState(s, performance.now());
      },
      deviceState: (s) => {
        if (!live()) return;
        this.trigger?.deviceState(s);
        player.setDevice(s);
      },
      stats: (s) => {
        if (live()) {
          this.trigger?.sample(s);
          player.renderStats(s);
        }
        if (probing()?.judge.sample(s) === "pass") this.comeBack();
      },
      error: (e) => {
        if (!live()) return;
        if (e?.code !== "not_found") return player.setError(e);
        // Not there (yet): wait for it, as for a device gone offline; viewer.ts watches again
        // once it is listed. Never a reason to give WebRTC up.
        this.trigger?.deviceState("offline");
        player.setError(null);
        player.setDevice("offline");
      },
      input: (c, pointer) => {
        if (live()) control.setChannel(c, pointer);
        const p = probing();
        if (p) [p.input, p.pointer] = [c, pointer];
      },
      talkSender: (s) => {
        if (live()) control.setTalkSender(s);
        const p = probing();
        if (p) p.talk = s;
      },
      progress: (step) => {
        if (!live()) return;
        if (step === "watch") this.trigger?.watchSent();
        else if (step === "offer") this.trigger?.offered();
        else {
          this.trigger?.answered();
          this.sendView(this.viewSize);
        }
      },
      unplayable: (codecs) => {
        if (probing()) return this.failProbe("no_codec");
        if (!live()) return;
        const names = codecs.map((c) => c.toUpperCase()).join(", ");
        console.info(`tessera: this browser cannot decode ${names} over WebRTC`);
        if (this.trigger) this.trigger.unplayable();
        else
          player.setError({
            code: "unsupported",
            message: `This browser cannot decode ${names} over WebRTC; the WebSocket stream (?transport=ws) can show it.`,
          });
      },
    };
    const self = new Watch(this.deviceId, this.deps.signal, events, this.deps.ice);
    return self;
  }

  /** WebRTC → the WebSocket stream (at the start, or when the trigger gives WebRTC up). */
  private async useFallback(reason: FallbackCause): Promise<void> {
    if (this.closed || this.fallback) return;
    const { player, control } = this.deps;
    if (reason !== "asked") console.info(`tessera: WebRTC gave up (${reason}); switching to the WebSocket stream`);
    this._fallbackReason = reason;
    this.deps.fellBack.set(this.deviceId, reason);
    player.setFallback(reason);
    this.trigger?.close();
    this.trigger = undefined;
    // Control held over WebRTC moves to the socket below; until it has, the server must keep this
    // page's WebRTC watch (leaving would free control), so `unwatch` waits for the move.
    const held = this.watch !== undefined && control.mine && this.deps.peerId() !== undefined;
    const watch = this.watch;
    this.watch = undefined;
    watch?.close(!held);
    // Its events stop with it: talk-back (WebRTC only) goes now.
    if (watch) control.setTalkSender(undefined);
    const codec = this.codec ?? ((await h264Supported()) ? "h264" : "jpeg");
    if (this.closed) return;
    this._transport = codec === "jpeg" ? "ws_jpeg" : "ws_h264";
    player.setTransport(this._transport);
    player.renderStats(undefined);
    player.setConnection("connecting");
    const fallback = this.newFallback(codec);
    this.fallback = fallback;
    control.setChannel(fallback.channel);
    if (held) {
      this.unwatchOwed = true;
      this.carry = new ControlCarry({
        to: () => fallback.peerId,
        request: () => fallback.channel.control("request"),
        handOver: (to) => this.deps.signal({ type: "control", action: "hand_over", deviceId: this.deviceId, to }),
        done: (moved) => {
          this.unwatchOwed = false;
          this.deps.signal({ type: "unwatch", deviceId: this.deviceId });
          this.switched(reason, moved);
        },
      });
    } else if (reason !== "asked") this.switched(reason, undefined);
    if (!NO_PROBE.has(reason)) this.scheduleProbe(this.backoff.fellBack(performance.now()));
  }

  /** A FallbackWatch whose events reach the player while it is the one in use; asks and control reach a move in progress. */
  private newFallback(codec: FallbackCodec): FallbackWatch {
    const { player, control } = this.deps;
    // The constructor already reports its input channel, before it is the one in use: useFallback hands it over.
    const ref: { self?: FallbackWatch } = {};
    const live = () => ref.self !== undefined && ref.self === this.fallback;
    ref.self = new FallbackWatch(
      this.deviceId,
      codec,
      player.picture.canvas,
      {
        ready: () => this.carry?.ready(),
        connectionState: (s) => live() && player.setConnection(s),
        deviceState: (s) => live() && player.setDevice(s),
        stats: (s) => live() && player.renderStats(s),
        error: (e) => live() && player.setError(e),
        input: (c) => live() && control.setChannel(c),
        control: (holder, name) => {
          this.carry?.holder(holder);
          if (live()) control.socketControl(holder, name);
        },
        refused: (e) => {
          if (!this.carry?.refused(e.code) && live()) control.refused(e);
        },
        asked: (from, name) => {
          if (!this.carry?.asked(from) && live()) control.asked(from, name);
        },
        deviceMessage: (text) => live() && control.deviceMessage(text),
      },
      () => this.deps.hello(),
    );
    return ref.self;
  }

  private scheduleProbe(ms: number): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = window.setTimeout(() => this.startProbe(), ms);
  }

  /** Tries WebRTC behind the fallback stream; its picture is not shown until it passes. */
  private startProbe(): void {
    if (this.closed || !this.fallback || this.probe) return;
    const probe: Probe = {
      watch: this.newWatch(),
      judge: new ProbeJudge(),
      deadline: window.setTimeout(() => this.failProbe(), PROBE_DEADLINE_MS),
    };
    this.probe = probe;
    probe.watch.start();
  }

  /**
   * The server's `layer` for this device's WebRTC connection: a link too slow
   * for even the smallest layer counts against WebRTC (FallbackTrigger), and
   * fails a probe at once.
   */
  layerState(l: { linkTooSlow?: boolean }): void {
    const tooSlow = l.linkTooSlow === true;
    if (this.probe) {
      if (tooSlow) this.failProbe();
      return;
    }
    this.trigger?.linkTooSlow(tooSlow);
  }

  /** A probe failed (or could never pass): try later, or never again. */
  private failProbe(never?: "no_codec"): void {
    this.stopProbe(true);
    if (this.closed) return;
    if (never) {
      this._fallbackReason = never;
      this.deps.fellBack.set(this.deviceId, never);
      this.deps.player.setFallback(never);
      return;
    }
    this.scheduleProbe(this.backoff.probeFailed());
  }

  private stopProbe(unwatch: boolean): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    const p = this.probe;
    if (!p) return;
    this.probe = undefined;
    clearTimeout(p.deadline);
    p.watch.close(unwatch);
  }

  /** The probe passed: its connection becomes the one in use, and the fallback stream closes (after control moved). */
  private comeBack(): void {
    const p = this.probe;
    const fallback = this.fallback;
    if (this.closed || !p || !fallback) return;
    const { player, control } = this.deps;
    clearTimeout(p.deadline);
    this.probe = undefined;
    const held = control.mine && fallback.peerId !== undefined;
    this.fallback = undefined;
    this.watch = p.watch;
    this._transport = "webrtc";
    this._fallbackReason = undefined;
    this.deps.fellBack.delete(this.deviceId);
    this.backoff.wentBack(performance.now());
    console.info("tessera: WebRTC works again; leaving the WebSocket stream");
    player.setFallback(undefined);
    player.setTransport("webrtc");
    if (p.stream) player.attach(p.stream);
    player.setConnection(p.watch.pc?.connectionState ?? "connected");
    player.renderStats(p.watch.stats);
    this.sendView(this.viewSize);
    control.setChannel(p.input, p.pointer);
    control.setTalkSender(p.talk);
    this.trigger = this.newTrigger();
    this.trigger.deviceState("online");
    this.trigger.connectionState("connected");
    if (!held) {
      fallback.close();
      this.switched("probe", undefined);
      return;
    }
    this.carry = new ControlCarry({
      to: () => this.deps.peerId(),
      request: () => this.deps.signal({ type: "control", action: "request", deviceId: this.deviceId }),
      handOver: (to) => fallback.channel.control("hand_over", to),
      done: (moved) => {
        fallback.close();
        this.switched("probe", moved);
      },
    });
    this.carry.ready();
  }

  private switched(reason: TransportSwitch["reason"], controlKept: boolean | undefined): void {
    this.carry = undefined;
    this.deps.switched?.({ at: performance.now(), to: this._transport, reason, ...(controlKept === undefined ? {} : { controlKept }) });
  }
}
