import assert from "node:assert/strict";
import { test } from "node:test";
import { DeviceRegistry } from "./registry.js";

const ids = (r: DeviceRegistry, account: string) =>
  r
    .list(account)
    .map((d) => d.id)
    .sort();

test("an account knows at most maxKnown devices: past it, the one offline and unwatched the longest is forgotten", () => {
  const r = new DeviceRegistry(60_000, 3);
  for (const id of ["a", "b", "c"]) r.ensure("alice", id, id, "camera");
  r.get("alice", "a")?.viewerDelta(1); // a viewer waits for a
  r.ensure("bob", "x", "x", "camera");
  r.ensure("alice", "d", "d", "camera");
  assert.deepEqual(ids(r, "alice"), ["a", "c", "d"], "b went: a is watched");
  r.ensure("alice", "c", "c", "camera"); // c publishes again: the newest now
  r.ensure("alice", "e", "e", "camera");
  assert.deepEqual(ids(r, "alice"), ["a", "c", "e"], "d went, not c");
  assert.deepEqual(ids(r, "bob"), ["x"], "another account's devices are its own");
  for (const id of ["f", "g", "h"]) r.ensure("alice", id, id, "camera");
  assert.equal(r.list("alice").length, 3);
  assert.ok(r.get("alice", "a"), "the watched one stays");
  assert.equal(r.get("alice", "h")?.id, "h", "the one just made is never the one forgotten");
});
