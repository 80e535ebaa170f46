/**
 * The server's own entry points, fuzzed through a running app: `/ws`
 * signaling (as a device and as a viewer), the JPEG ingest socket, frame
 * pushes over HTTP, the fallback stream socket, and WHIP offers and PATCH
 * fragments. Cases come from fast-check with the fuzz seed; each answer must
 * be a known message or an error with a known code (never `internal`), the
 * server must keep answering, and nothing may reject unhandled.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { WebSocket } from "ws";
import { ERROR_CODES } from "../protocol/messages.js";
import { startServer, type Running } from "../integration/fixture.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { wsMessage } from "./arbitraries.js";
import { weriftOffer } from "../../e2e/lib/werift-peers.js";
import { MAX_MESSAGE_CHARS, mutatedBytes, mutatedLines, RUNS, SEED } from "./fuzz.js";

/**
 * WHIP offers make a peer connection each when they pass the SDP checks, and
 * each PATCH hands werift candidates (~1.7 ms): fewer of them through a live
 * session (both parsers get RUNS cases in parsers.test.ts), more with `npm run fuzz`.
 */
const WHIP_RUNS = Math.max(200, Math.round(RUNS / 20));
const PATCH_RUNS = Math.max(500, Math.round(RUNS / 5));
/** The same bodies as the ingest socket's, one HTTP request each. */
const HTTP_PUSH_RUNS = Math.max(500, Math.round(RUNS / 10));

const KNOWN_CODES = new Set<string>(ERROR_CODES);
const sample = <T>(arb: fc.Arbitrary<T>, runs = RUNS): T[] => fc.sample(arb, { seed: SEED, numRuns: runs });

/** A socket that keeps what it was sent and how it closed. */
class Sock {
  readonly received: Array<Record<string, unknown>> = [];
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, binary) => {
      if (!binary) this.received.push(JSON.parse((data as Buffer).toString()) as Record<string, unknown>);
    });
    ws.on("close", (code) => (this.closeCode = code));
  }
  static async open(url: string): Promise<Sock> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new Sock(ws);
  }
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
  /** The close code, once the closing handshake is over. */
  async closed(): Promise<number> {
    if (this.ws.readyState !== WebSocket.CLOSED) await new Promise((resolve) => this.ws.once("close", resolve));
    return this.closeCode ?? 0;
  }
  /** Resolves once the server has read everything sent before (a ping is answered after the frames ahead of it), or the socket closed. */
  async flushed(): Promise<void> {
    if (!this.open) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.ws.off("pong", done);
        this.ws.off("close", done);
        resolve();
      };
      this.ws.once("pong", done);
      this.ws.once("close", done);
      this.ws.ping();
    });
  }
  async next(type: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((m) => m.type === type);
      if (found) return found;
      assert.ok(this.open && Date.now() < deadline, `no ${type} (closed ${this.closeCode})`);
      await new Promise<void>((resolve) => this.ws.once("message", () => resolve()));
    }
  }
  close(): void {
    this.ws.terminate();
  }
}

/** Every error among `messages` carries a known code other than `internal` and a short message. */
function assertClearErrors(messages: ReadonlyArray<Record<string, unknown>>, where: string): void {
  for (const m of messages) {
    if (m.type !== "error") continue;
    assert.ok(typeof m.code === "string" && KNOWN_CODES.has(m.code), `${where}: error code ${String(m.code)}`);
    assert.notEqual(m.code, "internal", `${where}: an internal error: ${String(m.message)}`);
    assert.ok(typeof m.message === "string" && m.message.length <= MAX_MESSAGE_CHARS, `${where}: error message ${String(m.message).slice(0, 80)}`);
  }
}

describe("fuzz: the running server", () => {
  let server: Running;
  let rejections = 0;
  const onRejection = () => rejections++;
  const unhandledMetric = async () => Number(/^tessera_unhandled_rejections_total (\d+)/m.exec(await server.app.metrics.text())?.[1] ?? 0);

  before(async () => {
    process.on("unhandledRejection", onRejection);
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    process.off("unhandledRejection", onRejection);
  });

  /** The server still answers, and nothing rejected unhandled. */
  async function stillServing(): Promise<void> {
    const res = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    assert.equal(rejections, 0, "unhandled rejections in the test process");
    assert.equal(await unhandledMetric(), 0, "unhandled rejections the server counted");
  }

  test(`/ws signaling: ${RUNS} fuzzed messages after a device's and a viewer's hello`, async (t) => {
    const cases = sample(wsMessage);
    const closes = new Map<number, number>();
    let sock: Sock | undefined;
    let opened = 0;
    let answers = 0;
    try {
      for (let i = 0; i < cases.length; i++) {
        if (!sock?.open) {
          if (sock) {
            const code = await sock.closed();
            assertClearErrors(sock.received, `socket ${opened}`);
            answers += sock.received.length;
            closes.set(code, (closes.get(code) ?? 0) + 1);
          }
          sock = await Sock.open(server.wsUrl);
          opened++;
          const device = opened % 2 === 0;
          sock.ws.send(
            JSON.stringify({ type: "hello", role: device ? "device" : "viewer", protocol: 1, ...(device ? { device: { id: `fuzz-${opened}` } } : {}) }),
          );
          await sock.next("welcome");
        }
        sock.ws.send(cases[i]);
        // Each message read before the next: none is lost in flight to a socket the server is closing.
        await sock.flushed();
      }
      if (sock) assertClearErrors(sock.received, `socket ${opened}`);
      answers += sock?.received.length ?? 0;
    } finally {
      sock?.close();
    }
    t.diagnostic(`${cases.length} messages on ${opened} sockets, ${answers} answers; closes ${JSON.stringify([...closes])}`);
    // Most fuzzed messages are refused, each with an error: the cases reached the server's handlers.
    assert.ok(answers > cases.length / 2, `${answers} answers to ${cases.length} messages`);
    // A socket closes after a bye (1000), too many bad messages (4400) or a device id taken over (4409), never for anything unexplained.
    for (const code of closes.keys()) assert.ok([1000, 4400, 4409].includes(code), `closed with ${code}`);
    await stillServing();
  });

  test(`the JPEG ingest socket: ${RUNS} fuzzed frames, each acked or refused with a clear error`, async () => {
    const jpeg = testJpeg(64, 48);
    const cases = sample(
      fc.oneof(
        mutatedBytes(jpeg),
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      ),
    );
    const sock = await Sock.open(`${server.wsUrl}/ingest/fuzz-ingest`);
    // (Every frame gets exactly one answer, so nothing is lost in flight here.)
    try {
      sock.ws.send(JSON.stringify({ type: "hello" }));
      await sock.next("ready");
      for (let i = 0; i < cases.length; i++) {
        sock.ws.send(cases[i]);
        if (i % 200 === 199) await sock.flushed();
      }
      await sock.flushed();
      assert.ok(sock.open, `the socket stays open (closed ${sock.closeCode})`);
      const answers = sock.received.filter((m) => m.type === "ack" || m.type === "error");
      assert.equal(answers.length, cases.length, "one answer per frame");
      assertClearErrors(sock.received, "ingest");
    } finally {
      sock.close();
    }
    await stillServing();
  });

  test(`frame pushes over HTTP: ${HTTP_PUSH_RUNS} fuzzed bodies, 201 or 4xx with a JSON error`, async () => {
    const jpeg = testJpeg(64, 48);
    const cases = sample(mutatedBytes(jpeg), HTTP_PUSH_RUNS);
    for (const body of cases) {
      const res = await fetch(`${server.httpUrl}/api/devices/fuzz-push/frames`, { method: "POST", headers: { "Content-Type": "image/jpeg" }, body });
      const text = await res.text();
      if (res.status === 201) continue;
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${text.slice(0, 200)}`);
      const err = JSON.parse(text) as { error: { code: string } };
      assert.ok(KNOWN_CODES.has(err.error.code) && err.error.code !== "internal", text);
    }
    await stillServing();
  });

  test(`the fallback stream socket: ${RUNS} fuzzed acks, settings and input lines`, async () => {
    // A frame device to watch: the fallback stripes its pictures.
    const pushed = await fetch(`${server.httpUrl}/api/devices/fuzz-fb/frames`, {
      method: "POST",
      headers: { "Content-Type": "image/jpeg" },
      body: testJpeg(64, 48),
    });
    assert.equal(pushed.status, 201);
    const text = fc.oneof(
      fc.tuple(fc.constantFrom("ACK ", "kf", "SETTINGS,", "m,", "kd,", "cw,", "r,", "t,start,"), fc.string({ maxLength: 40 })).map(([a, b]) => a + b),
      fc.string({ maxLength: 80 }),
      wsMessage,
    );
    const cases = sample(text);
    let sock: Sock | undefined;
    const closes = new Map<number, number>();
    try {
      for (let i = 0; i < cases.length; i++) {
        if (!sock?.open) {
          if (sock) {
            const code = await sock.closed();
            assertClearErrors(sock.received, "fallback");
            closes.set(code, (closes.get(code) ?? 0) + 1);
          }
          sock = await Sock.open(`${server.wsUrl}/stream/fuzz-fb`);
          sock.ws.send(JSON.stringify({ type: "hello" }));
        }
        sock.ws.send(cases[i]);
        if (i % 100 === 99) await sock.flushed();
      }
      await sock?.flushed();
      if (sock) assertClearErrors(sock.received, "fallback");
    } finally {
      sock?.close();
    }
    for (const code of closes.keys()) assert.ok([4400, 4409, 4429].includes(code), `closed with ${code}`);
    await stillServing();
  });

  test(`WHIP: fuzzed offers (${WHIP_RUNS}) and PATCH fragments (${PATCH_RUNS}): 201 or a 4xx with a JSON error`, async (t) => {
    const t0 = performance.now();
    const offer = await weriftOffer();
    const created: string[] = [];
    let taken = 0;
    const answers = new Map<number, number>();
    try {
      for (const body of sample(mutatedLines(offer), WHIP_RUNS)) {
        const res = await fetch(`${server.httpUrl}/whip/fuzz-whip-${taken}`, { method: "POST", headers: { "Content-Type": "application/sdp" }, body });
        const text = await res.text();
        answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
        if (res.status === 201) {
          taken++;
          const url = new URL(res.headers.get("Location") ?? "", server.httpUrl).href;
          // One session stays for the PATCH fuzzing; the others end at once, as a client would (else they count against --limit whip).
          if (created.length === 0) created.push(url);
          else assert.equal((await fetch(url, { method: "DELETE" })).status, 200);
          continue;
        }
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${text.slice(0, 200)}`);
        const code = (JSON.parse(text) as { error: { code: string } }).error.code;
        assert.ok(KNOWN_CODES.has(code) && code !== "internal", text);
      }
      assert.ok(taken > 0, `some offers were taken: ${JSON.stringify([...answers])}`);
      t.diagnostic(`offers: ${JSON.stringify([...answers])} in ${Math.round(performance.now() - t0)} ms`);
      const t1 = performance.now();
      const patched = new Map<number, number>();
      const resource = created[0];
      const fragment =
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n";
      for (const body of sample(fc.oneof(mutatedLines(fragment), fc.string({ maxLength: 200 })), PATCH_RUNS)) {
        const res = await fetch(resource, { method: "PATCH", headers: { "Content-Type": "application/trickle-ice-sdpfrag" }, body });
        const text = await res.text();
        assert.ok(res.status < 500, `PATCH ${res.status}: ${text.slice(0, 200)}`);
        patched.set(res.status, (patched.get(res.status) ?? 0) + 1);
      }
      t.diagnostic(`PATCH: ${JSON.stringify([...patched])} in ${Math.round(performance.now() - t1)} ms`);
    } finally {
      for (const url of created) await fetch(url, { method: "DELETE" }).catch(() => undefined);
    }
    await stillServing();
  });
});
