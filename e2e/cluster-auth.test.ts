/**
 * Two Tessera nodes with `--auth basic` sharing a real redis-server: what
 * one node signs (session tokens) works on the other, failed sign-ins are
 * counted across both, and an account's device on one node plays for that
 * account only on the other.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { UsersFile } from "../server/auth/users-file.js";
import { REDIS_COMMAND_TIMEOUT_MS } from "../server/cluster/cluster.js";
import { RedisServer } from "./lib/redis.js";
import { SignalingClient, waitForAsync } from "./lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "./lib/werift-peers.js";
import { startServer, type TestServer } from "./harness.js";

const PASSWORDS = { alice: "alice-password-1", bob: "bob-password-22" };
const basic = (name: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}` });

let redis: RedisServer;
const nodes: TestServer[] = [];
const dirs: string[] = [];
const opened: { close(): Promise<void> }[] = [];
const ws = (node: TestServer) => `${node.url.replace(/^http/, "ws")}ws`;

/** A session token for `name` from `node`. */
async function token(node: TestServer, name: keyof typeof PASSWORDS): Promise<string> {
  const res = await fetch(`${node.url}api/session`, { method: "POST", headers: basic(name, PASSWORDS[name]) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { token: string }).token;
}

before(async () => {
  redis = await RedisServer.start();
  for (let i = 0; i < 2; i++) {
    const root = mkdtempSync(join(tmpdir(), "tessera-cluster-auth-"));
    dirs.push(root);
    const dataDir = join(root, "data");
    const users = new UsersFile(dataDir);
    for (const [name, pw] of Object.entries(PASSWORDS)) await users.set(name, pw);
    nodes.push(await startServer({ args: ["--auth", "basic", "--data-dir", dataDir, "--redis", redis.url, "--source", "none", "--admin-account", "alice"] }));
  }
});
after(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => undefined);
  for (const n of nodes) await n.close();
  await redis.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("a session token from node A opens a socket on node B", { timeout: 30_000 }, async () => {
  const [a, b] = nodes;
  const c = await SignalingClient.connect(ws(b));
  opened.push({ close: async () => c.close() });
  c.send({ type: "hello", role: "viewer", protocol: 1, token: await token(a, "alice") });
  assert.equal((await c.next("welcome")).account, "alice");
});

test("alice's device on node A plays for alice on node B, and is not found for bob there", { timeout: 60_000 }, async () => {
  const [a, b] = nodes;
  const device = await WeriftDevice.publish(ws(a), { id: "alice-cam", token: await token(a, "alice") });
  opened.push(device);
  const listed = async () =>
    ((await (await fetch(`${b.url}api/devices`, { headers: basic("alice", PASSWORDS.alice) })).json()) as { devices: { id: string; online: boolean }[] })
      .devices;
  await waitForAsync(async () => (await listed()).find((d) => d.id === "alice-cam" && d.online), 10_000, "alice-cam listed on B for alice");
  const alice = await WeriftViewer.connect(ws(b), { decode: true, token: await token(b, "alice") });
  opened.push(alice);
  alice.watch("alice-cam");
  await waitForAsync(async () => (alice.streams.get("alice-cam")?.decodedFrames ?? 0) >= 10, 20_000, "alice's frames on B");
  const bob = await WeriftViewer.connect(ws(b), { token: await token(b, "bob") });
  opened.push(bob);
  bob.watch("alice-cam");
  assert.equal((await bob.signaling.next("error")).code, "not_found");
  const bobsList = (await (await fetch(`${b.url}api/devices`, { headers: basic("bob", PASSWORDS.bob) })).json()) as { devices: unknown[] };
  assert.deepEqual(bobsList.devices, []);
});

test(
  "Redis paused with its connections open: requests are answered from what the node has, and the node rejoins once Redis answers",
  { timeout: 60_000 },
  async () => {
    const a = nodes[0];
    const cluster = async () =>
      (
        (await (await fetch(`${a.url}api/cluster`, { headers: basic("alice", PASSWORDS.alice), signal: AbortSignal.timeout(10_000) })).json()) as {
          redis: string;
        }
      ).redis;
    assert.equal(await cluster(), "up");
    redis.pause();
    try {
      const started = Date.now();
      const res = await fetch(`${a.url}api/devices`, { headers: basic("alice", PASSWORDS.alice), signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200, "signed in with the local limiter standing in");
      assert.ok(Date.now() - started < 5 * REDIS_COMMAND_TIMEOUT_MS, `answered in ${Date.now() - started} ms`);
      await waitForAsync(async () => (await cluster()) === "down", 15_000, "Redis reported unreachable");
    } finally {
      redis.resume();
    }
    await waitForAsync(async () => (await cluster()) === "up", 15_000, "Redis reported reachable again, with no new connection");
  },
);

test("failed sign-ins count across the nodes: five on A and five on B, then both refuse with 429", { timeout: 30_000 }, async () => {
  const [a, b] = nodes;
  for (const node of [a, b]) {
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${node.url}api/devices`, { headers: basic("alice", "wrong") })).status, 401);
  }
  for (const node of [a, b]) {
    const res = await fetch(`${node.url}api/devices`, { headers: basic("alice", PASSWORDS.alice) });
    assert.equal(res.status, 429, "even the right password is refused unchecked");
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
  }
});
