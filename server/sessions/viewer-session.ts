import { badRequest, notFound, rateLimited } from "../errors.js";
import { inputBucket, TokenBucket } from "../input/rate-limiter.js";
import { NO_LEASE } from "../limits.js";
import type { ClientMessage } from "../protocol/messages.js";
import type { Peer, SessionContext } from "./context.js";
import { ENDS_BY_VIEWER, Subscription } from "./subscription.js";

/** Most devices one viewer connection may watch at once (a dashboard grid). */
export const MAX_SUBSCRIPTIONS = 16;

/**
 * Watches one connection may start: WATCH_BURST at once (a grid opening),
 * then WATCH_RATE a second. Each builds a WebRTC connection and an offer;
 * a loop of watch and unwatch kept a core busy.
 */
export const WATCH_RATE = 2;
export const WATCH_BURST = 16;

/**
 * A viewer's signaling session: one Subscription per watched device, keyed
 * by device id. Every lookup goes through the viewer's own account, so a
 * device of another account is simply not found.
 */
export class ViewerSession {
  private readonly subscriptions = new Map<string, Subscription>();
  /** The viewer's input rate limit, shared by all its subscriptions. */
  private readonly inputBucket: TokenBucket;
  private readonly watches = new TokenBucket(WATCH_RATE, WATCH_BURST);
  private _closed = false;
  private offers = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly peer: Peer,
  ) {
    this.inputBucket = inputBucket(ctx.inputRate);
  }

  /** Handles one validated message from the viewer. */
  async handle(msg: ClientMessage): Promise<void> {
    switch (msg.type) {
      case "watch":
        return this.watch(msg.deviceId, msg.codecs);
      case "unwatch":
        this.subscriptions.get(msg.deviceId)?.close("unwatched");
        return;
      case "answer":
        return this.subscription(msg.deviceId).accept(msg.sdp, msg.offerId);
      case "candidate":
        if (!msg.deviceId) throw badRequest("a viewer's candidate names its deviceId");
        return this.subscription(msg.deviceId).addCandidate(msg.candidate);
      case "keyframe":
        this.subscription(msg.deviceId).requestKeyframe();
        return;
      case "control":
        if (msg.onBehalf === undefined) this.subscription(msg.deviceId).control(msg.action, msg.to);
        else if (this.peer.relayLeg) this.subscription(msg.deviceId).controlFor(msg.onBehalf, msg.name, msg.action, msg.to);
        else throw badRequest("only a relay leg of the cluster acts on behalf of another viewer");
        return;
      case "name":
        this.rename(msg.name);
        return;
      case "view":
        this.subscription(msg.deviceId).setView(msg.width, msg.height);
        return;
      default:
        throw badRequest(`a viewer does not send '${msg.type}'`);
    }
  }

  /** The viewer goes by `name` from now on, at every device it watches. */
  private rename(name: string): void {
    this.peer.name = name;
    for (const s of this.subscriptions.values()) s.rename(name);
  }

  /** Ends every subscription; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const s of [...this.subscriptions.values()]) s.close("viewer left");
  }

  private watch(deviceId: string, codecs: readonly string[] | undefined): void {
    const device = this.ctx.registry.get(this.peer.account, deviceId);
    if (!device) throw notFound(`no device '${deviceId}'`);
    // A relay leg watches once for all its node's viewers.
    if (!this.peer.relayLeg && !this.watches.take(performance.now())) {
      throw rateLimited(`at most ${WATCH_BURST} watches at once, then ${WATCH_RATE} a second: watch again shortly`, 1);
    }
    this.subscriptions.get(deviceId)?.close("re-watched");
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) throw badRequest(`at most ${MAX_SUBSCRIPTIONS} devices per connection`);
    // A relay leg carries viewers another node counts.
    const lease = this.peer.relayLeg ? NO_LEASE : this.ctx.limits.take("viewers", this.peer.account);
    const sub: Subscription = new Subscription(
      this.ctx,
      this.peer,
      device,
      this.inputBucket,
      () => this.offers++,
      codecs && new Set(codecs),
      (reason) => {
        lease.release();
        if (this.subscriptions.get(deviceId) !== sub) return;
        this.subscriptions.delete(deviceId);
        if (!this._closed && !ENDS_BY_VIEWER.has(reason)) this.peer.send({ type: "unwatched", deviceId, reason });
      },
    );
    this.subscriptions.set(deviceId, sub);
    sub.start();
  }

  private subscription(deviceId: string): Subscription {
    const sub = this.subscriptions.get(deviceId);
    if (!sub) throw notFound(`not watching '${deviceId}'`);
    return sub;
  }
}
