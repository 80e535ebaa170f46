import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { TesseraError } from "../errors.js";
import { DeviceKeys, keyIdOf, looksLikeKey, type KeyHolder } from "./device-keys.js";

/** A holder that remembers why it was evicted. */
function holder(): KeyHolder & { evicted: string[] } {
  const evicted: string[] = [];
  return { evicted, evict: (reason) => evicted.push(reason) };
}

const refusedWith = (code: string) => (err: unknown) => err instanceof TesseraError && err.code === code;

describe("DeviceKeys", () => {
  test("a key is free, reserved while claimed, busy for anyone else, free again after end()", async () => {
    let now = 1_000_000;
    const refusals: string[] = [];
    const keys = new DeviceKeys({ dataDir: ":memory:", now: () => now, refused: (r) => refusals.push(r) });
    const made = await keys.create("alice", "kitchen cam", null);
    assert.match(made.key, /^tk_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(made.id, keyIdOf(made.key));
    assert.equal(made.state, "free");
    assert.deepEqual(await keys.list("bob"), [], "another account sees none of alice's keys");

    now += 1000;
    const firstHolder = holder();
    const r = await keys.claim(made.key, "cam-1", firstHolder);
    assert.equal(r.account, "alice");
    const [listed] = await keys.list("alice");
    assert.equal(listed.state, "reserved");
    assert.equal(listed.reservedBy, "cam-1");
    assert.equal(listed.reservedSince, new Date(now).toISOString());
    assert.equal(JSON.stringify(listed).includes(made.key.split(".")[1]), false, "the secret is never listed");

    await assert.rejects(() => keys.claim(made.key, "cam-2", holder()), refusedWith("busy"));
    await assert.rejects(() => keys.verify(made.key, "cam-2"), refusedWith("busy"), "a push as another device while reserved");
    assert.equal((await keys.verify(made.key, "cam-1")).account, "alice", "a push as the holding device");
    assert.deepEqual(refusals, ["key_busy", "key_busy"]);

    // The same device connecting again (a reload, a reconnect before the old socket timed out) takes the key over.
    const again = await keys.claim(made.key, "cam-1", holder());
    assert.deepEqual(firstHolder.evicted, ["replaced"]);
    r.end();
    assert.equal((await keys.list("alice"))[0].state, "reserved", "the old connection ending does not free the new one's key");

    now += 5000;
    again.end();
    again.end();
    const [after] = await keys.list("alice");
    assert.equal(after.state, "free");
    assert.equal(after.lastSeen, new Date(now).toISOString());
    assert.equal(after.lastDevice, "cam-1");
    assert.equal((await keys.claim(made.key, "cam-2", holder())).account, "alice");
    keys.close();
  });

  test("unknown, tampered and malformed keys are refused as unauthorized", async () => {
    const refusals: string[] = [];
    const keys = new DeviceKeys({ dataDir: ":memory:", refused: (r) => refusals.push(r) });
    const { key } = await keys.create("alice", "k", null);
    const last = key.at(-1) === "A" ? "B" : "A";
    for (const bad of [key.slice(0, -1) + last, "tk_000000000000." + "A".repeat(43), "tk_nonsense", key + "x"]) {
      await assert.rejects(() => keys.claim(bad, "d", holder()), refusedWith("unauthorized"), bad);
    }
    assert.deepEqual(refusals, ["key_unknown", "key_unknown", "key_unknown", "key_unknown"]);
    keys.close();
  });

  test("a key assigned to a device id opens only that device", async () => {
    const keys = new DeviceKeys({ dataDir: ":memory:" });
    const { key } = await keys.create("alice", "door", "door-cam");
    await assert.rejects(() => keys.claim(key, "other", holder()), refusedWith("forbidden"));
    await assert.rejects(() => keys.verify(key, "other"), refusedWith("forbidden"));
    assert.equal((await keys.claim(key, "door-cam", holder())).account, "alice");
    keys.close();
  });

  test("revoke evicts the holder and refuses the key from then on; release evicts and frees", async () => {
    const keys = new DeviceKeys({ dataDir: ":memory:" });
    const a = await keys.create("alice", "a", null);
    const b = await keys.create("alice", "b", null);
    const h1 = holder();
    await keys.claim(a.key, "d1", h1);
    await assert.rejects(() => keys.revoke("bob", a.id), refusedWith("not_found"), "not bob's key");
    await assert.rejects(() => keys.release("bob", a.key), refusedWith("not_found"));
    assert.equal((await keys.revoke("alice", a.id)).state, "revoked");
    assert.deepEqual(h1.evicted, ["revoked"]);
    await assert.rejects(() => keys.claim(a.key, "d1", holder()), refusedWith("unauthorized"));
    await assert.rejects(() => keys.verify(a.key), refusedWith("unauthorized"));

    const h2 = holder();
    const r = await keys.claim(b.key, "d2", h2);
    assert.equal((await keys.release("alice", b.key)).state, "free", "by the whole key as well as by id");
    assert.deepEqual(h2.evicted, ["released"]);
    r.end(); // the evicted connection closing later must not free someone else's reservation
    const h3 = holder();
    await keys.claim(b.key, "d3", h3);
    r.end();
    assert.equal((await keys.list("alice")).find((k) => k.id === b.id)?.reservedBy, "d3");
    keys.close();
  });

  test("keys survive a restart in <data-dir>/tessera.db; reservations do not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-keys-"));
    try {
      const first = new DeviceKeys({ dataDir: dir });
      const kept = await first.create("alice", "kept", null);
      const gone = await first.create("alice", "gone", null);
      await first.revoke("alice", gone.id);
      await first.claim(kept.key, "d1", holder());
      first.close();
      assert.equal(statSync(dir).mode & 0o077, 0, "the data dir is private");
      assert.equal(statSync(join(dir, "tessera.db")).mode & 0o777, 0o600, "and so is the store");

      const second = new DeviceKeys({ dataDir: dir });
      const byId = new Map((await second.list("alice")).map((k) => [k.id, k]));
      assert.equal(byId.get(kept.id)?.state, "free");
      assert.equal(byId.get(kept.id)?.lastDevice, "d1");
      assert.equal(byId.get(gone.id)?.state, "revoked");
      assert.equal((await second.claim(kept.key, "d2", holder())).account, "alice");
      await assert.rejects(() => second.claim(gone.key, "d2", holder()), refusedWith("unauthorized"));
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("merging another node's copy: a new key is added, a revoked one stays revoked and evicts its holder, the latest use wins", async () => {
    const here = new DeviceKeys({ dataDir: ":memory:" });
    const there = new DeviceKeys({ dataDir: ":memory:", now: () => 5_000_000 });
    const made = await there.create("alice", "roaming", null);
    const [record] = there.records();
    await assert.rejects(() => here.claim(made.key, "d1", holder()), refusedWith("unauthorized"), "unknown here before the merge");
    here.merge(record);
    const h = holder();
    await here.claim(made.key, "d1", h);
    assert.deepEqual([...here.heldHere().keys()], [made.id]);

    // An older copy (no use, not revoked) changes nothing; a later use elsewhere is taken.
    const [mine] = here.records();
    here.merge({ ...record, lastSeen: null, lastDevice: null });
    assert.deepEqual(here.records()[0], mine);
    here.merge({ ...mine, lastSeen: (mine.lastSeen ?? 0) + 1000, lastDevice: "d9" });
    assert.equal(here.records()[0].lastDevice, "d9");
    here.merge({ ...mine, lastSeen: 1, lastDevice: "old" });
    assert.equal(here.records()[0].lastDevice, "d9", "an older use does not win");

    here.merge({ ...record, revokedAt: 6_000_000 });
    assert.deepEqual(h.evicted, ["revoked"]);
    here.merge({ ...record, revokedAt: null });
    here.merge({ ...record, revokedAt: 7_000_000 });
    assert.equal(here.records()[0].revokedAt, 6_000_000, "never unrevoked; the first revocation stands");
    await assert.rejects(() => here.claim(made.key, "d1", holder()), refusedWith("unauthorized"));
    here.close();
    there.close();
  });

  test("key ids and shapes", () => {
    assert.equal(keyIdOf("tk_0123456789ab"), "tk_0123456789ab");
    assert.equal(keyIdOf(`tk_0123456789ab.${"x".repeat(43)}`), "tk_0123456789ab");
    assert.equal(keyIdOf("tk_0123456789ab.short"), undefined);
    assert.equal(keyIdOf("../etc"), undefined);
    assert.equal(looksLikeKey("tk_abc"), true);
    assert.equal(looksLikeKey("eyJhbGciOi"), false);
    assert.equal(looksLikeKey(undefined), false);
  });
});
