import type { I420Picture } from "../../pipelines/i420.js";
import { SafeEmitter } from "../events.js";
import type { DeviceInfo, DeviceKind } from "../protocol/messages.js";
import { DeviceInput } from "../input/device-input.js";
import type { DownTrack } from "../relay/down-track.js";
import type { UpTrack } from "../relay/up-track.js";

/** Whatever publishes a device's media: a WebRTC peer or a local pipeline. */
export interface DevicePublisher {
  close(reason: string): void;
  /** True for a relay leg from the node that holds the device (a cluster): the device is not this node's own. */
  readonly relayed?: boolean;
}

/** Raw pictures a publisher has without decoding anything (a captured screen), for the fallback. */
export interface RawPictures {
  /** Calls `onPicture` with every picture from now on; returns the unsubscribe. */
  subscribe(onPicture: (picture: I420Picture) => void): () => void;
}

/** Events a Device emits to its watchers. */
export interface DeviceEvents {
  /** The device has a complete set of tracks (first publish or a reconnect). */
  online: [tracks: readonly UpTrack[]];
  /** The device's publisher went away; its tracks are closed. */
  offline: [];
  /** The device's listing changed (name, viewers, state). */
  changed: [];
}

/**
 * A device of one account. Outlives its publishers: when the same device id
 * comes back, the Device is reused and its watchers resume on the new tracks.
 */
export class Device extends SafeEmitter<DeviceEvents> {
  private publisher: DevicePublisher | undefined;
  private upTracks: readonly UpTrack[] = [];
  private _rawPictures: RawPictures | undefined;
  private _viewers = 0;
  /** Control, the input channel and device state. */
  readonly input: DeviceInput;
  /** Where viewers' talk-back audio goes: the device's receive-audio track, while it has one. */
  private talkSink: DownTrack | undefined;
  /** Each viewer's microphone track, by peer id; only the controller's reaches the device. */
  private readonly talkSources = new Map<string, UpTrack>();
  /** The node that holds the device, while another node of the cluster does (its media comes over a relay leg). */
  private _home: string | undefined;

  constructor(
    readonly account: string,
    readonly id: string,
    public name: string,
    public kind: DeviceKind,
    controlIdleMs: number,
  ) {
    super();
    this.input = new DeviceInput(controlIdleMs);
    this.input.on("control", () => this.routeTalk());
  }

  /** Sets the device's talk-back sink (or clears it when its connection ends). */
  setTalkSink(sink: DownTrack | undefined): void {
    this.talkSink = sink;
    this.routeTalk();
  }

  /** A viewer's microphone track appeared (or went, with undefined). */
  setTalkSource(peerId: string, up: UpTrack | undefined): void {
    if (up) this.talkSources.set(peerId, up);
    else this.talkSources.delete(peerId);
    this.routeTalk();
  }

  /** Only the viewer holding control talks to the device. */
  private routeTalk(): void {
    const sink = this.talkSink;
    if (!sink || sink.closed) return;
    const holder = this.input.holder;
    const source = holder === null ? undefined : this.talkSources.get(holder);
    if (source && !source.closed) sink.setSource(source);
    else sink.clearSource();
  }

  /** Whoever publishes the device now, if anyone. */
  get currentPublisher(): DevicePublisher | undefined {
    return this.publisher;
  }

  /** True while a publisher is attached and its tracks are flowing. */
  get online(): boolean {
    return this.publisher !== undefined && this.upTracks.length > 0;
  }

  /** The publisher's raw pictures, when it has them (a local capture); undefined otherwise. */
  get rawPictures(): RawPictures | undefined {
    return this._rawPictures;
  }

  /** The current tracks; empty while offline. */
  get tracks(): readonly UpTrack[] {
    return this.upTracks;
  }

  /** The id of the node that holds the device, when another node does; undefined when it is this node's own (or nobody's). */
  get home(): string | undefined {
    return this._home;
  }

  /** Another node holds the device now (its id), or no longer (undefined). */
  setHome(node: string | undefined): void {
    if (node === this._home) return;
    this._home = node;
    this.emit("changed");
  }

  /** Online here, or on the node that holds it. */
  get listedOnline(): boolean {
    return this.online || this._home !== undefined;
  }

  get viewers(): number {
    return this._viewers;
  }

  /** Adjusts the viewer count shown in listings. */
  viewerDelta(delta: number): void {
    this._viewers = Math.max(0, this._viewers + delta);
    this.emit("changed");
  }

  /**
   * Attaches a publisher. A previous publisher is closed first: the newest
   * connection of a device id wins (a reloaded page, a reconnect).
   */
  attach(publisher: DevicePublisher): void {
    const previous = this.publisher;
    this.publisher = publisher;
    if (previous && previous !== publisher) {
      this.dropTracks();
      previous.close("replaced");
      this.emit("offline");
    }
  }

  /** The attached publisher's tracks are ready; watchers may subscribe. */
  publish(publisher: DevicePublisher, tracks: readonly UpTrack[], extras: { rawPictures?: RawPictures } = {}): void {
    if (this.publisher !== publisher || tracks.length === 0) return;
    this._rawPictures = extras.rawPictures;
    // A canonical order (video first, then by codec) so that a device that
    // comes back with the same tracks matches its watchers' connections
    // whatever order its tracks happened to start in.
    this.upTracks = [...tracks].sort((a, b) => (a.kind === b.kind ? a.codec.mimeType.localeCompare(b.codec.mimeType) : a.kind === "video" ? -1 : 1));
    this.emit("online", this.upTracks);
    this.emit("changed");
  }

  /** The publisher went away. A stale publisher (already replaced) is ignored. */
  detach(publisher: DevicePublisher): void {
    if (this.publisher !== publisher) return;
    this.publisher = undefined;
    this.dropTracks();
    this.emit("offline");
    this.emit("changed");
  }

  /** The device as listed to its account. */
  info(): DeviceInfo {
    return {
      id: this.id,
      name: this.name,
      online: this.listedOnline,
      kind: this.kind,
      tracks: this.upTracks.map((t) => ({ kind: t.kind, codec: t.codec.mimeType })),
      viewers: this._viewers,
    };
  }

  private dropTracks(): void {
    for (const t of this.upTracks) t.close();
    this.upTracks = [];
    this._rawPictures = undefined;
  }
}
