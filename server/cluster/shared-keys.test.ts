import assert from "node:assert/strict";
import { test } from "node:test";
import { Redis } from "ioredis";
import { RedisServer } from "../../e2e/lib/redis.js";
import type { KeyRecord } from "../keys/device-keys.js";
import { SharedKeys, type KeyHost } from "./shared-keys.js";

const record: KeyRecord = {
  id: "tk_0123456789ab",
  account: "alice",
  label: "cam",
  hash: "a".repeat(64),
  deviceId: null,
  createdAt: 1,
  revokedAt: null,
  lastSeen: null,
  lastDevice: null,
};

/** SharedKeys on node "here" with a host that records what it was told; heard() touches no Redis. */
function listening(merge: (r: KeyRecord) => void = () => undefined) {
  const told: string[] = [];
  const failures: string[] = [];
  const host: KeyHost = {
    merge: (r) => (told.push(`merge ${r.id}`), merge(r)),
    records: () => [],
    heldHere: () => new Map(),
    evictHere: (id, reason, deviceId) => void told.push(`evict ${id} ${reason} ${deviceId ?? "-"}`),
  };
  const keys = new SharedKeys(undefined as unknown as Redis, "t:", "here", 1000, host, (err) => void failures.push(err.message));
  return { keys, told, failures };
}

test("the keys channel: anything but a well-formed message is dropped, never thrown into the Redis client", () => {
  const { keys, told } = listening();
  const junk = [
    "null",
    "5",
    '"text"',
    "[]",
    "{",
    '{"type":"record"}',
    '{"type":"record","record":null}',
    JSON.stringify({ type: "record", record: { ...record, createdAt: 1e300 } }),
    '{"type":"evict"}',
    JSON.stringify({ type: "evict", id: record.id, reason: "because", from: "there" }),
    JSON.stringify({ type: "evict", id: record.id, reason: "revoked", from: 7 }),
    JSON.stringify({ type: "evict", id: record.id, reason: "revoked", from: "there", deviceId: {} }),
  ];
  for (const message of junk) assert.doesNotThrow(() => keys.heard(message), message);
  assert.deepEqual(told, []);
  keys.heard(JSON.stringify({ type: "record", record }));
  keys.heard(JSON.stringify({ type: "evict", id: record.id, reason: "revoked", from: "there" }));
  keys.heard(JSON.stringify({ type: "evict", id: record.id, reason: "replaced", from: "there", node: "here", deviceId: "cam" }));
  keys.heard(JSON.stringify({ type: "evict", id: record.id, reason: "released", from: "here" }));
  assert.deepEqual(told, [`merge ${record.id}`, `evict ${record.id} revoked -`, `evict ${record.id} replaced cam`]);
});

test("a merge that throws (the data directory failing) is reported as a failure, not thrown", () => {
  const { keys, failures } = listening(() => {
    throw new Error("disk full");
  });
  assert.doesNotThrow(() => keys.heard(JSON.stringify({ type: "record", record })));
  assert.deepEqual(failures, ["disk full"]);
});

test("a late drop of an older hold (the device connected again meanwhile) leaves the newer hold in Redis", async (t) => {
  const server = await RedisServer.start();
  const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  t.after(async () => {
    redis.disconnect();
    await server.close();
  });
  await redis.connect();
  const failures: string[] = [];
  const host: KeyHost = { merge: () => undefined, records: () => [], heldHere: () => new Map(), evictHere: () => undefined };
  const keys = new SharedKeys(redis, "t:", "here", 60_000, host, (err) => void failures.push(err.message));
  assert.equal(await keys.hold(record.id, { deviceId: "cam", since: 1_733_580_000_001 }), undefined);
  assert.equal(await keys.hold(record.id, { deviceId: "cam", since: 1_733_580_000_002 }), undefined, "the same device again on the same node");
  await keys.drop(record.id, { deviceId: "cam", since: 1_733_580_000_001 });
  assert.deepEqual(await keys.holds([record.id]), new Map([[record.id, { deviceId: "cam", since: 1_733_580_000_002 }]]));
  await keys.drop(record.id, { deviceId: "cam", since: 1_733_580_000_002 });
  assert.deepEqual(await keys.holds([record.id]), new Map());
  assert.deepEqual(failures, []);
});
