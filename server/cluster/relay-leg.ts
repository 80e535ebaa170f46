/**
 * One relay leg: this node watches a device on the node that holds it, as a
 * viewer of that node's signaling (`/ws`, hello with a cluster token), and
 * publishes what it receives into the local Device, as a device would. The
 * home node's Subscription rewrites, caches for NACK and answers keyframe
 * requests for the leg like for any viewer; here a DeviceSession's Publisher
 * terminates the connection, so loss repair and PLIs stay hop by hop.
 *
 * Control is decided on the home node too: the leg carries this node's
 * viewers' control actions there (`control` with `onBehalf`), its answers
 * back into the device's DeviceInput (which follows the home node's holder),
 * and the holder's input lines over the leg's `input` data channel.
 */
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import type { Device } from "../devices/device.js";
import type { RemoteControl } from "../input/device-input.js";
import type { Logger } from "../log.js";
import { PROTOCOL_VERSION, type IceCandidate, type ServerMessage } from "../protocol/messages.js";
import type { Peer, SessionContext } from "../sessions/context.js";
import { DeviceSession } from "../sessions/device-session.js";
import { errorText } from "../rtc/errors.js";

/** What a leg needs to know. */
export interface RelayLegOptions {
  ctx: SessionContext;
  device: Device;
  /** The home node's origin (http or https). */
  url: string;
  /** The hello token acting for the device's account. */
  token: string;
  /** This node's id, for the home node's logs (the leg's viewer name). */
  nodeId: string;
  log: Logger;
  /** The leg ended (any reason; called once). */
  onClosed: (reason: string) => void;
  /** How often the leg pings the home node, ms; a ping not answered by the next one ends the leg. */
  pingMs?: number;
}

/** How often a leg pings its home node, ms (see RelayLegOptions.pingMs). */
export const LEG_PING_MS = 5000;

/** How long the home node may take to send its first offer, ms. */
const OFFER_TIMEOUT_MS = 10_000;

/** Messages the home node sends a viewer that the leg acts on. */
type HomeMessage = Extract<ServerMessage, { type: "welcome" | "offer" | "candidate" | "unwatched" | "error" | "watching" | "control" | "control_request" }>;

/** Control actions sent before the home node welcomed the leg wait, up to this many. */
const MAX_QUEUED = 64;

export class RelayLeg implements RemoteControl {
  private readonly ws: WebSocket;
  private session: DeviceSession | undefined;
  private closed = false;
  private offerTimer: NodeJS.Timeout;
  private pingTimer: NodeJS.Timeout | undefined;
  /** Offers are applied one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Messages for the home node before it welcomed the leg (and the watch went out). */
  private waiting: object[] | undefined = [];

  constructor(private readonly o: RelayLegOptions) {
    const wsUrl = new URL("/ws", o.url);
    wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(wsUrl, { handshakeTimeout: 5000 });
    this.offerTimer = setTimeout(() => this.close("the home node sent no offer"), OFFER_TIMEOUT_MS);
    this.ws.on("open", () => {
      this.ws.send(JSON.stringify({ type: "hello", role: "viewer", protocol: PROTOCOL_VERSION, token: o.token, name: `relay ${o.nodeId}`.slice(0, 40) }));
      this.keepPinging(o.pingMs ?? LEG_PING_MS);
    });
    this.ws.on("message", (data: Buffer) => {
      // A home node of another version may send what this one does not expect: the leg ends, the node goes on.
      try {
        this.receive(data.toString("utf8"));
      } catch (err) {
        this.close(`home node's message could not be taken: ${errorText(err)}`);
      }
    });
    this.ws.on("close", (code, reason) => this.close(`home node closed the leg (${code} ${String(reason)})`));
    this.ws.on("error", (err) => this.close(`home node unreachable: ${err.message}`));
    o.device.input.setRemote(this);
  }

  /** A viewer of this node acts on control: the home node decides. */
  control(peerId: string, name: string | undefined, action: "request" | "release" | "hand_over" | "refuse", to?: string): void {
    this.send({ type: "control", action, deviceId: this.o.device.id, onBehalf: peerId, ...(name ? { name } : {}), ...(to ? { to } : {}) });
  }

  /**
   * Pings the home node every `ms`: a path to it that drops everything
   * without a reset would leave the leg open, and this node's viewers on an
   * offline device, until the kernel gave up on the connection.
   */
  private keepPinging(ms: number): void {
    let answered = true;
    this.ws.on("pong", () => (answered = true));
    this.pingTimer = setInterval(() => {
      if (!answered) return this.close("home node stopped answering");
      answered = false;
      this.ws.ping();
    }, ms);
  }

  /** Ends the leg and takes the relayed tracks off the device; idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.offerTimer);
    clearInterval(this.pingTimer);
    this.o.device.input.setRemote(undefined);
    this.session?.close(reason);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    this.o.log.debug("relay leg closed", { device: this.o.device.id, reason });
    this.o.onClosed(reason);
  }

  private send(message: object): void {
    if (this.waiting) {
      if (this.waiting.length < MAX_QUEUED) this.waiting.push(message);
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private receive(text: string): void {
    if (this.closed) return;
    let msg: HomeMessage;
    try {
      msg = JSON.parse(text) as HomeMessage;
    } catch {
      return this.close("home node sent malformed JSON");
    }
    if (typeof msg !== "object" || msg === null) return this.close("home node sent no JSON object");
    const deviceId = this.o.device.id;
    switch (msg.type) {
      case "welcome": {
        const waiting = this.waiting ?? [];
        this.waiting = undefined;
        for (const m of [{ type: "watch", deviceId }, ...waiting]) this.send(m);
        return;
      }
      case "control":
        if (msg.deviceId === deviceId) this.o.device.input.follow(msg.holder, msg.holderName);
        return;
      case "control_request":
        if (msg.deviceId === deviceId && msg.onBehalf) this.o.device.input.askFrom(msg.from, msg.onBehalf, msg.fromName);
        return;
      case "offer":
        if (msg.deviceId !== deviceId) return;
        this.queue = this.queue.then(() => this.applyOffer(msg.sdp, msg.offerId));
        return;
      case "candidate":
        if (msg.deviceId === deviceId) this.queue = this.queue.then(() => this.addCandidate(msg.candidate));
        return;
      case "unwatched":
        if (msg.deviceId === deviceId) this.close(`home node ended the watch: ${msg.reason}`);
        return;
      case "error":
        if (msg.onBehalf && msg.ref === "control") return this.o.device.input.refusedThere(msg.onBehalf, msg.message);
        this.o.log.warn("home node refused the relay leg", { device: deviceId, code: msg.code, message: msg.message });
        if (msg.code === "unauthorized" || msg.code === "forbidden" || msg.code === "not_found") this.close(`home node refused: ${msg.code}`);
        return;
      default:
        return;
    }
  }

  private async applyOffer(sdp: string, offerId: number): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.offerTimer);
    const device = this.o.device;
    if (!this.session) {
      const peer: Peer = { peerId: `leg-${randomUUID()}`, account: device.account, send: () => {} };
      this.session = new DeviceSession({ ctx: this.o.ctx, peer, deviceId: device.id, name: device.name, kind: device.kind, relayed: true });
    }
    try {
      const answer = await this.session.offer(sdp);
      if (answer !== undefined && !this.closed) this.send({ type: "answer", deviceId: device.id, sdp: answer, offerId });
    } catch (err) {
      this.close(`offer from the home node failed: ${(err as Error).message}`);
    }
  }

  private async addCandidate(candidate: IceCandidate | null): Promise<void> {
    try {
      await this.session?.addCandidate(candidate);
    } catch (err) {
      this.o.log.debug("relay leg candidate refused", { err: (err as Error).message });
    }
  }
}
