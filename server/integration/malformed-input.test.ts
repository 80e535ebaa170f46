/**
 * Input that once ended the server's process or got a 500: sockets reset
 * after their refusal, request targets that are no URL, WebSocket protocol
 * errors on the ingest and pull sockets, large ingest frames, static paths
 * with a NUL or an encoded `../`. The server runs in this test's process, so
 * a crash fails the whole file.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { SOCKET_CLOSE_TIMEOUT_MS } from "../app.js";
import { DEFAULTS } from "../config.js";
import { MAX_CLIENT_MESSAGE_CHARS } from "../errors.js";
import { rawRequest, startServer, type Running } from "./fixture.js";

const UPGRADE_HEADERS = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/**
 * Sends an upgrade request for `target` over a raw TCP connection and
 * resolves the answer's status line; with `reset`, the connection is then
 * reset (RST) rather than closed.
 */
function rawUpgrade(server: Running, target: string, reset = false): Promise<string> {
  const { hostname, port } = new URL(server.httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${UPGRADE_HEADERS}\r\n`));
    socket.once("data", (data) => {
      resolve(String(data).split("\r\n")[0]);
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    });
    socket.on("error", reject);
    socket.setTimeout(5000, () => (socket.destroy(), reject(new Error(`no answer to the upgrade of ${target}`))));
  });
}

/** /healthz answers 200 three times in a row: the process is alive and its event loop free. */
async function stillServing(server: Running): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
  }
}

/** A WebSocket to `path` on the server, open, with what it received (text parsed as JSON) and how it closed. */
async function socketTo(server: Running, path: string) {
  const ws = new WebSocket(server.wsUrl.replace(/\/ws$/, path));
  const got: Array<Record<string, unknown>> = [];
  const closed: { code?: number } = {};
  ws.on("message", (d, isBinary) => {
    if (!isBinary) got.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>);
  });
  ws.on("close", (code) => (closed.code = code));
  ws.on("error", () => undefined);
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  return { ws, got, closed };
}

describe("input that once ended the process", () => {
  let server: Running;
  const sockets: WebSocket[] = [];
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await server.stop();
  });

  test("an upgrade refused (404, 403) whose client then resets the connection", async () => {
    assert.equal(await rawUpgrade(server, "/nope", true), "HTTP/1.1 404 Not Found");
    await stillServing(server);
    const foreign = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(server.wsUrl, { headers: { Origin: "http://elsewhere.example" } });
      ws.on("unexpected-response", (req, res) => (resolve(String(res.statusCode)), res.socket.resetAndDestroy(), req.destroy()));
      ws.on("error", reject);
    });
    assert.equal(foreign, "403");
    await stillServing(server);
  });

  test("an upgrade whose request target is no URL (`//a:b/ws`, `//[/ws`) is 400", async () => {
    for (const target of ["//a:b/ws", "//[/ws", "//%zz/ws"]) {
      assert.equal(await rawUpgrade(server, target), "HTTP/1.1 400 Bad Request", target);
    }
    await stillServing(server);
  });

  test("invalid UTF-8 text or reserved bits on the ingest and pull sockets close them (1007, 1002); the server goes on", async () => {
    for (const path of ["/ws/ingest/badframes", "/ws/stream/badframes?mode=pull", "/ws"]) {
      const s = await socketTo(server, path);
      sockets.push(s.ws);
      s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      await waitFor(() => s.closed.code, 5000, `${path} closed`);
      assert.equal(s.closed.code, 1007, path);
    }
    const raw = await socketTo(server, "/ws/ingest/badframes");
    sockets.push(raw.ws);
    // A text frame "{}" with RSV2 set: no extension gives that bit a meaning.
    (raw.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0xa1, 0x82, 1, 2, 3, 4, 0x7b ^ 1, 0x7d ^ 2]));
    await waitFor(() => raw.closed.code, 5000, "closed after reserved bits");
    assert.equal(raw.closed.code, 1002);
    await stillServing(server);
  });

  test("an ingest frame between 1 MiB and --max-frame-bytes is read and answered, and the socket stays open", async () => {
    const s = await socketTo(server, "/ws/ingest/bigframes");
    sockets.push(s.ws);
    s.ws.send(JSON.stringify({ type: "hello" }));
    await waitFor(() => s.got.find((m) => m.type === "ready"), 5000, "ready");
    s.ws.send(Buffer.alloc(3 * 1024 * 1024, 0x20));
    await waitFor(() => s.got.find((m) => m.type === "error"), 5000, "the 3 MiB frame's answer");
    assert.equal(s.got.find((m) => m.type === "error")?.code, "unsupported", "3 MiB of spaces is no JPEG");
    s.ws.send(testJpeg(64, 48));
    await waitFor(() => s.got.find((m) => m.type === "ack"), 5000, "an ack for a real frame after it");
    assert.equal(s.ws.readyState, WebSocket.OPEN);
  });

  test("a message over the sockets' limit (twice --max-frame-bytes) closes with 1009; the server goes on", async () => {
    const s = await socketTo(server, "/ws");
    sockets.push(s.ws);
    s.ws.send(Buffer.alloc(2 * DEFAULTS.maxFrameBytes + 1, 0x20), { binary: false });
    await waitFor(() => s.closed.code, 10_000, "closed");
    assert.equal(s.closed.code, 1009);
    await stillServing(server);
  });

  test("a query parameter given twice is 400; a refusal naming a 3,000-character id is cut to MAX_CLIENT_MESSAGE_CHARS", async () => {
    const twice = await fetch(`${server.httpUrl}/api/devices/test/snapshots?ttl=5&ttl=999999999`, { method: "POST" });
    assert.equal(twice.status, 400);
    assert.match(((await twice.json()) as { error: { message: string } }).error.message, /'ttl' is given 2 times/);
    assert.equal((await fetch(`${server.httpUrl}/api/rtc-config?relay=1&relay=0`)).status, 400);
    const long = await fetch(`${server.httpUrl}/api/devices/${"a".repeat(3000)}`, { method: "DELETE" });
    assert.equal(long.status, 404);
    const { error } = (await long.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, "not_found");
    assert.equal(error.message.length, MAX_CLIENT_MESSAGE_CHARS);
    assert.match(error.message, /^no device 'aaa.*…$/);
  });

  test("a stream socket for what no device can be called is refused (4400) without echoing it, pull mode too", async () => {
    for (const path of ["/ws/stream/Your%20session%20expired", "/ws/stream/Your%20session%20expired?mode=pull"]) {
      const s = await socketTo(server, path);
      sockets.push(s.ws);
      await waitFor(() => s.closed.code, 5000, `${path} closed`);
      assert.equal(s.closed.code, 4400, path);
      assert.equal(s.got[0]?.code, "bad_request");
      assert.doesNotMatch(String(s.got[0]?.message), /session expired/);
    }
  });

  test("static paths with a NUL or an encoded `../` are refused as the client's mistake, not a 500", async () => {
    for (const path of ["/%00", "/index.html%00", "/..%2f..%2fetc%2fpasswd", "/%2e%2e%2f"]) {
      const res = await rawRequest(server.httpUrl, { path });
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
      const { error } = JSON.parse(res.body.toString()) as { error: { code: string } };
      assert.notEqual(error.code, "internal", path);
    }
  });
});

test("shutdown does not wait for a client that never answers the close: its socket goes after SOCKET_CLOSE_TIMEOUT_MS", async () => {
  const server = await startServer();
  const { hostname, port } = new URL(server.httpUrl);
  // Completes the upgrade, then reads nothing and answers nothing, as a client gone without a FIN.
  const socket = connect(Number(port), hostname, () => socket.write(`GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${UPGRADE_HEADERS}\r\n`));
  socket.on("error", () => undefined);
  try {
    const status = await new Promise<string>((resolve) => socket.once("data", (d) => resolve(String(d).split("\r\n")[0])));
    assert.equal(status, "HTTP/1.1 101 Switching Protocols");
    socket.pause();
    const started = Date.now();
    await server.stop();
    const took = Date.now() - started;
    assert.ok(took < SOCKET_CLOSE_TIMEOUT_MS + 2000, `stopped in ${took} ms`);
  } finally {
    socket.destroy();
  }
});
