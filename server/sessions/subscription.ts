import type { Device } from "../devices/device.js";
import type { InputLane } from "../input/forward.js";
import { inputBucket, type TokenBucket } from "../input/rate-limiter.js";
import { mergeCursor, STICKY_MESSAGES } from "../input/device-input.js";
import { badRequest, TesseraError, toClientError } from "../errors.js";
import type { ControlState, DeviceMessage, IceCandidate, ServerMessage } from "../protocol/messages.js";
import type { UpTrack, TrackCodec } from "../relay/up-track.js";
import { Subscriber } from "../rtc/subscriber.js";
import { PeerClosedError } from "../rtc/while-open.js";
import { TRANSCODABLE, type Transcoder } from "../sources/transcoder.js";
import { LayerFollower, type LayerReport } from "../relay/layer-follower.js";
import type { Peer, SessionContext } from "./context.js";
import { ViewerSeat, type ControlAction } from "./viewer-seat.js";

function sameCodec(a: TrackCodec, b: TrackCodec): boolean {
  return a.kind === b.kind && a.mimeType === b.mimeType && a.clockRate === b.clockRate && (a.parameters ?? "") === (b.parameters ?? "");
}

/** True when `tracks` can feed a subscriber negotiated for `codecs`, track for track. */
export function compatible(codecs: readonly TrackCodec[], tracks: readonly UpTrack[]): boolean {
  return codecs.length === tracks.length && codecs.every((c, i) => sameCodec(c, tracks[i].codec));
}

/**
 * Why a subscription ended; the ones the viewer did not ask for are told to
 * it in `unwatched` {reason}.
 */
export type SubscriptionEnd = "unwatched" | "re-watched" | "viewer left" | "offer failed" | "connection failed" | "connection closed";

/** Ends the viewer asked for itself: it need not be told. */
export const ENDS_BY_VIEWER: ReadonlySet<SubscriptionEnd> = new Set(["unwatched", "re-watched", "viewer left"]);

/**
 * One viewer watching one device. Lives from `watch` to `unwatch` (or the
 * viewer leaving), across the device going offline and coming back: when the
 * device returns with the same codecs its new tracks are attached to the
 * existing connection; otherwise the viewer gets a fresh offer.
 */
export class Subscription {
  private subscriber: Subscriber | undefined;
  private codecs: TrackCodec[] = [];
  private sources: readonly UpTrack[] = [];
  private connected = false;
  /**
   * The viewer has sent feedback (a receiver report or an estimate) on what
   * it receives: its media flows, which can be seconds before werift calls
   * the connection connected (that waits for the data channels' SCTP
   * association too, whose lost handshake packets are sent again after 1 s
   * or more: sctp-handshake.ts).
   */
  private reported = false;
  private offerId = -1;
  private _closed = false;
  private readonly seat: ViewerSeat;
  /** With a relay leg as the viewer: seats of its node's viewers that act on control, by peer id. */
  private readonly remoteSeats = new Map<string, ViewerSeat>();
  /** The device's video as VP8, while this viewer cannot decode the device's own codec. */
  private transcoder: Transcoder | undefined;
  /** The size the viewer shows the picture at (device pixels), when it said. */
  private view: { width: number; height: number } | undefined;
  /** Keep each video track on the simulcast layer this viewer should get. */
  private followers: LayerFollower[] = [];
  /** Latest-wins device messages held back while the viewer's input channel is behind (deviceMessage): the latest of each type, the latest to come last. */
  private readonly behind = new Map<string, string>();
  private readonly onOnline = (tracks: readonly UpTrack[]) => this.deviceOnline(tracks);
  private readonly onOffline = () => this.deviceOffline();

  /**
   * @param inputBucket the viewer's input rate limit, shared by all its subscriptions
   * @param nextOfferId numbers offers uniquely within the viewer's connection
   * @param receivable the video codecs the viewer can receive (lower-case names), when it said
   */
  constructor(
    private readonly ctx: SessionContext,
    private readonly viewer: Peer,
    readonly device: Device,
    inputBucket: TokenBucket,
    private readonly nextOfferId: () => number,
    private readonly receivable: ReadonlySet<string> | undefined,
    private readonly onEnded: (reason: SubscriptionEnd) => void,
  ) {
    this.seat = new ViewerSeat({
      device,
      peerId: viewer.peerId,
      name: viewer.name,
      metrics: ctx.metrics,
      inputBucket,
      listener: {
        onControl: (holder) => viewer.send(this.controlState(holder)),
        onDeviceMessage: (text, message) => this.deviceMessage(text, message),
        onAsk: (from) => {
          const fromName = this.seat.nameOf(from);
          viewer.send({ type: "control_request", deviceId: device.id, from, ...(fromName ? { fromName } : {}) });
        },
        onRefused: () =>
          viewer.send({ type: "error", code: "busy", ref: "control", deviceId: device.id, message: `the viewer controlling '${device.id}' keeps control` }),
        onBusy: (message) => viewer.send({ type: "error", code: "busy", ref: "control", deviceId: device.id, message }),
      },
    });
    device.on("online", this.onOnline);
    device.on("offline", this.onOffline);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Sends the first offer, or tells the viewer it waits for the device. */
  start(): void {
    if (this.device.online) this.negotiate(this.device.tracks);
    else this.viewer.send({ type: "watching", deviceId: this.device.id, waiting: true });
    this.viewer.send(this.controlState(this.seat.holder));
  }

  /** The viewer asks for control (busy when another holds it, who is asked), gives it up, or answers an ask. */
  control(action: ControlAction, to?: string): void {
    this.seat.control(action, to);
  }

  /**
   * This viewer is a relay leg: a viewer of its node (`peerId`) acts on
   * control. It gets a seat of its own here, under this device's one
   * arbitration, kept while it holds or asks for control; asks and refusals
   * for it go back over the leg, naming it in `onBehalf`.
   */
  controlFor(peerId: string, name: string | undefined, action: ControlAction, to?: string): void {
    let seat = this.remoteSeats.get(peerId);
    if (!seat) {
      if (action !== "request") return;
      const deviceId = this.device.id;
      const send = (message: ServerMessage) => this.viewer.send(message);
      seat = new ViewerSeat({
        device: this.device,
        peerId,
        name,
        metrics: this.ctx.metrics,
        inputBucket: inputBucket(this.ctx.inputRate),
        counted: false,
        listener: {
          // The leg's own seat tells it of every change and device message.
          onControl: () => {},
          onDeviceMessage: () => {},
          onAsk: (from) => {
            const fromName = seat?.nameOf(from);
            send({ type: "control_request", deviceId, from, ...(fromName ? { fromName } : {}), onBehalf: peerId });
          },
          onRefused: () =>
            send({ type: "error", code: "busy", ref: "control", deviceId, message: `the viewer controlling '${deviceId}' keeps control`, onBehalf: peerId }),
          onBusy: (message) => send({ type: "error", code: "busy", ref: "control", deviceId, message, onBehalf: peerId }),
        },
      });
      this.remoteSeats.set(peerId, seat);
    }
    try {
      seat.control(action, to);
    } catch (err) {
      if (!(err instanceof TesseraError && err.code === "busy")) throw err;
      this.viewer.send({ type: "error", code: "busy", ref: "control", deviceId: this.device.id, message: err.message, onBehalf: peerId });
    }
    // Done with control: the seat goes (a viewer that asked and waits keeps it).
    if (action === "release" || (action === "hand_over" && seat.holder !== peerId)) {
      seat.close();
      this.remoteSeats.delete(peerId);
    }
  }

  /** The viewer goes by `name` now. */
  rename(name: string): void {
    this.seat.rename(name);
  }

  /** The viewer shows the picture at `width`×`height` device pixels now: its simulcast layer follows. */
  setView(width: number, height: number): void {
    this.view = { width, height };
    for (const f of this.followers) f.check();
  }

  private controlState(holder: string | null): ControlState {
    const holderName = this.seat.nameOf(holder);
    return { type: "control", deviceId: this.device.id, holder, ...(holderName ? { holderName } : {}) };
  }

  /** One input line from this viewer's `input` (reliable) or `pointer` (unordered) data channel; from a relay leg, its node's holder's. */
  input(line: string, lane: InputLane = "input"): void {
    const holder = this.seat.holder;
    const remote = holder === null ? undefined : this.remoteSeats.get(holder);
    (remote ?? this.seat).input(line, lane);
  }

  /**
   * The viewer's answer to our offer. An answer naming an earlier offer (one
   * this subscription replaced while the answer was under way) is dropped:
   * applied to the new connection it would pair it with a closed one.
   */
  async accept(sdp: string, offerId?: number): Promise<void> {
    // Waiting for an offline device, nothing has been offered yet.
    if (!this.subscriber) throw badRequest("no offer is outstanding for this device: answer the server's offer once it comes");
    if (offerId !== undefined && offerId !== this.offerId) {
      this.ctx.log.debug("dropped an answer to a replaced offer", { device: this.device.id, offerId, current: this.offerId });
      return;
    }
    await this.subscriber.accept(sdp);
  }

  async addCandidate(candidate: IceCandidate | null): Promise<void> {
    await this.subscriber?.addCandidate(candidate);
  }

  /** The viewer asked for a keyframe outside RTCP. */
  requestKeyframe(): void {
    for (const t of this.sources) t.requestKeyframe();
  }

  /** Ends the subscription; idempotent. */
  close(reason: SubscriptionEnd): void {
    if (this._closed) return;
    this._closed = true;
    this.device.off("online", this.onOnline);
    this.device.off("offline", this.onOffline);
    this.device.setTalkSource(this.viewer.peerId, undefined);
    this.dropSubscriber();
    this.useTranscoder(false);
    // Watching again (a new connection after a lost one) is the same viewer: control stays with it.
    this.seat.close(reason === "re-watched");
    for (const seat of this.remoteSeats.values()) seat.close();
    this.remoteSeats.clear();
    this.onEnded(reason);
  }

  /**
   * The tracks this viewer gets for the device's `tracks`: its own, but for
   * a video codec the viewer said it cannot receive, which is transcoded to
   * VP8 when it can be (otherwise the offer names the device's codec, and
   * the viewer falls back to the WebSocket stream).
   */
  private forViewer(tracks: readonly UpTrack[]): readonly UpTrack[] {
    const codecOf = (t: UpTrack) => t.codec.mimeType.split("/")[1] ?? "";
    const needs = (t: UpTrack) =>
      t.kind === "video" && this.receivable !== undefined && !this.receivable.has(codecOf(t)) && this.receivable.has("vp8") && TRANSCODABLE.has(codecOf(t));
    const transcoded = this.ctx.transcoders !== undefined && tracks.some(needs);
    this.useTranscoder(transcoded);
    return transcoded && this.transcoder ? tracks.map((t) => (needs(t) ? this.transcoder!.video : t)) : tracks;
  }

  private useTranscoder(on: boolean): void {
    if (on && !this.transcoder) {
      try {
        this.transcoder = this.ctx.transcoders?.acquire(this.device);
      } catch (err) {
        // No pipeline may start (a limit): the viewer is offered the device's codec and falls back to the WebSocket stream.
        this.ctx.log.info("no transcoder for a viewer", { device: this.device.id, err: toClientError(err).message });
      }
    } else if (!on && this.transcoder) {
      this.ctx.transcoders?.release(this.transcoder);
      this.transcoder = undefined;
    }
  }

  private negotiate(deviceTracks: readonly UpTrack[]): void {
    this.dropSubscriber();
    const tracks = this.forViewer(deviceTracks);
    this.sources = tracks;
    this.codecs = tracks.map((t) => t.codec);
    const subscriber = new Subscriber(
      this.ctx.rtc,
      this.codecs,
      {
        onConnectionState: (state) => {
          if (subscriber !== this.subscriber) return;
          if (state === "connected" && !this.connected) {
            this.connected = true;
            this.seat.setTransport("webrtc");
            this.attachSources();
          }
        },
        onInputOpen: () => {
          for (const text of this.seat.replay()) subscriber.sendInput(text);
        },
        onInput: (line, lane) => {
          if (subscriber === this.subscriber) this.input(line, lane);
        },
        onTalkTrack: (track) => {
          if (subscriber === this.subscriber) this.device.setTalkSource(this.viewer.peerId, track);
        },
        onFeedback: (down, kind, rttMs) => {
          if (subscriber !== this.subscriber) return;
          if (!this.reported) {
            // The layers are chosen from now on, connected or not (attachSources).
            this.reported = true;
            this.attachSources();
          }
          this.followers.find((f) => f.down === down)?.feedback(kind, performance.now(), rttMs);
        },
        onClosed: (reason) => {
          if (subscriber !== this.subscriber) return;
          this.ctx.log.debug("viewer connection ended", { device: this.device.id, reason });
          this.close(reason === "connection failed" ? "connection failed" : "connection closed");
        },
      },
      this.ctx.metrics,
      this.ctx.log,
    );
    this.subscriber = subscriber;
    // A new connection gets the latest of each when its channel opens (the seat's replay).
    this.behind.clear();
    // Its DownTracks take the sources now, held until DTLS is up: the keyframe each video track asks
    // for is on its way while the offer, the answer, ICE and DTLS go back and forth.
    this.attachSources();
    const offerId = (this.offerId = this.nextOfferId());
    subscriber
      .offer()
      .then((sdp) => {
        if (subscriber === this.subscriber) this.viewer.send({ type: "offer", deviceId: this.device.id, sdp, offerId });
      })
      .catch((err: unknown) => {
        // Closed while werift made the offer: the subscription's close is on its way, or done.
        if (err instanceof PeerClosedError) return;
        this.ctx.log.warn("offer to viewer failed", { err });
        this.close("offer failed");
      });
  }

  private attachSources(): void {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    subscriber.downTracks.forEach((down, i) => {
      const up = this.sources[i];
      if (!up || up.closed) return;
      // A simulcast source: stay on the viewer's current layer of the same picture rather than its top one.
      if (!(down.upTrack && up.layers?.includes(down.upTrack))) down.setSource(up);
      // Layers are chosen once connected or once the viewer reports on its media, whichever comes first: before,
      // a still source's own layer has sent nothing yet and would look idle. (Waiting for the connection alone, a
      // viewer behind 5 % loss stayed on the top layer for 3–6 s while its media flowed: bench:network.)
      if ((this.connected || this.reported) && up.layers && down.kind === "video" && !this.followers.some((f) => f.down === down)) {
        const wants = () => ({
          renderWidth: this.view?.width,
          bandwidth: subscriber.estimatedBitrate(i),
          loss: subscriber.lossFraction(i),
          dropped: subscriber.droppedFraction(i),
        });
        const report = (r: LayerReport) => this.viewer.send({ type: "layer", deviceId: this.device.id, ...r });
        this.followers.push(new LayerFollower(down, wants, this.ctx.metrics, report, { log: this.ctx.log.child("layers"), viewer: this.viewer.peerId }));
      }
    });
    for (const f of this.followers) f.check();
  }

  /**
   * Passes a device message on to the viewer. While its input channel is
   * behind (CHANNEL_BACKLOG_BYTES), latest-wins messages (state, resolution,
   * cursor) are not queued: once it drains, the latest of each type held
   * goes, in the order they came (a cursor's held moves and shape merged:
   * its picture goes again only if one came meanwhile). Other messages
   * (clipboard, pong) always go. A viewer whose channel does not drain
   * within INPUT_DRAIN_MS is dropped (Subscriber.whenInputDrained).
   */
  private deviceMessage(text: string, message: DeviceMessage): void {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    const type = message.type;
    if (!STICKY_MESSAGES.has(type) || (this.behind.size === 0 && !subscriber.inputBacklogged)) {
      subscriber.sendInput(text);
      return;
    }
    const before = this.behind.get(type);
    const held = type === "cursor" && before !== undefined ? mergeCursor(before, message) : text;
    this.behind.delete(type);
    this.behind.set(type, held);
    subscriber.whenInputDrained(() => {
      if (subscriber !== this.subscriber) return;
      const latest = [...this.behind.values()];
      this.behind.clear();
      for (const t of latest) subscriber.sendInput(t);
    });
  }

  private deviceOnline(deviceTracks: readonly UpTrack[]): void {
    const tracks = this.forViewer(deviceTracks);
    if (this.subscriber && compatible(this.codecs, tracks)) {
      this.sources = tracks;
      this.attachSources();
      this.viewer.send({ type: "watching", deviceId: this.device.id, waiting: false });
    } else {
      this.negotiate(deviceTracks);
    }
  }

  private deviceOffline(): void {
    this.sources = [];
    this.viewer.send({ type: "device_offline", deviceId: this.device.id });
  }

  private dropSubscriber(): void {
    for (const f of this.followers) f.close();
    this.followers = [];
    const s = this.subscriber;
    this.subscriber = undefined;
    this.seat.setTransport(undefined);
    this.connected = false;
    this.reported = false;
    s?.close("replaced");
  }
}
