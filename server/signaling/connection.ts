import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { badRequest, closeCodeFor, closeCodeForEviction, TesseraError, toClientError } from "../errors.js";
import { CLOSE_CODES, HELLO_TIMEOUT_MS, MAX_MESSAGE_BYTES, type ClientMessage, type Hello, type ServerMessage } from "../protocol/messages.js";
import type { KeyHolder } from "../keys/device-keys.js";
import type { Peer, SessionContext } from "../sessions/context.js";
import { DeviceSession } from "../sessions/device-session.js";
import { ViewerSession } from "../sessions/viewer-session.js";
import { parseClientMessage } from "./parse.js";

/**
 * Decides which account a hello belongs to, or throws unauthorized/forbidden/busy.
 * A device that presented a key holds it until `release`; `holder` is told when its account takes the key back.
 */
export type Authenticate = (hello: Hello, holder: KeyHolder) => Promise<{ account: string; release?: () => void; relayLeg?: boolean }>;

/** Malformed messages (bad_request) tolerated on one connection before it is closed as abusive. */
export const MAX_BAD_MESSAGES = 50;
/** Messages a client may send behind its hello, before the welcome, to be handled once the hello is (a viewer's `watch`). */
export const MAX_EARLY_MESSAGES = 16;
/** Signaling a client may leave unread, bytes; past it the socket is dropped (the page reconnects once it reads again). */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/**
 * One `/ws` connection: waits for `hello`, authenticates it, then routes
 * every validated message to the device or viewer session. Bad input gets
 * an `error` and is counted; it never throws out of here.
 */
export class SignalingConnection implements Peer {
  readonly peerId = randomUUID();
  /** A viewer's name for other viewers (`hello` or `name`). */
  name: string | undefined;
  private _relayLeg = false;
  private _account = "";
  private session: DeviceSession | ViewerSession | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private badMessages = 0;
  private unsubscribeDevices: (() => void) | undefined;
  private closed = false;
  private helloSeen = false;
  /** What came behind the hello while it was being checked, in order; handled right after the welcome. */
  private early: ClientMessage[] = [];
  /** Ends the device key reservation, when the device presented a key. */
  private releaseKey: (() => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: SessionContext,
    private readonly authenticate: Authenticate,
  ) {
    this.helloTimer = setTimeout(() => this.close(CLOSE_CODES.helloTimeout, "no hello"), HELLO_TIMEOUT_MS);
    ws.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on("close", () => this.cleanup());
    ws.on("error", (err) => ctx.log.debug("socket error", { err }));
  }

  get account(): string {
    return this._account;
  }

  get relayLeg(): boolean {
    return this._relayLeg;
  }

  send(message: ServerMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_UNREAD_BYTES) {
      // A client that stopped reading: what it is sent (device lists above all) would pile up here until its
      // ping timeout. It is dropped, as that timeout would (a close frame would queue behind the rest).
      this.ctx.log.info("signaling socket not read; dropped", { peer: this.peerId, unread: this.ws.bufferedAmount });
      this.ctx.metrics.socketTimedOut();
      this.ws.terminate();
      this.cleanup();
      return;
    }
    this.ws.send(JSON.stringify(message));
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (data.length > MAX_MESSAGE_BYTES) {
      this.fail(new TesseraError("bad_request", `message exceeds ${MAX_MESSAGE_BYTES} bytes`, 413), undefined);
      this.close(CLOSE_CODES.tooLarge, "message too large");
      return;
    }
    let msg: ClientMessage;
    try {
      if (isBinary) throw badRequest("binary messages are not part of the signaling protocol");
      msg = parseClientMessage(data.toString("utf8"));
    } catch (err) {
      this.fail(err, undefined);
      // Garbage instead of a hello ends the socket, as any other message before it does.
      if (!this.helloSeen) this.close(CLOSE_CODES.protocolError, "hello first");
      return;
    }
    this.ctx.metrics.signalingMessage(msg.type);
    if (!this.helloSeen) {
      if (msg.type !== "hello") {
        this.fail(badRequest(`'${msg.type}' before hello`), msg.type);
        this.close(CLOSE_CODES.protocolError, "hello first");
        return;
      }
      this.helloSeen = true;
      this.hello(msg).catch((err: unknown) => {
        const { code } = toClientError(err);
        this.fail(err, "hello");
        this.close(closeCodeFor(code), "hello refused");
      });
      return;
    }
    if (msg.type === "hello") return this.fail(badRequest("hello was already received"), "hello");
    if (msg.type === "bye") return this.close(CLOSE_CODES.normal, "bye");
    if (this.session) return this.route(this.session, msg);
    if (this.early.length >= MAX_EARLY_MESSAGES) return this.fail(badRequest(`at most ${MAX_EARLY_MESSAGES} messages may wait for the welcome`), msg.type);
    this.early.push(msg);
  }

  private route(session: DeviceSession | ViewerSession, msg: ClientMessage): void {
    const deviceId = "deviceId" in msg ? msg.deviceId : undefined;
    session.handle(msg).catch((err: unknown) => this.fail(err, msg.type, deviceId));
  }

  /** Handles what waited behind the hello, now that there is a session to take it. */
  private drainEarly(session: DeviceSession | ViewerSession): void {
    for (const msg of this.early.splice(0)) if (!this.closed) this.route(session, msg);
  }

  private async hello(msg: Hello): Promise<void> {
    clearTimeout(this.helloTimer);
    if (msg.key !== undefined && (msg.role !== "device" || !msg.device))
      throw badRequest("a device key is presented by a device that names itself in 'device'");
    const holder: KeyHolder = {
      evict: (reason) => this.close(closeCodeForEviction(reason), `device key ${reason}`),
    };
    const { account, release, relayLeg } = await this.authenticate(msg, holder);
    this._relayLeg = relayLeg === true;
    this.releaseKey = release;
    if (this.closed) return release?.();
    const ice = await this.ctx.rtcConfigurationFor(account);
    if (this.closed) return;
    this._account = account;
    if (msg.role === "device") {
      if (!msg.device) throw badRequest("hello: a device names itself in 'device' {id, name}");
      const { id, name, kind } = msg.device;
      this.session = new DeviceSession({ ctx: this.ctx, peer: this, deviceId: id, name: name ?? id, kind: kind ?? "other" });
      this.send({ type: "welcome", peerId: this.peerId, account, role: "device", iceServers: ice.iceServers, iceTtl: ice.ttl });
      this.ctx.log.info("device connected", { device: id });
      this.drainEarly(this.session);
    } else {
      this.name = msg.name;
      this.session = new ViewerSession(this.ctx, this);
      this.send({
        type: "welcome",
        peerId: this.peerId,
        account,
        role: "viewer",
        iceServers: ice.iceServers,
        iceTtl: ice.ttl,
        devices: this.ctx.registry.list(account),
      });
      this.followDevices();
      this.drainEarly(this.session);
    }
  }

  /** Pushes the account's device list when it changes, at most every 100 ms. */
  private followDevices(): void {
    let timer: NodeJS.Timeout | undefined;
    const onChanged = (account: string) => {
      if (account !== this._account || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        this.send({ type: "devices", devices: this.ctx.registry.list(this._account) });
      }, 100);
    };
    this.ctx.registry.on("changed", onChanged);
    this.unsubscribeDevices = () => {
      clearTimeout(timer);
      this.ctx.registry.off("changed", onChanged);
    };
  }

  private fail(err: unknown, ref: string | undefined, deviceId?: string): void {
    const { code, message } = toClientError(err);
    if (code === "internal") this.ctx.log.error("signaling handler failed", { err });
    this.ctx.metrics.signalingError(code);
    this.send({ type: "error", code, message, ...(ref ? { ref } : {}), ...(deviceId ? { deviceId } : {}) });
    // Only malformed or misplaced messages count as abuse; a refusal such as busy does not.
    if (code === "bad_request" && ++this.badMessages > MAX_BAD_MESSAGES) this.close(CLOSE_CODES.protocolError, "too many bad messages");
  }

  /** The server is shutting down: says `bye`, then closes with 1001. */
  goodbye(): void {
    this.send({ type: "bye", reason: "server shutting down" });
    this.close(CLOSE_CODES.goingAway, "server shutting down");
  }

  /** Closes the socket with a code; cleanup follows from the close event. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.unsubscribeDevices?.();
    this.releaseKey?.();
    this.early = [];
    if (this.session instanceof DeviceSession) {
      this.ctx.log.info("device disconnected", { device: this.session.deviceId });
      this.session.close("signaling closed");
    } else {
      this.session?.close();
    }
    this.session = undefined;
  }
}
