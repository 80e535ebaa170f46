/**
 * Classes of mistakes an attacker probes for, each checked across every
 * path it could hide in rather than at one request: state-changing routes
 * from a foreign page, paths that might slip past sign-in after
 * normalisation, client mistakes that must stay 4xx with short log lines,
 * garbage before `hello` on every socket, and HSTS over HTTPS.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { UsersFile } from "../auth/users-file.js";
import { createLogger } from "../log.js";
import { rawRequest, startServer, type Running } from "./fixture.js";

const PASSWORD = "by-class-password-1";
const ALICE = { Authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}` };
const EVIL = "https://evil.example";

/** Every state-changing route the server's routers declare (read from the built code, so a new one cannot be missed). */
function stateChangingRoutes(): Array<{ method: string; path: string }> {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const found: Array<{ method: string; path: string }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js") && !e.name.endsWith(".test.js")) {
        for (const m of readFileSync(p, "utf8").matchAll(/router\.(post|put|patch|delete)\("([^"]+)"/g)) found.push({ method: m[1].toUpperCase(), path: m[2] });
      }
    }
  };
  walk(root);
  return found;
}

/** A raw request, so the path reaches the server exactly as written (fetch would normalise it). */
async function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await rawRequest(url, { path, headers });
  return { status: res.status, body: res.body.toString() };
}

describe("by class", () => {
  let server: Running;
  let dataDir: string;
  const logLines: string[] = [];

  before(async () => {
    dataDir = join(mkdtempSync(join(tmpdir(), "tessera-by-class-")), "data");
    await new UsersFile(dataDir).set("alice", PASSWORD);
    server = await startServer({ auth: "basic", dataDir }, { log: createLogger("debug", "tessera", (line) => (logLines.push(line), true)) });
  });
  after(async () => {
    await server?.stop();
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
  });

  test("every state-changing route refuses a page of another origin, even with the browser's Basic credentials", async () => {
    const routes = stateChangingRoutes();
    assert.ok(routes.length >= 10, `routes found: ${routes.length}`);
    for (const { method, path } of routes) {
      const url = server.httpUrl + path.replace(/:(\w+)/g, "x-$1");
      const res = await fetch(url, { method, headers: { ...ALICE, Origin: EVIL, "Content-Type": "application/json" }, body: "{}" });
      assert.equal(res.status, 403, `${method} ${path} from ${EVIL}: ${res.status}`);
      assert.equal(res.headers.get("Access-Control-Allow-Origin"), null, `${method} ${path}: no CORS grant`);
    }
    // The server's own pages still may.
    const own = await fetch(`${server.httpUrl}/api/session`, { method: "POST", headers: { ...ALICE, Origin: server.httpUrl } });
    assert.equal(own.status, 200);
  });

  test("no spelling of a path gets past sign-in: open paths agree with the router after normalisation", async () => {
    const spellings = [
      "//api/devices",
      "/./api/devices",
      "/api/./devices",
      "/healthz/../api/devices",
      "/metrics/../api/devices",
      "/api/auth-config/../devices",
      "/readyz/..%2fapi/devices",
      "/healthz%2f..%2fapi%2fdevices",
      "/%61pi/devices",
      "/api%2fdevices",
      "/API/DEVICES",
      "/api/devices/",
      "/api/devices?x=/healthz",
      "/api/devices#/healthz",
      "/api/devices/..;/devices",
      "/snapshots/../api/devices",
    ];
    for (const path of spellings) {
      const res = await rawGet(server.httpUrl, path);
      assert.ok(res.status === 401 || res.status === 404 || res.status === 400, `${path}: ${res.status} ${res.body.slice(0, 80)}`);
      assert.ok(!res.body.includes('"devices"'), `${path} leaked the device list`);
    }
    // And the open ones are open.
    assert.equal((await rawGet(server.httpUrl, "/healthz")).status, 200);
  });

  test("client mistakes in paths and encodings are 4xx with short log lines, never 5xx", async () => {
    const long = "a".repeat(6000);
    const paths = [
      "/%E0%A4%A",
      "/api/devices/%ZZ/frame.jpg",
      "/api/devices/%00/frame.jpg",
      "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
      "/snapshots/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      `/${long}`,
      `/api/devices/${long}/frame.jpg`,
      "/whip/%ff",
      "/ws/stream/%ZZ",
    ];
    const before = logLines.length;
    for (const path of paths) {
      const res = await rawGet(server.httpUrl, path, ALICE);
      assert.ok(res.status >= 400 && res.status < 500, `${path.slice(0, 60)}: ${res.status}`);
    }
    for (const line of logLines.slice(before)) {
      assert.ok(line.length < 600, `a log line of ${line.length} chars: ${line.slice(0, 120)}…`);
      assert.ok(!line.includes(long), "the long path logged in full");
    }
  });

  test("answers over HTTPS carry HSTS (here a proxy's HTTPS, with --trust-proxy); plain HTTP answers do not", async () => {
    const proxied = await startServer({ trustProxy: true });
    try {
      for (const path of ["/", "/healthz", "/api/devices", "/nope"]) {
        const https = await fetch(`${proxied.httpUrl}${path}`, { headers: { "X-Forwarded-Proto": "https" } });
        assert.equal(https.headers.get("Strict-Transport-Security"), "max-age=31536000", path);
        const plain = await fetch(`${proxied.httpUrl}${path}`);
        assert.equal(plain.headers.get("Strict-Transport-Security"), null, path);
      }
    } finally {
      await proxied.stop();
    }
  });

  for (const [socket, path] of [
    ["/ws", "/ws"],
    ["the fallback stream", "/ws/stream/cam"],
    ["the ingest socket", "/ws/ingest/cam"],
  ] as const) {
    test(`${socket}: garbage before hello (text, JSON of another kind, binary) closes with 4400 or 4401 as docs/protocol.md says`, async () => {
      for (const garbage of ["\u0000garbage", '{"type":"watch","deviceId":"cam"}', Buffer.from([1, 2, 3])]) {
        const ws = new WebSocket(server.wsUrl.replace(/\/ws$/, path), { headers: ALICE });
        const code = await new Promise<number>((resolve, reject) => {
          ws.on("open", () => ws.send(garbage));
          ws.on("close", (c) => resolve(c));
          ws.on("error", reject);
        });
        assert.ok(code === 4400 || code === 4401, `${socket} after ${JSON.stringify(garbage)}: ${code}`);
      }
    });
  }
});
