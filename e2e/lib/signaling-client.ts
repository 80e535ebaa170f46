import WebSocket from "ws";
import type { ServerMessage } from "../../server/protocol/messages.js";

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | undefined | false | null, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Like waitFor, for a check that has to await something. */
export async function waitForAsync<T>(check: () => Promise<T | undefined | false | null>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A JSON client for `/ws` that keeps every message it received, so tests
 * can wait for one by predicate instead of racing event handlers.
 */
export class SignalingClient {
  readonly received: ServerMessage[] = [];
  closeCode: number | undefined;
  private handlers: Array<(m: ServerMessage) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse((data as Buffer).toString()) as ServerMessage;
      this.received.push(m);
      for (const h of this.handlers) h(m);
    });
    ws.on("close", (code) => (this.closeCode = code));
  }

  /** Opens a socket to `url` (ws://host:port/ws). */
  static async connect(url: string): Promise<SignalingClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new SignalingClient(ws);
  }

  /** Sends a JSON message, or any raw text. */
  send(message: object | string): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Calls `fn` for every message from now on. */
  onMessage(fn: (m: ServerMessage) => void): void {
    this.handlers.push(fn);
  }

  /** Waits for a message matching `pred` (including ones already received after `from`). */
  async next<T extends ServerMessage["type"]>(
    type: T,
    pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
    from = 0,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    return waitFor(
      () => this.received.slice(from).find((m): m is Extract<ServerMessage, { type: T }> => m.type === type && pred(m as Extract<ServerMessage, { type: T }>)),
      timeoutMs,
      `'${type}' message`,
    );
  }

  /** Waits until the socket closes; returns the close code. */
  async closed(timeoutMs = 5000): Promise<number> {
    return waitFor(() => this.closeCode, timeoutMs, "socket close");
  }

  close(): void {
    this.ws.close();
  }
}
