import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type { WebSocket } from "ws";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { MAX_WAITING_PULLS, pullSocket } from "./pull.js";

/** Just enough of a ws socket for pullSocket: what it was sent, and `close` emitted by the test. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  readonly sent: Array<Record<string, unknown>> = [];
  send(data: string | Buffer): void {
    if (typeof data === "string") this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
    this.emit("close");
  }
}

test("pull socket: at most MAX_WAITING_PULLS requests wait, the rest are refused at once; after the close nothing more is fetched", async () => {
  const ws = new FakeSocket();
  let fetches = 0;
  let answerFirst: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (answerFirst = resolve));
  pullSocket(ws as unknown as WebSocket, "cam", {
    authenticate: () => Promise.resolve({ account: "a" }),
    latest: async () => {
      fetches++;
      await first;
      return { jpeg: Buffer.from([0xff, 0xd8]), etag: '"1"' };
    },
  });
  ws.emit("message", Buffer.from(JSON.stringify({ type: "hello" })), false);
  await waitFor(() => ws.sent.find((m) => m.type === "ready"), 2000, "ready");
  for (let i = 0; i < MAX_WAITING_PULLS + 4; i++) ws.emit("message", Buffer.from('{"action":"pull"}'), false);
  const refused = ws.sent.filter((m) => m.type === "error" && m.code === "rate_limited");
  assert.equal(refused.length, 4, "the four past the bound are refused at once");
  await waitFor(() => fetches === 1, 2000, "the first pull fetching");
  ws.close();
  answerFirst();
  // The chain runs out in microtasks, done before the next turn of the event loop: every waiting step sees the close.
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(ws.sent.some((m) => m.action === "frame") === false, "nothing sent to a closed socket");
  assert.equal(fetches, 1, "nothing fetched for a closed socket");
});
