import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { TesseraError } from "../errors.js";
import { SnapshotStore } from "./store.js";

test("live snapshots stay within the account's and the node's bytes; expired ones give theirs back; files found at start count", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-snapshots-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = 1_000_000;
  const budget = { account: 2500, node: 3500 };
  const store = new SnapshotStore(dir, Buffer.alloc(32, 1), () => now, 3_600_000, budget);
  const jpeg = Buffer.alloc(1000, 0xff);
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof TesseraError);
      return `${err.code} ${err.status}`;
    }
    return "stored";
  };
  assert.equal(
    refusal(() => store.save(jpeg, 10, "alice")),
    "stored",
  );
  assert.equal(
    refusal(() => store.save(jpeg, 100, "alice")),
    "stored",
  );
  assert.equal(
    refusal(() => store.save(jpeg, 10, "alice")),
    "limit 429",
    "alice's third would pass her 2,500 bytes",
  );
  assert.equal(
    refusal(() => store.save(jpeg, 10, "bob")),
    "stored",
  );
  assert.equal(
    refusal(() => store.save(jpeg, 10, "carol")),
    "limit 503",
    "the node's 3,500 bytes",
  );
  now += 11_000;
  store.sweep();
  assert.equal(
    refusal(() => store.save(jpeg, 10, "alice")),
    "stored",
    "her first expired and gave its bytes back",
  );
  store.close();

  // A restart: the two of alice's on disk (2,000 bytes) count toward the node, whose they were not known.
  const again = new SnapshotStore(dir, Buffer.alloc(32, 1), () => now, 3_600_000, { account: 2500, node: 2500 });
  assert.equal(
    refusal(() => again.save(jpeg, 10, "carol")),
    "limit 503",
  );
  assert.equal(
    refusal(() => again.save(Buffer.alloc(500), 10, "carol")),
    "stored",
  );
  again.close();
});
