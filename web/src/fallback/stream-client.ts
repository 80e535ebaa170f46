import { FINAL_CLOSE_CODES, FINAL_ERROR_CODES, parseFallbackText, parseStripe, type FallbackMessage, type Stripe } from "./stripe-wire.js";
import { reconnectDelay } from "../signaling.js";

/** The socket's state, as the view shows it. */
export type StreamSocketState = "connecting" | "open" | "reconnecting" | "closed";

/** What a StreamClient tells its owner. */
export interface StreamClientEvents {
  /** A JSON message (including the device's own, as `{type: "device"}`). */
  message(msg: FallbackMessage): void;
  /** A stripe, with the size of its message in bytes. */
  stripe(stripe: Stripe, bytes: number): void;
  /** The socket opened, closed, or is waiting to reconnect; `detail` says why. */
  state(state: StreamSocketState, detail?: string): void;
}

/** The first message on the socket; auth may add a `token` here. */
export type StreamHello = { type: "hello"; token?: string; name?: string };

/**
 * The fallback stream's WebSocket: says hello on every (re)connect, parses
 * text and binary messages, and reconnects with backoff and jitter unless
 * the server said the device is not found or the viewer is refused.
 */
export class StreamClient {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private retryTimer: number | undefined;
  private finalError: string | undefined;
  private _state: StreamSocketState = "connecting";
  private _closed = false;

  constructor(
    private readonly url: string,
    private readonly events: StreamClientEvents,
    private readonly hello: () => StreamHello | Promise<StreamHello> = () => ({ type: "hello" }),
  ) {
    this.connect();
  }

  get state(): StreamSocketState {
    return this._state;
  }

  /** Bytes queued on the socket, not yet sent. */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** Sends one text message if the socket is open; false otherwise. */
  send(text: string): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    return true;
  }

  /** Closes the socket and stops reconnecting; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000, "bye");
    this.setState("closed");
  }

  private connect(): void {
    this.finalError = undefined;
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    // The hello may wait for a fresh session token.
    ws.onopen = () =>
      void Promise.resolve(this.hello()).then(
        (hello) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(hello)),
        () => ws.close(),
      );
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this._closed) return;
      const detail = this.finalError ?? (ev.reason || `closed (${ev.code})`);
      if (FINAL_CLOSE_CODES.has(ev.code) || this.finalError !== undefined) {
        this._closed = true;
        this.setState("closed", detail);
        return;
      }
      this.scheduleReconnect(detail);
    };
  }

  private receive(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      let stripe: Stripe;
      try {
        stripe = parseStripe(new Uint8Array(data));
      } catch (err) {
        console.warn("tessera: ignoring a malformed stripe", err);
        return;
      }
      this.events.stripe(stripe, data.byteLength);
      return;
    }
    const msg = parseFallbackText(String(data));
    if (!msg) return;
    if (msg.type === "ready") {
      this.attempt = 0;
      this.setState("open");
    }
    if (msg.type === "error" && FINAL_ERROR_CODES.has(msg.code)) this.finalError = `${msg.message} (${msg.code})`;
    this.events.message(msg);
  }

  private scheduleReconnect(detail: string): void {
    const delay = reconnectDelay(this.attempt);
    this.attempt++;
    this.setState("reconnecting", detail);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }

  private setState(state: StreamSocketState, detail?: string): void {
    this._state = state;
    this.events.state(state, detail);
  }
}
