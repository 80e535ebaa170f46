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
  test("a key is free, reserved while claimed, busy for anyone else, free again after end()", () => {
    let now = 1_000_000;
    const refusals: string[] = [];
    const keys = new DeviceKeys({ dataDir: ":memory:", now: () => now, refused: (r) => refusals.push(r) });
    const made = keys.create("alice", "kitchen cam", null);
    assert.match(made.key, /^tk_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(made.id, keyIdOf(made.key));
    assert.equal(made.state, "free");
    assert.deepEqual(keys.list("bob"), [], "another account sees none of alice's keys");

    now += 1000;
    const firstHolder = holder();
    const r = keys.claim(made.key, "cam-1", firstHolder);
    assert.equal(r.account, "alice");
    const [listed] = keys.list("alice");
    assert.equal(listed.state, "reserved");
    assert.equal(listed.reservedBy, "cam-1");
    assert.equal(listed.reservedSince, new Date(now).toISOString());
    assert.equal(JSON.stringify(listed).includes(made.key.split(".")[1]), false, "the secret is never listed");

    assert.throws(() => keys.claim(made.key, "cam-2", holder()), refusedWith("busy"));
    assert.throws(() => keys.verify(made.key, "cam-2"), refusedWith("busy"), "a push as another device while reserved");
    assert.equal(keys.verify(made.key, "cam-1").account, "alice", "a push as the holding device");
    assert.deepEqual(refusals, ["key_busy", "key_busy"]);

    // The same device connecting again (a reload, a reconnect before the old socket timed out) takes the key over.
    const again = keys.claim(made.key, "cam-1", holder());
    assert.deepEqual(firstHolder.evicted, ["replaced"]);
    r.end();
    assert.equal(keys.list("alice")[0].state, "reserved", "the old connection ending does not free the new one's key");

    now += 5000;
    again.end();
    again.end();
    const [after] = keys.list("alice");
    assert.equal(after.state, "free");
    assert.equal(after.lastSeen, new Date(now).toISOString());
    assert.equal(after.lastDevice, "cam-1");
    assert.equal(keys.claim(made.key, "cam-2", holder()).account, "alice");
    keys.close();
  });

  test("unknown, tampered and malformed keys are refused as unauthorized", () => {
    const refusals: string[] = [];
    const keys = new DeviceKeys({ dataDir: ":memory:", refused: (r) => refusals.push(r) });
    const { key } = keys.create("alice", "k", null);
    const last = key.at(-1) === "A" ? "B" : "A";
    for (const bad of [key.slice(0, -1) + last, "tk_000000000000." + "A".repeat(43), "tk_nonsense", key + "x"]) {
      assert.throws(() => keys.claim(bad, "d", holder()), refusedWith("unauthorized"), bad);
    }
    assert.deepEqual(refusals, ["key_unknown", "key_unknown", "key_unknown", "key_unknown"]);
    keys.close();
  });

  test("a key assigned to a device id opens only that device", () => {
    const keys = new DeviceKeys({ dataDir: ":memory:" });
    const { key } = keys.create("alice", "door", "door-cam");
    assert.throws(() => keys.claim(key, "other", holder()), refusedWith("forbidden"));
    assert.throws(() => keys.verify(key, "other"), refusedWith("forbidden"));
    assert.equal(keys.claim(key, "door-cam", holder()).account, "alice");
    keys.close();
  });

  test("revoke evicts the holder and refuses the key from then on; release evicts and frees", () => {
    const keys = new DeviceKeys({ dataDir: ":memory:" });
    const a = keys.create("alice", "a", null);
    const b = keys.create("alice", "b", null);
    const h1 = holder();
    keys.claim(a.key, "d1", h1);
    assert.throws(() => keys.revoke("bob", a.id), refusedWith("not_found"), "not bob's key");
    assert.throws(() => keys.release("bob", a.key), refusedWith("not_found"));
    assert.equal(keys.revoke("alice", a.id).state, "revoked");
    assert.deepEqual(h1.evicted, ["revoked"]);
    assert.throws(() => keys.claim(a.key, "d1", holder()), refusedWith("unauthorized"));
    assert.throws(() => keys.verify(a.key), refusedWith("unauthorized"));

    const h2 = holder();
    const r = keys.claim(b.key, "d2", h2);
    assert.equal(keys.release("alice", b.key).state, "free", "by the whole key as well as by id");
    assert.deepEqual(h2.evicted, ["released"]);
    r.end(); // the evicted connection closing later must not free someone else's reservation
    const h3 = holder();
    keys.claim(b.key, "d3", h3);
    r.end();
    assert.equal(keys.list("alice").find((k) => k.id === b.id)?.reservedBy, "d3");
    keys.close();
  });

  test("keys survive a restart in <data-dir>/tessera.db; reservations do not", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-keys-"));
    try {
      const first = new DeviceKeys({ dataDir: dir });
      const kept = first.create("alice", "kept", null);
      const gone = first.create("alice", "gone", null);
      first.revoke("alice", gone.id);
      first.claim(kept.key, "d1", holder());
      first.close();
      assert.equal(statSync(dir).mode & 0o077, 0, "the data dir is private");
      assert.equal(statSync(join(dir, "tessera.db")).mode & 0o777, 0o600, "and so is the store");

      const second = new DeviceKeys({ dataDir: dir });
      const byId = new Map(second.list("alice").map((k) => [k.id, k]));
      assert.equal(byId.get(kept.id)?.state, "free");
      assert.equal(byId.get(kept.id)?.lastDevice, "d1");
      assert.equal(byId.get(gone.id)?.state, "revoked");
      assert.equal(second.claim(kept.key, "d2", holder()).account, "alice");
      assert.throws(() => second.claim(gone.key, "d2", holder()), refusedWith("unauthorized"));
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
