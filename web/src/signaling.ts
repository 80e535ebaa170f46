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

/** `ws(s)://<this host>/ws`. */
export function signalingUrl(loc: Location = location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

/**
 * The `/ws` connection: says hello on every (re)connect, parses server
 * messages, and reconnects with exponential backoff and jitter until closed.
 * The backoff resets once a `welcome` arrives.
 */
export class SignalingClient {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private retryTimer: number | undefined;
  private _state: SignalingState = "connecting";
  private _closed = false;
  /** Why the server said it is going away (`bye`), for the reconnecting state. */
  private byeReason: string | undefined;

  constructor(
    private readonly url: string,
    /** Builds the hello for each (re)connect; may fetch a fresh session token first. */
    private readonly hello: () => Hello | Promise<Hello>,
    private readonly events: SignalingEvents,
  ) {
    this.connect();
  }

  get state(): SignalingState {
    return this._state;
  }

  /** Sends if the socket is open; returns false otherwise (the caller re-sends after the next welcome). */
  send(msg: ClientMessage): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Says bye and stops reconnecting; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.retryTimer);
    this.send({ type: "bye" });
    this.ws?.close(1000, "bye");
    this.setState("closed");
  }

  private connect(): void {
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    // The hello (with its token) is ready before the socket opens, so the server's hello timer never waits on it.
    Promise.resolve()
      .then(() => this.hello())
      .then(
        (hello) => {
          if (!this._closed) this.open(hello);
        },
        (err: unknown) => {
          if (!this._closed) this.scheduleReconnect(`sign-in failed: ${(err as Error).message}`);
        },
      );
  }

  private open(hello: Hello): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify(hello));
      this.events.opened?.();
    };
    ws.onmessage = (ev) => this.receive(ev.data);
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
  }

  private scheduleReconnect(detail: string): void {
    const delay = reconnectDelay(this.attempt);
    this.attempt++;
    this.setState("reconnecting", detail);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
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
