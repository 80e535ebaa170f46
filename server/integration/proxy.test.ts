import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { UsersFile } from "../auth/users-file.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { startServer, type Running } from "./fixture.js";

const basic = (name: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}` });
const ALICE = basic("alice", "alice-password-1");
const WRONG = basic("alice", "not-her-password");

describe("behind a reverse proxy (--trust-proxy, --public-url)", () => {
  let root: string;
  let dataDir: string;
  let jpeg: Buffer;
  const servers: Running[] = [];
  const start = async (overrides: Parameters<typeof startServer>[0]) => {
    const s = await startServer({ auth: "basic", dataDir, ...overrides });
    servers.push(s);
    return s;
  };
  /** GET /api/devices with these headers; the status. */
  const call = async (s: Running, headers: Record<string, string>) => (await fetch(`${s.httpUrl}/api/devices`, { headers })).status;
  async function snapshotUrl(s: Running, headers: Record<string, string> = {}): Promise<string> {
    const push = await fetch(`${s.httpUrl}/api/devices/cam/frames`, { method: "POST", headers: { ...ALICE, "Content-Type": "image/jpeg" }, body: jpeg });
    assert.equal(push.status, 201);
    const res = await fetch(`${s.httpUrl}/api/devices/cam/snapshots`, { method: "POST", headers: { ...ALICE, ...headers } });
    assert.equal(res.status, 201);
    return ((await res.json()) as { url: string }).url;
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "tessera-proxy-"));
    dataDir = join(root, "data");
    await new UsersFile(dataDir).set("alice", "alice-password-1");
    jpeg = testJpeg(64, 48);
  });

  after(async () => {
    for (const s of servers) await s.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("with --trust-proxy the login limit is per forwarded client, and a client cannot forge its way out", async () => {
    const s = await start({ trustProxy: true });
    const from = (ip: string) => ({ "X-Forwarded-For": ip });
    for (let i = 0; i < 10; i++) assert.equal(await call(s, { ...WRONG, ...from("203.0.113.5") }), 401, `failure ${i + 1}`);
    assert.equal(await call(s, { ...ALICE, ...from("203.0.113.5") }), 429, "that client is limited");
    assert.equal(await call(s, { ...ALICE, ...from("1.2.3.4, 203.0.113.5") }), 429, "an entry the client prepended is not believed");
    assert.equal(await call(s, { ...ALICE, ...from("203.0.113.6") }), 200, "another client behind the same proxy is not");
  });

  test("without it X-Forwarded-For is ignored: every failure counts against the connecting address", async () => {
    const s = await start({});
    for (let i = 0; i < 10; i++) assert.equal(await call(s, { ...WRONG, "X-Forwarded-For": `198.51.100.${i}` }), 401);
    assert.equal(await call(s, { ...ALICE, "X-Forwarded-For": "198.51.100.200" }), 429);
  });

  test("snapshot URLs use --public-url, or the forwarded scheme and host with --trust-proxy, or the request's own", async () => {
    const pub = await start({ publicUrl: "https://stream.example.org" });
    assert.match(await snapshotUrl(pub), /^https:\/\/stream\.example\.org\/snapshots\/[^/?]+\.jpg\?expires=\d+&sig=/);
    const proxied = await start({ trustProxy: true });
    assert.match(
      await snapshotUrl(proxied, { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "cams.example.net" }),
      /^https:\/\/cams\.example\.net\/snapshots\//,
    );
    const plain = await start({});
    const url = await snapshotUrl(plain, { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "cams.example.net" });
    assert.ok(url.startsWith(`${plain.httpUrl}/snapshots/`), url);
    assert.equal((await fetch(url)).status, 200, "and the link works");
  });
});
