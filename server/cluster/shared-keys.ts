/**
 * Device keys shared by the nodes of a cluster. Every node keeps every key
 * in its own SQLite store (so a node alone, or a Redis that lost its data,
 * loses none); Redis holds one copy per key for nodes that have not seen it
 * yet, and the cluster-wide reservations:
 *
 * - `tessera:key:<id>`: the key (hash of its secret, account, label,
 *   revocation, last use), merged by a Lua script: a key is never
 *   unrevoked and the latest use wins, whichever node writes;
 * - `tessera:keyhold:<id>`: the device holding it and its node, with the
 *   node TTL, refreshed by the holding node's heartbeat: a node that dies
 *   frees its keys within the TTL;
 * - channel `tessera:keys`: a key made or changed (every node merges it),
 *   and evictions (release, revoke, the same device taking its key over on
 *   another node).
 *
 * When Redis comes back (or a node joins), the node merges every key Redis
 * has and writes back every key it has: stores that drifted apart while
 * Redis was away agree again.
 */
import type { Redis } from "ioredis";
import type { EvictReason, KeyHold, KeyRecord, KeyShare } from "../keys/device-keys.js";
import { jsonObject } from "../protocol/json-object.js";
import { isTime } from "./directory.js";

/** What SharedKeys needs of the local store (DeviceKeys). */
export interface KeyHost {
  merge(record: KeyRecord): void;
  records(): KeyRecord[];
  heldHere(): Map<string, KeyHold>;
  evictHere(id: string, reason: EvictReason, deviceId?: string): void;
}

/** KEYS[1] the key's copy; ARGV[1] a node's copy. Stores and returns the merge of both. */
const MERGE = `
local mine = cjson.decode(ARGV[1])
local cur = redis.call("GET", KEYS[1])
if cur then
  local old = cjson.decode(cur)
  if old.revokedAt ~= cjson.null and (mine.revokedAt == cjson.null or old.revokedAt < mine.revokedAt) then mine.revokedAt = old.revokedAt end
  if old.lastSeen ~= cjson.null and (mine.lastSeen == cjson.null or old.lastSeen > mine.lastSeen) then
    mine.lastSeen = old.lastSeen
    mine.lastDevice = old.lastDevice
  end
end
local merged = cjson.encode(mine)
redis.call("SET", KEYS[1], merged)
return merged
`;

/**
 * KEYS[1] the hold; ARGV[1] the new hold (JSON: deviceId, since, node), ARGV[2] the TTL (ms), ARGV[3] "1" to
 * take it over from another node's hold of the same device (a claim), "0" to keep only this node's own (a refresh).
 * Returns the hold there was ("" for none); it is replaced unless another device (or, refreshing, another node) holds it.
 */
const HOLD = `
local mine = cjson.decode(ARGV[1])
local cur = redis.call("GET", KEYS[1])
if cur then
  local old = cjson.decode(cur)
  if old.deviceId ~= mine.deviceId then return cur end
  if ARGV[3] ~= "1" and old.node ~= mine.node then return cur end
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return cur or ""
`;

/** KEYS[1] the hold; ARGV node, device and since: deleted when it is that hold (not one taken again since). */
const DROP = `
local cur = redis.call("GET", KEYS[1])
if not cur then return 0 end
local old = cjson.decode(cur)
if old.node ~= ARGV[1] or old.deviceId ~= ARGV[2] or old.since ~= tonumber(ARGV[3]) then return 0 end
return redis.call("DEL", KEYS[1])
`;

type Message =
  | { type: "record"; record: KeyRecord }
  /** Every node but `from` evicts the holder of `id` (release, revoke); with `node`, only that node, and only `deviceId` there. */
  | { type: "evict"; id: string; reason: EvictReason; from: string; node?: string; deviceId?: string };

interface StoredHold extends KeyHold {
  node: string;
}

export class SharedKeys implements KeyShare {
  /** Channel of key news; the cluster subscribes to it and hands its messages to heard(). */
  static channel(prefix: string): string {
    return `${prefix}keys`;
  }

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly ttlMs: number,
    private readonly host: KeyHost,
    /** Counts a failed Redis command (the cluster's redisError). */
    private readonly failed: (err: Error) => void,
  ) {}

  async put(record: KeyRecord): Promise<void> {
    await this.attempt(async () => {
      const merged = (await this.redis.eval(MERGE, 1, this.keyKey(record.id), JSON.stringify(record))) as string;
      await this.publish({ type: "record", record: JSON.parse(merged) as KeyRecord });
    }, undefined);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    return this.attempt(async () => parseRecord(await this.redis.get(this.keyKey(id))), undefined);
  }

  async hold(id: string, hold: KeyHold): Promise<KeyHold | undefined> {
    return this.attempt(async () => {
      const before = parseHold((await this.redis.eval(HOLD, 1, this.holdKey(id), this.holdValue(hold), this.ttlMs, "1")) as string);
      if (before && before.deviceId !== hold.deviceId) return before;
      // The same device still held it on another node (it moved before that connection ended): that node lets go.
      if (before && before.node !== this.nodeId)
        await this.publish({ type: "evict", id, reason: "replaced", from: this.nodeId, node: before.node, deviceId: hold.deviceId });
      return undefined;
    }, undefined);
  }

  async drop(id: string, hold: KeyHold): Promise<void> {
    await this.attempt(() => this.redis.eval(DROP, 1, this.holdKey(id), this.nodeId, hold.deviceId, String(hold.since)), undefined);
  }

  async evict(id: string, reason: EvictReason): Promise<void> {
    await this.attempt(async () => {
      await this.redis.del(this.holdKey(id));
      await this.publish({ type: "evict", id, reason, from: this.nodeId });
    }, undefined);
  }

  async holds(ids: string[]): Promise<Map<string, KeyHold>> {
    if (ids.length === 0) return new Map();
    return this.attempt(async () => {
      const values = await this.redis.mget(ids.map((id) => this.holdKey(id)));
      const found = new Map<string, KeyHold>();
      values.forEach((v, i) => {
        const hold = parseHold(v);
        if (hold) found.set(ids[i], { deviceId: hold.deviceId, since: hold.since });
      });
      return found;
    }, new Map<string, KeyHold>());
  }

  /**
   * A message on the keys channel. Any client of the shared Redis can publish
   * there, so what is no such message is dropped, and what applying one
   * throws (a storage failure while merging) is reported, not thrown into
   * the Redis client, which would end the process.
   */
  heard(message: string): void {
    const m = parseMessage(message);
    try {
      if (m?.type === "record") this.host.merge(m.record);
      else if (m?.type === "evict" && m.from !== this.nodeId && (m.node === undefined || m.node === this.nodeId)) {
        this.host.evictHere(m.id, m.reason, m.deviceId);
      }
    } catch (err) {
      this.failed(err as Error);
    }
  }

  /** At each heartbeat: keeps this node's holds alive; a hold another node took meanwhile evicts the holder here. */
  async refresh(): Promise<void> {
    const held = this.host.heldHere();
    if (held.size === 0) return;
    await this.attempt(async () => {
      const tx = this.redis.pipeline();
      for (const [id, hold] of held) tx.eval(HOLD, 1, this.holdKey(id), this.holdValue(hold), this.ttlMs, "0");
      const replies = (await tx.exec()) ?? [];
      [...held].forEach(([id, hold], i) => {
        const [err, value] = replies[i] ?? [];
        const before = err ? undefined : parseHold(value as string);
        if (before && (before.deviceId !== hold.deviceId || before.node !== this.nodeId)) this.host.evictHere(id, "replaced", hold.deviceId);
      });
    }, undefined);
  }

  /** Brings this node and Redis up to date with each other (on joining, and when Redis returns). */
  async sync(): Promise<void> {
    await this.attempt(async () => {
      const before = new Map<string, string>();
      let cursor = "0";
      do {
        const [next, keys] = await this.redis.scan(cursor, "MATCH", this.keyKey("*"), "COUNT", 500);
        cursor = next;
        if (keys.length === 0) continue;
        for (const value of await this.redis.mget(keys)) {
          const record = parseRecord(value);
          if (!record) continue;
          before.set(record.id, JSON.stringify(record));
          this.host.merge(record);
        }
      } while (cursor !== "0");
      const records = this.host.records();
      const tx = this.redis.pipeline();
      for (const record of records) tx.eval(MERGE, 1, this.keyKey(record.id), JSON.stringify(record));
      const replies = (await tx.exec()) ?? [];
      // What this node knew and Redis did not (a key made or revoked here while Redis was away) is news for the others.
      for (const [i, record] of records.entries()) {
        const [err, value] = replies[i] ?? [];
        const merged = err ? undefined : parseRecord(value as string);
        if (merged && JSON.stringify(merged) !== before.get(record.id)) await this.publish({ type: "record", record: merged });
      }
      await this.refresh();
    }, undefined);
  }

  private keyKey(id: string): string {
    return `${this.prefix}key:${id}`;
  }

  private holdKey(id: string): string {
    return `${this.prefix}keyhold:${id}`;
  }

  private holdValue(hold: KeyHold): string {
    return JSON.stringify({ deviceId: hold.deviceId, since: hold.since, node: this.nodeId });
  }

  private async publish(message: Message): Promise<void> {
    await this.redis.publish(SharedKeys.channel(this.prefix), JSON.stringify(message));
  }

  /** Runs a Redis task; while Redis is away the answer is `otherwise` (the failure is counted). */
  private async attempt<T>(task: () => Promise<T>, otherwise: T): Promise<T> {
    try {
      return await task();
    } catch (err) {
      this.failed(err as Error);
      return otherwise;
    }
  }
}

const ID = /^tk_[0-9a-f]{12}$/;
const HASH = /^[0-9a-f]{64}$/;
const isTimeOrNull = (v: unknown) => v === null || isTime(v);
const isTextOrNull = (v: unknown) => v === null || typeof v === "string";

const EVICT_REASONS: readonly string[] = ["released", "revoked", "replaced"] satisfies EvictReason[];
const isTextOrAbsent = (v: unknown): v is string | undefined => v === undefined || typeof v === "string";

/** A message on the keys channel, or undefined when it is none. */
function parseMessage(text: string): Message | undefined {
  const o = jsonObject(text);
  if (!o) return undefined;
  if (o.type === "record") {
    const record = parseRecord(JSON.stringify(o.record ?? null));
    return record && { type: "record", record };
  }
  if (o.type !== "evict" || typeof o.id !== "string" || typeof o.from !== "string" || !EVICT_REASONS.includes(o.reason as string)) return undefined;
  if (!isTextOrAbsent(o.node) || !isTextOrAbsent(o.deviceId)) return undefined;
  return {
    type: "evict",
    id: o.id,
    reason: o.reason as EvictReason,
    from: o.from,
    node: o.node,
    deviceId: o.deviceId,
  };
}

/** A key's copy as Redis holds it, or undefined when it is none (Redis is shared: check what comes back). */
function parseRecord(value: string | null): KeyRecord | undefined {
  if (!value) return undefined;
  try {
    const r = JSON.parse(value) as Partial<KeyRecord>;
    const ok =
      typeof r.id === "string" &&
      ID.test(r.id) &&
      typeof r.account === "string" &&
      typeof r.label === "string" &&
      typeof r.hash === "string" &&
      HASH.test(r.hash) &&
      isTextOrNull(r.deviceId) &&
      isTime(r.createdAt) &&
      isTimeOrNull(r.revokedAt) &&
      isTimeOrNull(r.lastSeen) &&
      isTextOrNull(r.lastDevice);
    if (!ok) return undefined;
    const { id, account, label, hash, deviceId, createdAt, revokedAt, lastSeen, lastDevice } = r as KeyRecord;
    return { id, account, label, hash, deviceId, createdAt, revokedAt, lastSeen, lastDevice };
  } catch {
    return undefined;
  }
}

function parseHold(value: string | null | undefined): StoredHold | undefined {
  if (!value) return undefined;
  try {
    const h = JSON.parse(value) as Partial<StoredHold>;
    return typeof h.deviceId === "string" && isTime(h.since) && typeof h.node === "string" ? { deviceId: h.deviceId, since: h.since, node: h.node } : undefined;
  } catch {
    return undefined;
  }
}
