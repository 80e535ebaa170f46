import type { Device, DevicePublisher } from "../devices/device.js";
import { badRequest } from "../errors.js";
import { NO_LEASE, type Lease } from "../limits.js";
import type { ClientMessage, DeviceKind, IceCandidate } from "../protocol/messages.js";
import type { UpTrack } from "../relay/up-track.js";
import type { IceEnd } from "../rtc/ice-restart.js";
import { Publisher } from "../rtc/publisher.js";
import { PeerClosedError } from "../rtc/while-open.js";
import type { Peer, SessionContext } from "./context.js";

/** What a DeviceSession is made of. */
export interface DeviceSessionOptions {
  ctx: SessionContext;
  /** The device's end of signaling (a /ws connection, or a WHIP session). */
  peer: Peer;
  deviceId: string;
  name: string;
  kind: DeviceKind;
  /** A relay leg from the node that holds the device (a cluster), not the device itself. */
  relayed?: boolean;
  /** Called whenever a publisher of this session closes (WHIP: the session's one connection ended). */
  onPublisherClosed?: () => void;
}

/**
 * A device's signaling session: each `offer` (re)creates its Publisher; the
 * device goes online once every negotiated track has started (or after a
 * short settle time with the ones that did).
 */
export class DeviceSession {
  private publisher: Publisher | undefined;
  private publishHandle: DevicePublisher | undefined;
  private readonly device: Device;
  private settleTimer: NodeJS.Timeout | undefined;
  private _closed = false;
  /** This device counted against the `devices` limits while the session lasts. */
  private readonly lease: Lease;

  private readonly ctx: SessionContext;
  private readonly peer: Peer;
  private readonly onPublisherClosed: () => void;
  private readonly relayed: boolean;

  /** Throws a `limit` error when the account or this node has its most devices already. */
  constructor(o: DeviceSessionOptions) {
    this.ctx = o.ctx;
    this.peer = o.peer;
    this.onPublisherClosed = o.onPublisherClosed ?? (() => {});
    this.relayed = o.relayed ?? false;
    // A relay leg stands for a device another node counts.
    this.lease = this.relayed ? NO_LEASE : o.ctx.limits.take("devices", o.peer.account);
    this.device = o.ctx.registry.ensure(o.peer.account, o.deviceId, o.name, o.kind);
  }

  get deviceId(): string {
    return this.device.id;
  }

  /** Handles one validated message from the device. */
  async handle(msg: ClientMessage): Promise<void> {
    switch (msg.type) {
      case "offer": {
        const sdp = await this.offer(msg.sdp);
        if (sdp !== undefined) this.peer.send({ type: "answer", sdp });
        return;
      }
      case "candidate":
        return this.addCandidate(msg.candidate);
      default:
        throw badRequest(`a device does not send '${msg.type}'`);
    }
  }

  /** A candidate the device trickled. */
  async addCandidate(candidate: IceCandidate | null): Promise<void> {
    if (!this.publisher) throw badRequest("candidate before offer");
    return this.publisher.addCandidate(candidate);
  }

  /** The ICE end of the device's connection, for trickle and restarts over WHIP `PATCH`. */
  get ice(): IceEnd {
    const publisher = this.publisher;
    if (!publisher) throw badRequest("no connection yet");
    return publisher;
  }

  /** True while the device's connection is up (or being set up). */
  get active(): boolean {
    return !this._closed && this.publisher !== undefined && !this.publisher.closed;
  }

  /** Ends the session and takes the device offline; idempotent. */
  close(reason: string): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.settleTimer);
    this.publisher?.close(reason);
    this.publisher = undefined;
    this.lease.release();
  }

  /** Applies a (new) offer from the device; resolves to the answer, or undefined when the session closed meanwhile. */
  async offer(sdp: string): Promise<string | undefined> {
    this.publisher?.close("renegotiated");
    clearTimeout(this.settleTimer);
    const tracks: UpTrack[] = [];
    const publisher: Publisher = new Publisher(
      this.ctx.rtc,
      {
        onTrack: (t) => {
          tracks.push(t);
          if (tracks.length === publisher.expectedTracks) this.goOnline(publisher, tracks);
          else if (tracks.length === 1) {
            this.settleTimer = setTimeout(() => this.goOnline(publisher, tracks), this.ctx.trackSettleMs);
          }
        },
        onInputChannel: (send) => {
          if (publisher !== this.publisher) return;
          // A relay leg's channel carries lines to the device's own node.
          const metrics = this.ctx.metrics;
          this.device.input.setChannel(this.relayed && send ? (line) => (metrics.clusterInputLine(), send(line)) : send);
        },
        onDeviceMessage: (text) => {
          const refused = this.device.input.fromDevice(text);
          this.ctx.metrics.deviceMessage(refused ?? "forwarded");
        },
        onClosed: () => {
          clearTimeout(this.settleTimer);
          if (publisher === this.publisher) {
            this.device.input.setChannel(undefined);
            this.device.setTalkSink(undefined);
          }
          this.device.detach(handle);
          this.onPublisherClosed();
        },
      },
      this.ctx.metrics,
      this.ctx.log.child(`device:${this.device.id}`),
    );
    const handle: DevicePublisher = { close: (reason) => publisher.close(reason), relayed: this.relayed };
    this.publisher = publisher;
    this.publishHandle = handle;
    this.device.attach(handle);
    try {
      const answer = await publisher.answer(sdp);
      if (publisher.closed) return undefined;
      this.device.setTalkSink(publisher.talkback);
      return answer;
    } catch (err) {
      publisher.close("offer rejected");
      if (this.publisher === publisher) this.publisher = undefined;
      if (err instanceof PeerClosedError) return undefined;
      throw err;
    }
  }

  private goOnline(publisher: Publisher, tracks: UpTrack[]): void {
    clearTimeout(this.settleTimer);
    if (publisher !== this.publisher || publisher.closed || !this.publishHandle) return;
    if (this.device.online && this.device.tracks.length === tracks.length) return;
    this.device.publish(this.publishHandle, [...tracks]);
  }
}
