import type { WebSocket } from "ws";
import { z } from "zod";
import { CLOSE_CODES, HELLO_TIMEOUT_MS } from "../protocol/messages.js";

/**
 * Requests of one pull socket waiting for their answers at most (a pull of a
 * device whose picture is not decoded yet takes up to 5 s, and holds a
 * decoder meanwhile); more are refused with `rate_limited`.
 */
export const MAX_WAITING_PULLS = 16;

const message = z.union([z.strictObject({ type: z.literal("hello"), token: z.string().max(8192).optional() }), z.object({ action: z.string().max(64) })]);

/** What a pull stream needs. */
export interface PullDeps {
  authenticate(token: string | undefined): Promise<{ account: string }>;
  /** The device's latest frame as JPEG, or undefined when it has none (or is not the account's). */
  latest(account: string, deviceId: string): Promise<{ jpeg: Buffer; etag: string; width?: number; height?: number } | undefined>;
}

/**
 * `/ws/stream/{id}?mode=pull`: after `hello`, `{"action":"pull"}` gets the
 * device's latest frame (a JSON header, then the JPEG as one binary
 * message), `{"action":"ping"}` gets `{"action":"pong"}`, anything else an
 * error. Pulls are answered in order.
 */
export function pullSocket(ws: WebSocket, deviceId: string, deps: PullDeps): void {
  let account: string | undefined;
  let chain = Promise.resolve();
  /** Requests chained and not yet answered. */
  let waiting = 0;
  let closed = false;
  const send = (m: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
  const helloTimer = setTimeout(() => ws.close(CLOSE_CODES.helloTimeout, "no hello"), HELLO_TIMEOUT_MS);
  ws.on("close", () => {
    closed = true;
    clearTimeout(helloTimer);
  });
  /** Answers `step` after every request before it; nothing once the socket closed, and a refusal past MAX_WAITING_PULLS. */
  const inOrder = (step: () => Promise<void>) => {
    if (waiting >= MAX_WAITING_PULLS) {
      return void send({ type: "error", code: "rate_limited", message: `at most ${MAX_WAITING_PULLS} requests wait for their answers: wait for one` });
    }
    waiting++;
    chain = chain.then(async () => {
      try {
        if (!closed) await step();
      } finally {
        waiting--;
      }
    });
  };
  ws.on("message", (data, isBinary) => {
    if (isBinary) return send({ type: "error", code: "bad_request", message: "pull streams take JSON text messages" });
    let parsed;
    try {
      parsed = message.safeParse(JSON.parse((data as Buffer).toString("utf8")));
    } catch {
      return send({ type: "error", code: "bad_request", message: "malformed JSON" });
    }
    if (!parsed.success) return send({ type: "error", code: "bad_request", message: 'expected {"type":"hello"} or {"action": ...}' });
    const msg = parsed.data;
    if ("type" in msg) {
      if (account !== undefined) return send({ type: "error", code: "bad_request", message: "hello was already said" });
      clearTimeout(helloTimer);
      inOrder(() =>
        deps.authenticate(msg.token).then(
          (r) => {
            account = r.account;
            send({ type: "ready", deviceId, mode: "pull" });
          },
          () => {
            send({ type: "error", code: "unauthorized", message: "hello refused" });
            ws.close(CLOSE_CODES.unauthorized, "hello refused");
          },
        ),
      );
      return;
    }
    inOrder(async () => {
      if (account === undefined) return void send({ type: "error", code: "bad_request", message: "say hello first" });
      switch (msg.action) {
        case "ping":
          send({ action: "pong" });
          return;
        case "pull": {
          const frame = await deps.latest(account, deviceId).catch(() => undefined);
          if (!frame) return void send({ action: "pull", error: { code: "not_found", message: `no frame of device '${deviceId}'` } });
          send({ action: "frame", deviceId, etag: frame.etag, bytes: frame.jpeg.length, width: frame.width ?? null, height: frame.height ?? null });
          if (ws.readyState === ws.OPEN) ws.send(frame.jpeg);
          return;
        }
        default:
          send({ type: "error", code: "bad_request", message: `unknown action '${msg.action.slice(0, 32)}': use pull or ping` });
      }
    });
  });
}
