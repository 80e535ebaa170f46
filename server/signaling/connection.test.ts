import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type { WebSocket } from "ws";
import { Metrics } from "../../metrics/metrics.js";
import { createLogger } from "../log.js";
import type { SessionContext } from "../sessions/context.js";
import { MAX_UNREAD_BYTES, SignalingConnection } from "./connection.js";

/** Just enough of a ws socket: what was sent, how much the client left unread, whether it was terminated. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CONNECTING = 0;
  readyState = 1;
  bufferedAmount = 0;
  sent = 0;
  terminated = false;
  send(): void {
    this.sent++;
  }
  close(): void {
    this.readyState = 3;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
}

test("a client that leaves more than MAX_UNREAD_BYTES of signaling unread is dropped and counted, not sent more", async () => {
  const ws = new FakeSocket();
  const metrics = new Metrics({ defaultMetrics: false });
  const ctx = { log: createLogger("error"), metrics } as unknown as SessionContext;
  const conn = new SignalingConnection(ws as unknown as WebSocket, ctx, () => Promise.reject(new Error("no hello here")));
  conn.send({ type: "bye", reason: "one" });
  assert.equal(ws.sent, 1);
  ws.bufferedAmount = MAX_UNREAD_BYTES + 1;
  conn.send({ type: "bye", reason: "two" });
  assert.equal(ws.sent, 1, "nothing more queued");
  assert.equal(ws.terminated, true);
  assert.match(await metrics.text(), /tessera_sockets_timed_out_total 1/);
  conn.send({ type: "bye", reason: "three" });
  assert.equal(ws.sent, 1);
});
