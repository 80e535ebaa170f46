import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { SignalingClient } from "../../e2e/lib/signaling-client.js";
import { UsersFile } from "../auth/users-file.js";
import { startServer, type Running } from "./fixture.js";
import { checkIsolation, type Caller } from "./isolation.js";

const basic = (name: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}` });
const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-22" };

/** The auth-failure counter's value for one reason. */
async function failures(server: Running, reason: string): Promise<number> {
  const m = new RegExp(`^tessera_auth_failures_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(await server.app.metrics.text());
  return Number(m?.[1] ?? 0);
}

/** Opens /ws, says hello with this token, and returns the close code or "welcome". */
async function helloWith(server: Running, token: string | undefined): Promise<number | "welcome"> {
  const c = await SignalingClient.connect(server.wsUrl);
  c.send({ type: "hello", role: "viewer", protocol: 1, ...(token === undefined ? {} : { token }) });
  const code = await Promise.race([c.closed(), c.next("welcome").then(() => "welcome" as const)]);
  c.close();
  return code;
}

async function session(server: Running, headers: Record<string, string>): Promise<{ token: string; expiresAt: number; account: string }> {
  const res = await fetch(`${server.httpUrl}/api/session`, { method: "POST", headers });
  assert.equal(res.status, 200);
  return (await res.json()) as { token: string; expiresAt: number; account: string };
}

describe("--auth basic", () => {
  let server: Running;
  let dataDir: string;

  before(async () => {
    dataDir = join(mkdtempSync(join(tmpdir(), "tessera-basic-")), "data");
    const users = new UsersFile(dataDir);
    for (const [name, pw] of Object.entries(PASSWORDS)) await users.set(name, pw);
    server = await startServer({ auth: "basic", dataDir, source: [{ kind: "test" }], adminAccounts: ["alice"] });
  });

  after(async () => {
    await server?.stop();
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
  });

  test("pages and API ask for Basic credentials; probes stay open; every answer has the security headers", async () => {
    for (const path of ["/", "/device.html", "/viewer.js", "/api/devices", "/api/rtc-config"]) {
      const res = await fetch(`${server.httpUrl}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get("www-authenticate"), 'Basic realm="Tessera", charset="UTF-8"', path);
    }
    assert.equal((await fetch(`${server.httpUrl}/api/session`, { method: "POST" })).status, 401);
    for (const path of ["/healthz", "/readyz", "/metrics"]) assert.equal((await fetch(`${server.httpUrl}${path}`)).status, 200, path);
    const page = await fetch(`${server.httpUrl}/`, { headers: basic("alice", PASSWORDS.alice) });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/viewer.js">/);
    assert.match(
      page.headers.get("content-security-policy") ?? "",
      /script-src 'self'.*img-src 'self' blob: data:.*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+.*frame-ancestors 'none'/,
    );
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    assert.equal((await fetch(`${server.httpUrl}/api/devices`, { headers: basic("alice", PASSWORDS.bob) })).status, 401);
    assert.equal(await failures(server, "bad_password"), 1);
    assert.equal((await fetch(`${server.httpUrl}/api/devices`, { headers: basic("carol", PASSWORDS.bob) })).status, 401);
    assert.equal(await failures(server, "unknown_user"), 1);
  });

  test("the data dir is private: users.json and the session secret 0600 in a 0700 directory", () => {
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, "users.json")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, "session-secret")).mode & 0o777, 0o600);
  });

  test("POST /api/session gives a one-hour token the hellos carry; no, bad and forged tokens get 4401", async () => {
    const before = Date.now();
    const s = await session(server, basic("alice", PASSWORDS.alice));
    assert.equal(s.account, "alice");
    assert.ok(s.expiresAt > before + 3590_000 && s.expiresAt <= Date.now() + 3600_000, `expiresAt ${s.expiresAt}`);
    assert.equal(await helloWith(server, s.token), "welcome");
    const [p, payload, mac] = s.token.split(".");
    const forged = `${p}.${Buffer.from(JSON.stringify({ sub: "bob", exp: 9e9 })).toString("base64url")}.${mac}`;
    for (const [token, reason] of [
      [undefined, "no_token"],
      ["not-a-token", "bad_token"],
      [forged, "bad_token"],
      // One changed character of the MAC (never the one it already ends with).
      [`${p}.${payload}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`, "bad_token"],
      [`${p}.${payload}.${mac.startsWith("A") ? "B" : "A"}${mac.slice(1)}`, "bad_token"],
    ] as const) {
      const was = await failures(server, reason);
      assert.equal(await helloWith(server, token), 4401, String(token));
      assert.equal(await failures(server, reason), was + 1, reason);
    }
    const stream = new WebSocket(`${server.wsUrl}/stream/anything`);
    stream.on("open", () => stream.send(JSON.stringify({ type: "hello", token: "nope" })));
    assert.equal(await new Promise((resolve) => stream.on("close", resolve)), 4401, "the fallback socket too");
  });

  test("a removed user's session tokens stop working", async () => {
    const users = new UsersFile(dataDir);
    await users.set("temp", "temp-password-1");
    const s = await session(server, basic("temp", "temp-password-1"));
    assert.equal(await helloWith(server, s.token), "welcome");
    users.remove("temp");
    assert.equal(await helloWith(server, s.token), 4401);
  });

  test("a session token ends with its user's password: a new password, or the name removed and added again with the same one", async () => {
    const users = new UsersFile(dataDir);
    await users.set("mover", "first-password-1");
    const first = await session(server, basic("mover", "first-password-1"));
    assert.equal(await helloWith(server, first.token), "welcome");
    await users.set("mover", "second-password-2");
    assert.equal(await helloWith(server, first.token), 4401, "the old password's token");
    const second = await session(server, basic("mover", "second-password-2"));
    assert.equal(await helloWith(server, second.token), "welcome");
    users.remove("mover");
    await users.set("mover", "second-password-2");
    assert.equal(await helloWith(server, second.token), 4401, "the token of the user who was removed, though the name is back with the same password");
    assert.equal(await helloWith(server, (await session(server, basic("mover", "second-password-2"))).token), "welcome");
  });

  test("WebSocket upgrades from another origin are refused with 403 before the upgrade", async () => {
    const origin = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(server.wsUrl, { origin: "https://evil.example" });
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("opened")));
      ws.on("error", () => {});
    });
    assert.equal(origin, 403);
    const own = new WebSocket(server.wsUrl, { origin: server.httpUrl });
    await new Promise((resolve, reject) => (own.on("open", resolve), own.on("error", reject)));
    own.close();
  });

  test("isolation: alice's device is listed, watched and streamed by alice and by no path of bob's", async () => {
    const caller = async (name: keyof typeof PASSWORDS): Promise<Caller> => {
      const headers = basic(name, PASSWORDS[name]);
      return { account: name, headers, token: (await session(server, headers)).token };
    };
    await checkIsolation(server, await caller("alice"), await caller("bob"));
  });

  test("TURN credentials from /api/rtc-config name the caller's account", async () => {
    // Its own server: the server's peers would try this TURN server too, and nothing listens there.
    const turn = await startServer({ auth: "basic", dataDir, turnUris: ["turn:127.0.0.1:3478"], turnSecret: "turn-secret" });
    try {
      for (const name of ["alice", "bob"] as const) {
        const res = await fetch(`${turn.httpUrl}/api/rtc-config`, { headers: basic(name, PASSWORDS[name]) });
        const { iceServers } = (await res.json()) as { iceServers: Array<{ username?: string }> };
        assert.match(iceServers[0]?.username ?? "", new RegExp(`^\\d+:${name}$`));
      }
    } finally {
      await turn.stop();
    }
  });

  test("GET /api/cluster: an --admin-account sees it (no cluster here), any other account gets 403", async () => {
    const admin = await fetch(`${server.httpUrl}/api/cluster`, { headers: basic("alice", PASSWORDS.alice) });
    assert.equal(admin.status, 200);
    assert.deepEqual(await admin.json(), { node: null, redis: "off", nodes: [], legs: 0 });
    const other = await fetch(`${server.httpUrl}/api/cluster`, { headers: basic("bob", PASSWORDS.bob) });
    assert.equal(other.status, 403);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, "forbidden");
  });

  test("failed logins are rate limited per address: 429 with Retry-After, even for the right password", async () => {
    let status = 0;
    let tries = 0;
    while (status !== 429 && tries++ < 20) status = (await fetch(`${server.httpUrl}/api/devices`, { headers: basic("bob", "wrong-password") })).status;
    assert.equal(status, 429);
    assert.ok(tries <= 11, `limited after ${tries} tries`);
    const res = await fetch(`${server.httpUrl}/api/devices`, { headers: basic("bob", PASSWORDS.bob) });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    assert.ok((await failures(server, "rate_limited")) >= 2);
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
  });
});
