/**
 * Slow and hostile clients against a server process (with the test device
 * and a short --socket-timeout): a signaling viewer and a fallback viewer
 * that stop reading their sockets, a fallback viewer that never acks,
 * 1,000 sockets that never say hello, and HTTP requests trickled a byte at
 * a time. Each is cut off within its bound, the server's memory stays
 * bounded, and a well-behaved fallback viewer keeps its frame rate.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { FallbackClient } from "./lib/fallback-client.js";
import { SignalingClient, waitFor, waitForAsync } from "./lib/signaling-client.js";
import { processRssBytes } from "../bench/proc.js";
import { ServerProcess } from "../bench/server-process.js";

/** --socket-timeout for this file, seconds: sockets that answer no ping go within this (plus one ping interval). */
const SOCKET_TIMEOUT_S = 4;
const HELLO_TIMEOUT_MS = 10_000;

/** Frames per second a well-behaved fallback viewer draws over `ms` (its acks pace it). */
async function frameRate(client: FallbackClient, ms: number): Promise<number> {
  const frames = () => new Set(client.stripes.map((s) => s.stripe.frameId)).size;
  const start = frames();
  const t0 = performance.now();
  await waitFor(() => performance.now() - t0 >= ms || undefined, ms + 1000, "the measuring window");
  return ((frames() - start) * 1000) / (performance.now() - t0);
}

/** Pauses a ws client's socket: it reads nothing more (pings included), as a stuck client would. */
function stopReading(ws: WebSocket): void {
  (ws as unknown as { _socket: Socket })._socket.pause();
}

describe("slow and hostile clients", () => {
  let server: ServerProcess;
  let watcher: FallbackClient;
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-slow-"));
  const wsBase = () => server.httpUrl.replace(/^http/, "ws");
  const rssMb = () => processRssBytes(server.pid) / 1048576;
  const metric = async (name: string) => {
    const line = (await server.metricsText()).split("\n").find((l) => l.startsWith(`${name} `));
    return Number(line?.split(" ")[1] ?? 0);
  };

  before(async () => {
    server = await ServerProcess.start(
      ["--port", "0", "--source", "test", "--ice-host", "127.0.0.1", "--data-dir", dataDir, "--socket-timeout", String(SOCKET_TIMEOUT_S)],
      { ...process.env, UV_THREADPOOL_SIZE: "128" },
    );
    // The well-behaved viewer whose frame rate the others must not dent.
    watcher = new FallbackClient(`${wsBase()}/ws/stream/test?codec=jpeg`);
    await waitFor(() => watcher.stripes.length > 0, 15_000, "stripes at the watcher");
  });
  after(async () => {
    watcher?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a signaling viewer and a fallback viewer that stop reading are closed after --socket-timeout; the watcher keeps its frame rate", async (t) => {
    const before = await frameRate(watcher, 3000);
    const signaling = await SignalingClient.connect(`${wsBase()}/ws`);
    signaling.send({ type: "hello", role: "viewer", protocol: 1 });
    await signaling.next("welcome");
    const stuck = new FallbackClient(`${wsBase()}/ws/stream/test?codec=jpeg`);
    await waitFor(() => stuck.stripes.length > 0, 15_000, "stripes at the viewer about to get stuck");
    const t0 = performance.now();
    stopReading(signaling.ws);
    stopReading((stuck as unknown as { ws: WebSocket }).ws);
    const during = await frameRate(watcher, 3000);
    // The server gives up on both; the client side learns once it reads again.
    await waitForAsync(async () => (await metric("tessera_sockets_timed_out_total")) >= 2, (SOCKET_TIMEOUT_S + 3) * 1000, "both sockets timed out");
    const ms = performance.now() - t0;
    t.diagnostic(`watcher ${before.toFixed(1)} fps before, ${during.toFixed(1)} fps while two clients were stuck; stuck ones cut after ${Math.round(ms)} ms`);
    assert.ok(ms <= (SOCKET_TIMEOUT_S * 1.5 + 1) * 1000, `cut after ${Math.round(ms)} ms`);
    assert.ok(during >= before * 0.7, `the watcher dropped from ${before.toFixed(1)} to ${during.toFixed(1)} fps`);
    (signaling.ws as unknown as { _socket: Socket })._socket.resume();
    assert.equal(await signaling.closed(5000), 1006);
    signaling.close();
    stuck.close();
  });

  test("a fallback viewer that never acks is paused, not fed: the server's memory stays put and the watcher keeps its frame rate", async () => {
    const before = await frameRate(watcher, 3000);
    const silent = new FallbackClient(`${wsBase()}/ws/stream/test?codec=jpeg`);
    silent.autoAck = false;
    await waitFor(() => silent.stripes.length > 0, 15_000, "first stripes at the silent viewer");
    const rss0 = rssMb();
    const during = await frameRate(watcher, 5000);
    const bytesThen = silent.bytes;
    await waitForAsync(
      async () => (await metric('tessera_fallback_backpressure_pauses_total{reason="silence"}')) >= 1 || undefined,
      10_000,
      "paused for silence",
    );
    assert.ok(silent.bytes - bytesThen < 2_000_000, `kept sending to a viewer that acks nothing: ${silent.bytes - bytesThen} bytes`);
    assert.ok(rssMb() - rss0 < 50, `RSS grew ${(rssMb() - rss0).toFixed(1)} MB`);
    assert.ok(during >= before * 0.7, `the watcher dropped from ${before.toFixed(1)} to ${during.toFixed(1)} fps`);
    silent.close();
  });

  test("1,000 sockets that never say hello: all closed with 4408 after the hello timeout, bounded memory, the watcher unaffected", async (t) => {
    const before = await frameRate(watcher, 3000);
    const rss0 = rssMb();
    const codes: number[] = [];
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 1000; i++) {
      const ws = new WebSocket(`${wsBase()}/${i % 2 ? "ws" : "ws/stream/test"}`);
      ws.on("close", (code) => codes.push(code));
      ws.on("error", () => {});
      sockets.push(ws);
    }
    await waitFor(
      () => sockets.every((ws) => ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CLOSED) || undefined,
      20_000,
      "1,000 sockets open",
    );
    const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    const rssOpen = rssMb();
    const during = await frameRate(watcher, 3000);
    await waitFor(() => codes.length === 1000 || undefined, HELLO_TIMEOUT_MS + 10_000, "every idle socket closed");
    t.diagnostic(
      `${open} open at once; server RSS ${rss0.toFixed(0)} → ${rssOpen.toFixed(0)} MB with them; watcher ${before.toFixed(1)} → ${during.toFixed(1)} fps`,
    );
    assert.equal(open, 1000);
    assert.deepEqual([...new Set(codes)], [4408]);
    assert.ok(rssOpen - rss0 < 100, `1,000 idle sockets cost ${(rssOpen - rss0).toFixed(1)} MB`);
    assert.ok(during >= before * 0.7, `the watcher dropped from ${before.toFixed(1)} to ${during.toFixed(1)} fps`);
  });

  test("HTTP requests and a WebSocket frame trickled a byte at a time are cut off within their timeouts", async () => {
    const { hostname, port } = new URL(server.httpUrl);
    const trickle = () => {
      const socket = connect(Number(port), hostname);
      const request = `GET /api/devices HTTP/1.1\r\nHost: ${hostname}\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`;
      let i = 0;
      const timer = setInterval(() => {
        if (i < request.length && !socket.destroyed) socket.write(request[i++]);
      }, 250);
      const ended = new Promise<{ ms: number; text: string }>((resolve) => {
        const t0 = performance.now();
        let text = "";
        socket.on("data", (d) => (text += d.toString()));
        socket.on("close", () => {
          clearInterval(timer);
          resolve({ ms: performance.now() - t0, text });
        });
        socket.on("error", () => {});
      });
      return ended;
    };
    const results = await Promise.all(Array.from({ length: 50 }, trickle));
    const headersTimeoutMs = (SOCKET_TIMEOUT_S * 1000) / 3;
    for (const r of results) {
      assert.ok(r.ms < headersTimeoutMs + 3000, `a trickled request held its socket ${Math.round(r.ms)} ms`);
      assert.match(r.text, /^HTTP\/1\.1 408/);
    }
    // A raw WebSocket client that sends its hello frame one byte every 200 ms and answers no ping: the server's ping timeout (or its hello timer) ends it.
    const socket = connect(Number(port), hostname);
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let answer = "";
    socket.on("data", (d) => (answer += d.toString("latin1")));
    socket.on("error", () => {});
    await waitFor(() => answer.startsWith("HTTP/1.1 101") || undefined, 5000, "the upgrade");
    const hello = Buffer.from(JSON.stringify({ type: "hello", role: "viewer", protocol: 1 }));
    // A masked text frame (client → server) that cannot complete before the server gives up on it.
    const frame = Buffer.concat([Buffer.of(0x81, 0x80 | hello.length, 0, 0, 0, 0), hello]);
    let i = 0;
    const t0 = performance.now();
    const timer = setInterval(() => i < frame.length && !socket.destroyed && socket.write(frame.subarray(i, ++i)), 200);
    await new Promise((r) => socket.once("close", r));
    clearInterval(timer);
    const ms = performance.now() - t0;
    assert.ok(i < frame.length, "the frame never completed");
    assert.ok(ms < Math.min(HELLO_TIMEOUT_MS, SOCKET_TIMEOUT_S * 1500 + 1000) + 1000, `a trickled frame held its socket ${Math.round(ms)} ms`);
  });
});
