/**
 * The data directory full, or its snapshots on a read-only file system,
 * while the server runs, on small tmpfs mounts the test makes (root only, as
 * the network-namespace tests): what needs the disk (new device keys,
 * snapshots, users) is refused with a clear `storage` error and nothing is
 * half-written; what does not (frame pushes, the API, keyed devices
 * connecting) goes on; once there is room again everything works. A data
 * directory that cannot be written at start-up stops the server with one
 * line naming --data-dir.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { SignalingClient } from "../../e2e/lib/signaling-client.js";
import { UsersFile } from "../auth/users-file.js";
import { ConfigError, DEFAULTS } from "../config.js";
import { createApp } from "../app.js";
import { createLogger } from "../log.js";
import { startServer, type Running } from "./fixture.js";

const mount = (...args: string[]) => execFileSync("mount", args, { stdio: "pipe" });

/** Fills the file system at `dir` until a write fails with ENOSPC; returns the filler's path. */
function fill(dir: string): string {
  const file = join(dir, "filler");
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(4096);
  try {
    // At most 1 GiB, though the tmpfs holds 1 MiB.
    for (let i = 0; i < 262_144; i++) writeSync(fd, chunk);
    throw new Error("the file system never filled up");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  return file;
}

describe("the data directory full or read-only", { skip: process.getuid?.() !== 0 ? "needs root to mount a tmpfs" : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-storage-"));
  let server: Running;
  const logs: string[] = [];
  const api = (path: string, init?: RequestInit) => fetch(`${server.httpUrl}${path}`, init);
  const makeKey = () => api("/api/keys", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ label: "k" }) });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  before(async () => {
    mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", dir);
    server = await startServer(
      { dataDir: dir },
      {
        log: createLogger("info", "tessera", (line) => {
          logs.push(line);
          return true;
        }),
      },
    );
  });
  after(async () => {
    await server?.stop();
    execFileSync("umount", [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("full: new keys and snapshots are refused with 507 `storage`; pushes, keyed devices and the API go on; room again, all works", async () => {
    const kept = await makeKey();
    assert.equal(kept.status, 201);
    const keptKey = ((await kept.json()) as { key: string; id: string }).key;
    assert.equal((await api("/api/devices/cam/frames", { method: "POST", headers: { "Content-Type": "image/jpeg" }, body: testJpeg(64, 48) })).status, 201);
    const filler = fill(dir);

    // SQLite may still have a free page for a row or two: the store is full once a key is refused.
    let refused: Response | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await makeKey();
      if (res.status !== 201) refused = res;
    }
    assert.ok(refused, "a key was refused on a full disk");
    assert.equal(refused.status, 507);
    const err = await errorOf(refused);
    assert.equal(err.code, "storage");
    assert.match(err.message, /data directory is full \((ENOSPC|SQLITE_FULL)\): the new key was not stored/);
    const snap = await api("/api/devices/cam/snapshots", { method: "POST" });
    assert.equal(snap.status, 507);
    assert.match((await errorOf(snap)).message, /full \(ENOSPC\): the snapshot was not stored/);

    // What does not need the disk goes on.
    assert.equal((await api("/api/devices/cam/frames", { method: "POST", headers: { "Content-Type": "image/jpeg" }, body: testJpeg(64, 48) })).status, 201);
    assert.equal((await api("/api/devices")).status, 200);
    const device = await SignalingClient.connect(server.wsUrl);
    device.send({ type: "hello", role: "device", protocol: 1, key: keptKey, device: { id: "keyed" } });
    await device.next("welcome");
    device.close();
    assert.equal((await api("/healthz")).status, 200);

    rmSync(filler);
    assert.equal((await makeKey()).status, 201, "a key once there is room");
    assert.equal((await api("/api/devices/cam/snapshots", { method: "POST" })).status, 201);
    const listed = (await (await api("/api/keys")).json()) as { keys: unknown[] };
    assert.ok(listed.keys.length >= 2, "the keys made before are intact");
    assert.ok(!logs.some((l) => / ERROR /.test(l)), logs.filter((l) => / ERROR /.test(l)).join("\n"));
  });

  test("snapshots on a read-only file system: 503 `storage` naming it; keys and pushes go on", async () => {
    const snapshots = join(dir, "snapshots");
    mount("-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", snapshots);
    try {
      const snap = await api("/api/devices/cam/snapshots", { method: "POST" });
      assert.equal(snap.status, 503);
      const err = await errorOf(snap);
      assert.equal(err.code, "storage");
      assert.match(err.message, /read-only \(EROFS\): the snapshot was not stored/);
      assert.equal((await makeKey()).status, 201);
      assert.equal((await api("/api/devices/cam/frames", { method: "POST", headers: { "Content-Type": "image/jpeg" }, body: testJpeg(64, 48) })).status, 201);
    } finally {
      execFileSync("umount", [snapshots]);
    }
    assert.equal((await api("/api/devices/cam/snapshots", { method: "POST" })).status, 201, "stored once it can be written");
  });

  test("the users file on a full disk: the change is refused and the file is whole as it was", async () => {
    const users = new UsersFile(dir);
    await users.set("alice", "first-password-1");
    const before = readFileSync(users.path, "utf8");
    const filler = fill(dir);
    try {
      await assert.rejects(users.set("bob", "second-password-2"), (e: NodeJS.ErrnoException) => e.code === "ENOSPC");
      assert.equal(readFileSync(users.path, "utf8"), before);
      assert.deepEqual(users.list(), ["alice"]);
    } finally {
      rmSync(filler);
    }
  });

  test("a data directory that cannot be written at start-up stops the server with a ConfigError naming --data-dir", () => {
    const ro = mkdtempSync(join(tmpdir(), "tessera-ro-"));
    mount("-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", ro);
    try {
      assert.throws(
        () => createApp({ ...DEFAULTS, dataDir: ro, source: [{ kind: "none" }] }, { log: createLogger("silent") }),
        (e: unknown) => e instanceof ConfigError && /^--data-dir: .* cannot be written \(EROFS\): it is on a read-only file system/.test(e.message),
      );
    } finally {
      execFileSync("umount", [ro]);
      rmSync(ro, { recursive: true, force: true });
    }
  });
});
