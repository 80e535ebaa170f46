import type { ClientMessage, Hello, ServerMessage, Welcome } from "../../server/protocol/messages.js";

/** The socket's state as shown to the user and to tests. */
export type SignalingState = "connecting" | "open" | "reconnecting" | "closed";

/** What a SignalingClient tells its owner. */
export interface SignalingEvents {
  /**
   * The socket is open and the hello sent. What is sent from here waits on the server and is handled right after the
   * welcome (at most 16 messages): a viewer's `watch` goes now instead of one round trip later.
   */
  opened?(): void;
  /** Every `welcome`, including the one after each reconnect: re-establish state here. */
  welcome(msg: Welcome): void;
  /** Every other server message. */
  message(msg: Exclude<ServerMessage, Welcome>): void;
  state(state: SignalingState, detail?: string): void;
}

/** Backoff between reconnect attempts, ms. */
export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 8000;

/** The wait before reconnect attempt `attempt` (0, 1, …): doubling up to the maximum, jittered to 50-100 %. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** Close codes after which retrying cannot help (unauthorized, forbidden). */
const FATAL_CLOSE_CODES = new Set([4401, 4403]);

/** The signaling version this app speaks (messages.ts PROTOCOL_VERSION; a value import would bundle zod). */
export const PROTOCOL: Hello["protocol"] = 1;

/** What a device id may be (the server's ID_PATTERN, kept here so the pages do not bundle its schemas). */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `ws(s)://<this host>/ws`. */
export function signalingUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

/**
 * How long an open socket waits for its hello to be made (a token request, or a sign-in form waiting for the user)
 * before it is let go, well inside the server's 10 s hello timer; the hello then gets a socket of its own when ready.
 */
export const HELLO_WAIT_MS = 5000;

/**
 * The `/ws` connection: says hello on every (re)connect, parses server
 * messages, and reconnects with exponential backoff and jitter until closed.
 * The backoff resets once a `welcome` arrives. The socket opens while the
 * hello is being made, so its handshake and the token's request overlap;
 * the viewer page's head opens the first one before the page's script has
 * even loaded (a head start).
 */
export class SignalingClient {
  private ws: WebSocket | undefined;
  /** The socket the hello went on: nothing else is sent before it. */
  private greeted: WebSocket | undefined;
  /** Counts connection attempts: a hello made for an attempt given up since is not used. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private _state: SignalingState = "connecting";
  private _closed = false;
  /** Why the server said it is going away (`bye`), for the reconnecting state. */
  private byeReason: string | undefined;

  constructor(
    private readonly url: string,
    /** Builds the hello for each (re)connect; may fetch a fresh session token first. */
    private readonly hello: () => Hello | Promise<Hello>,
    private readonly events: SignalingEvents,
    /**
     * A socket to `url` opened before this client (the viewer page's head opens one while its script loads):
     * the first connection takes it if it is still opening or open.
     */
    private headStart?: WebSocket,
  ) {
    this.connect();
  }

  get state(): SignalingState {
    return this._state;
  }

  /** Sends if the socket is open and has said hello; returns false otherwise (the caller re-sends after the next welcome). */
  send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws !== this.greeted || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  /** Says bye and stops reconnecting; idempotent. */
  close(): void {
    if (this._closed) return;
    this.send({ type: "bye" });
    this._closed = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, "bye");
    this.setState("closed");
  }

  private connect(): void {
    const generation = ++this.generation;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const early = this.open(this.takeHeadStart());
    let made: Hello | undefined;
    let waiting: ReturnType<typeof setTimeout> | undefined;
    const opened = () => {
      if (made) this.sayHello(early, made);
      else waiting = setTimeout(() => this.letGo(early), HELLO_WAIT_MS);
    };
    // A head start may have opened already: its open event has gone.
    if (early.readyState === WebSocket.OPEN) opened();
    else early.onopen = opened;
    Promise.resolve()
      .then(() => this.hello())
      .then(
        (hello) => {
          if (this._closed || generation !== this.generation) return;
          made = hello;
          clearTimeout(waiting);
          if (this.ws === early) {
            if (early.readyState === WebSocket.OPEN) this.sayHello(early, hello);
          } else if (!this.ws) {
            // The early socket was let go while the hello was being made: this one opens with it ready.
            const ws = this.open();
            ws.onopen = () => this.sayHello(ws, hello);
          }
        },
        (err: unknown) => {
          if (this._closed || generation !== this.generation) return;
          clearTimeout(waiting);
          this.letGo(early);
          this.scheduleReconnect(`sign-in failed: ${(err as Error).message}`);
        },
      );
  }

  /** The head start socket, once, if it is to this client's URL and still opening or open. */
  private takeHeadStart(): WebSocket | undefined {
    const ws = this.headStart;
    this.headStart = undefined;
    if (!ws) return undefined;
    if (ws.url === this.url && (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN)) return ws;
    ws.close();
    return undefined;
  }

  private open(given?: WebSocket): WebSocket {
    const ws = given ?? new WebSocket(this.url);
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    // The close that follows an error says what happened (and a socket let go while connecting errs too).
    ws.onerror = () => undefined;
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this._closed) return;
      if (FATAL_CLOSE_CODES.has(ev.code)) {
        this._closed = true;
        this.setState("closed", ev.reason || `closed (${ev.code})`);
        return;
      }
      this.scheduleReconnect(this.byeReason ?? (ev.reason || `closed (${ev.code})`));
      this.byeReason = undefined;
    };
    return ws;
  }

  private sayHello(ws: WebSocket, hello: Hello): void {
    if (this.ws !== ws || this._closed) return;
    ws.send(JSON.stringify(hello));
    this.greeted = ws;
    this.events.opened?.();
  }

  /** Closes a socket this client no longer wants, without taking it for a lost connection. */
  private letGo(ws: WebSocket): void {
    if (this.ws === ws) this.ws = undefined;
    ws.onclose = null;
    ws.close(1000, "hello not ready");
  }

  private scheduleReconnect(detail: string): void {
    this.generation++;
    const delay = reconnectDelay(this.attempt);
    this.attempt++;
    this.setState("reconnecting", detail);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private receive(data: unknown): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(String(data)) as ServerMessage;
    } catch {
      console.warn("tessera: ignoring a non-JSON signaling message");
      return;
    }
    if (typeof msg !== "object" || msg === null || typeof msg.type !== "string") return;
    if (msg.type === "welcome") {
      this.attempt = 0;
      this.setState("open");
      this.events.welcome(msg);
    } else if (msg.type === "bye") {
      // The server is going away (a restart): the close that follows says so, and the page reconnects as for any lost socket.
      this.byeReason = msg.reason;
    } else {
      this.events.message(msg);
    }
  }

  private setState(state: SignalingState, detail?: string): void {
    this._state = state;
    this.events.state(state, detail);
  }
}
