/**
 * Device keys: an account makes keys for its devices; a device presents one
 * instead of a user token. While a device is connected its key is reserved
 * to it, and a second device presenting the same key is refused as busy;
 * disconnecting (or a release by the account) frees it, a revoke ends it.
 *
 * Keys look like `tk_<id>.<secret>`: the id is public (lists, URLs), the
 * secret is 32 random bytes shown once at creation and stored only as its
 * SHA-256 (a random 256-bit secret needs no slow hash). Everything lives in
 * one SQLite file under the data directory; reservations are also held in
 * memory, because they end with connections, and a restart clears them.
 *
 * In a cluster (`--redis`) the store is shared through a KeyShare
 * (server/cluster/shared-keys.ts): every node keeps every key in its own
 * SQLite file, a key made or revoked on one node reaches the others at
 * once, and a reservation is held cluster-wide, so a key in use on one node
 * is busy on every other.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { badRequest, busy, forbidden, notFound, storageError, storing, TesseraError } from "../errors.js";
import { ensureDataDir } from "../auth/data-dir.js";

/** The prefix that tells a device key from a user token. */
export const KEY_PREFIX = "tk_";
const KEY_PATTERN = /^(tk_[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;
const KEY_ID_PATTERN = /^tk_[0-9a-f]{12}$/;
/** Keys one account may hold that are not revoked. */
export const MAX_KEYS_PER_ACCOUNT = 500;

/** A key as its account sees it; never the secret. */
export interface KeyInfo {
  id: string;
  label: string;
  /** The one device id that may use the key, or null for any. */
  deviceId: string | null;
  state: "free" | "reserved" | "revoked";
  /** The device holding it while reserved. */
  reservedBy: string | null;
  /** ISO times. */
  reservedSince: string | null;
  createdAt: string;
  lastSeen: string | null;
  /** The device that used it last. */
  lastDevice: string | null;
}

/** Whoever holds a reservation: told to go when the key is released or revoked by its account. */
export interface KeyHolder {
  /** Ends the holder's connection; `reason` says why. */
  evict(reason: EvictReason): void;
}

/** Why a holder loses its key: its account released or revoked it, or the same device connected again. */
export type EvictReason = "released" | "revoked" | "replaced";

/** A reservation made by claim(); end() frees the key (idempotent). */
export interface Reservation {
  account: string;
  keyId: string;
  end: () => void;
}

/** Why a presented key was refused, for tessera_auth_failures_total{reason}. */
export type KeyRefusal = "key_unknown" | "key_revoked" | "key_busy" | "key_wrong_device" | "key_not_publishing";

interface Row {
  id: string;
  account: string;
  label: string;
  hash: Buffer;
  device_id: string | null;
  created_at: number;
  revoked_at: number | null;
  last_seen: number | null;
  last_device: string | null;
}

/** A key as nodes of a cluster exchange it: the stored row, the secret's hash in hex. */
export interface KeyRecord {
  id: string;
  account: string;
  label: string;
  hash: string;
  deviceId: string | null;
  createdAt: number;
  revokedAt: number | null;
  lastSeen: number | null;
  lastDevice: string | null;
}

/** A reservation as the cluster sees it. */
export interface KeyHold {
  deviceId: string;
  /** Unix ms. */
  since: number;
}

/**
 * How a cluster shares keys and reservations (server/cluster/shared-keys.ts).
 * Its methods never throw: while the shared store is unreachable they do
 * nothing (or find nothing), and the store catches up when it returns.
 */
export interface KeyShare {
  /** Tells every node of a key made, revoked or used here (merged with what the cluster has). */
  put(record: KeyRecord): Promise<void>;
  /** A key another node made that this node has not heard of yet. */
  get(id: string): Promise<KeyRecord | undefined>;
  /** Holds key `id` for `deviceId` on this node cluster-wide; the other device holding it, when it is busy. */
  hold(id: string, hold: KeyHold): Promise<KeyHold | undefined>;
  /**
   * Gives up this node's hold of `id`, as `hold` took it: a newer hold of
   * the same device (it connected again, and the old connection ends late)
   * stays.
   */
  drop(id: string, hold: KeyHold): Promise<void>;
  /** Ends the hold of `id` wherever it is, evicting its holder there. */
  evict(id: string, reason: EvictReason): Promise<void>;
  /** The cluster-wide holds of these keys. */
  holds(ids: string[]): Promise<Map<string, KeyHold>>;
}

/** True for a string shaped like a device key (the secret still has to match). */
export function looksLikeKey(token: string | undefined): token is string {
  return token !== undefined && token.startsWith(KEY_PREFIX);
}

/** The key id of a full key or of an id given as is; undefined for anything else. */
export function keyIdOf(keyOrId: string): string | undefined {
  if (KEY_ID_PATTERN.test(keyOrId)) return keyOrId;
  return KEY_PATTERN.exec(keyOrId)?.[1];
}

const hashOf = (secret: string) => createHash("sha256").update(secret).digest();
const recordOf = (row: Row): KeyRecord => ({
  id: row.id,
  account: row.account,
  label: row.label,
  hash: row.hash.toString("hex"),
  deviceId: row.device_id,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  lastSeen: row.last_seen,
  lastDevice: row.last_device,
});
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface DeviceKeysOptions {
  /** A directory for `tessera.db`, or `:memory:`. */
  dataDir: string;
  /** Told when a write that is only informative fails (the data directory is full or read-only), once until one succeeds again. */
  storageError?: (message: string) => void;
  /** Counts each refusal. */
  refused?: (reason: KeyRefusal) => void;
  /** Unix ms; injectable for tests. */
  now?: () => number;
}

export class DeviceKeys {
  private readonly db: Database.Database;
  private readonly reservations = new Map<string, { deviceId: string; since: number; holder: KeyHolder }>();
  private share: KeyShare | undefined;
  private readonly now: () => number;
  private readonly refused: (reason: KeyRefusal) => void;
  private readonly onStorageError: (message: string) => void;
  /** The last informative write failed (told once until one succeeds). */
  private seenFailing = false;
  private readonly stmt: {
    insert: Database.Statement;
    byId: Database.Statement<[string], Row>;
    byAccount: Database.Statement<[string], Row>;
    count: Database.Statement<[string], { n: number }>;
    revoke: Database.Statement;
    seen: Database.Statement;
    merge: Database.Statement;
    all: Database.Statement<[], Row>;
  };

  constructor(options: DeviceKeysOptions) {
    this.now = options.now ?? Date.now;
    this.refused = options.refused ?? (() => {});
    this.onStorageError = options.storageError ?? (() => {});
    const file = options.dataDir === ":memory:" ? ":memory:" : join(ensureDataDir(options.dataDir), "tessera.db");
    this.db = new Database(file);
    // Hashes only, but still nobody else's business; the directory is 0700 too.
    if (file !== ":memory:") chmodSync(file, 0o600);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.migrate();
    this.stmt = {
      insert: this.db.prepare(
        "INSERT INTO device_keys (id, account, label, hash, device_id, created_at) VALUES (@id, @account, @label, @hash, @deviceId, @createdAt)",
      ),
      byId: this.db.prepare("SELECT * FROM device_keys WHERE id = ?"),
      byAccount: this.db.prepare("SELECT * FROM device_keys WHERE account = ? ORDER BY created_at, id"),
      count: this.db.prepare("SELECT count(*) AS n FROM device_keys WHERE account = ? AND revoked_at IS NULL"),
      revoke: this.db.prepare("UPDATE device_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      seen: this.db.prepare("UPDATE device_keys SET last_seen = ?, last_device = ? WHERE id = ?"),
      // Another node's copy of a key: a key is never unrevoked, and the latest use wins.
      merge: this.db.prepare(`
        INSERT INTO device_keys (id, account, label, hash, device_id, created_at, revoked_at, last_seen, last_device)
          VALUES (@id, @account, @label, @hash, @deviceId, @createdAt, @revokedAt, @lastSeen, @lastDevice)
        ON CONFLICT (id) DO UPDATE SET
          revoked_at = coalesce(min(revoked_at, excluded.revoked_at), revoked_at, excluded.revoked_at),
          last_device = CASE WHEN coalesce(excluded.last_seen, 0) > coalesce(last_seen, 0) THEN excluded.last_device ELSE last_device END,
          last_seen = CASE WHEN coalesce(excluded.last_seen, 0) > coalesce(last_seen, 0) THEN excluded.last_seen ELSE last_seen END
      `),
      all: this.db.prepare("SELECT * FROM device_keys"),
    };
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > 1) throw new Error(`the key store was written by a newer Tessera (schema ${version})`);
    if (version === 1) return;
    this.db.exec(`
      CREATE TABLE device_keys (
        id          TEXT PRIMARY KEY,
        account     TEXT NOT NULL,
        label       TEXT NOT NULL,
        hash        BLOB NOT NULL,
        device_id   TEXT,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER,
        last_seen   INTEGER,
        last_device TEXT
      );
      CREATE INDEX device_keys_account ON device_keys (account);
      PRAGMA user_version = 1;
    `);
  }

  /** Shares keys and reservations with the other nodes of a cluster from now on. */
  shareWith(share: KeyShare): void {
    this.share = share;
  }

  /** Makes a key for `account`; the answer is the only time its secret is seen. */
  async create(account: string, label: string, deviceId: string | null): Promise<KeyInfo & { key: string }> {
    if (this.stmt.count.get(account)!.n >= MAX_KEYS_PER_ACCOUNT) {
      throw forbidden(`an account may hold at most ${MAX_KEYS_PER_ACCOUNT} keys that are not revoked`);
    }
    const id = `${KEY_PREFIX}${randomBytes(6).toString("hex")}`;
    const secret = randomBytes(32).toString("base64url");
    const createdAt = this.now();
    storing("the new key", () => this.stmt.insert.run({ id, account, label, hash: hashOf(secret), deviceId, createdAt }));
    const row = this.stmt.byId.get(id)!;
    await this.share?.put(recordOf(row));
    return { key: `${id}.${secret}`, ...this.info(row) };
  }

  /** The account's keys, oldest first. */
  async list(account: string): Promise<KeyInfo[]> {
    const rows = this.stmt.byAccount.all(account);
    const elsewhere = await this.share?.holds(rows.filter((r) => r.revoked_at === null && !this.reservations.has(r.id)).map((r) => r.id));
    return rows.map((row) => this.info(row, elsewhere?.get(row.id)));
  }

  /** Revokes a key of the account (by id or full key) and evicts the device holding it, on any node; not_found for any other. */
  async revoke(account: string, keyOrId: string): Promise<KeyInfo> {
    const row = this.ownRow(account, keyOrId);
    storing("the revocation", () => this.stmt.revoke.run(this.now(), row.id));
    this.evict(row.id, "revoked");
    const revoked = this.stmt.byId.get(row.id)!;
    await this.share?.put(recordOf(revoked));
    await this.share?.evict(row.id, "revoked");
    return this.info(revoked);
  }

  /** Frees a key of the account, evicting the device holding it on any node; not_found for any other. */
  async release(account: string, keyOrId: string): Promise<KeyInfo> {
    const row = this.ownRow(account, keyOrId);
    this.evict(row.id, "released");
    await this.share?.evict(row.id, "released");
    return this.info(this.stmt.byId.get(row.id)!);
  }

  /**
   * Checks a presented key for `deviceId` without reserving it (a stateless
   * push): its account, or a refusal. A key reserved by another device is busy.
   */
  async verify(key: string, deviceId?: string): Promise<{ account: string; keyId: string }> {
    const row = await this.check(key, deviceId);
    const held = this.reservations.get(row.id) ?? (deviceId !== undefined ? (await this.share?.holds([row.id]))?.get(row.id) : undefined);
    if (deviceId !== undefined && held && held.deviceId !== deviceId) this.refuse("key_busy", `this key is in use by device '${held.deviceId}'`);
    if (deviceId !== undefined) this.markSeen(row.id, deviceId, this.now());
    return { account: row.account, keyId: row.id };
  }

  /**
   * Reserves a presented key for `deviceId` held by `holder`. A key another
   * device holds is busy; the same device connecting again takes it over
   * (the new connection wins, as for device ids), evicting the old holder.
   */
  async claim(key: string, deviceId: string, holder: KeyHolder): Promise<Reservation> {
    const row = await this.check(key, deviceId);
    const busyIf = (held: KeyHold | undefined) => {
      if (held && held.deviceId !== deviceId) this.refuse("key_busy", `this key is in use by device '${held.deviceId}' since ${iso(held.since)}`);
    };
    busyIf(this.reservations.get(row.id));
    const since = this.now();
    // Another node's device may hold it; the same device there is replaced (its node evicts it).
    busyIf(await this.share?.hold(row.id, { deviceId, since }));
    const held = this.reservations.get(row.id);
    busyIf(held);
    if (held) this.evict(row.id, "replaced", false);
    const entry = { deviceId, since, holder };
    this.reservations.set(row.id, entry);
    this.seen(row.id, deviceId, since);
    return {
      account: row.account,
      keyId: row.id,
      end: () => {
        if (this.reservations.get(row.id) !== entry) return;
        this.reservations.delete(row.id);
        void this.share?.drop(row.id, { deviceId, since });
        this.seen(row.id, deviceId, this.now());
      },
    };
  }

  /** Another node's copy of a key (a KeyShare heard of it); a key revoked there evicts its holder here. */
  merge(record: KeyRecord): void {
    storing("a key shared by another node", () => this.stmt.merge.run({ ...record, hash: Buffer.from(record.hash, "hex") }));
    if (record.revokedAt !== null) this.evict(record.id, "revoked", false);
  }

  /** Every key this node knows, for a KeyShare to bring the cluster up to date. */
  records(): KeyRecord[] {
    return this.stmt.all.all().map(recordOf);
  }

  /** The reservations held on this node, for a KeyShare to keep them held cluster-wide. */
  heldHere(): Map<string, KeyHold> {
    return new Map([...this.reservations].map(([id, r]) => [id, { deviceId: r.deviceId, since: r.since }]));
  }

  /** Evicts the holder of `id` on this node, when it is `deviceId` (any holder without one): another node took or ended the hold. */
  evictHere(id: string, reason: EvictReason, deviceId?: string): void {
    const held = this.reservations.get(id);
    if (held && (deviceId === undefined || held.deviceId === deviceId)) this.evict(id, reason, false);
  }

  /** Closes the store; reservations end with it. */
  close(): void {
    this.reservations.clear();
    if (this.db.open) this.db.close();
  }

  private async check(key: string, deviceId: string | undefined): Promise<Row> {
    const m = KEY_PATTERN.exec(key);
    let row = m ? this.stmt.byId.get(m[1]) : undefined;
    if (m && !row && this.share) {
      // Made on another node a moment ago, before its news arrived here.
      const record = await this.share.get(m[1]);
      if (record) this.merge(record);
      row = this.stmt.byId.get(m[1]);
    }
    if (!m || !row || !timingSafeEqual(row.hash, hashOf(m[2]))) this.refuse("key_unknown", "unknown device key");
    if (row.revoked_at !== null) this.refuse("key_revoked", "this device key was revoked");
    if (row.device_id !== null && deviceId !== undefined && row.device_id !== deviceId) {
      this.refuse("key_wrong_device", `this key is assigned to another device id`);
    }
    return row;
  }

  /** Counts a refusal of a presented key and throws its error. */
  refuse(reason: KeyRefusal, message: string): never {
    this.refused(reason);
    if (reason === "key_busy") throw busy(message);
    if (reason === "key_wrong_device" || reason === "key_not_publishing") throw forbidden(message);
    throw new TesseraError("unauthorized", message, 401);
  }

  private ownRow(account: string, keyOrId: string): Row {
    const id = keyIdOf(keyOrId);
    const row = id ? this.stmt.byId.get(id) : undefined;
    if (!row || row.account !== account) throw notFound("no such device key");
    return row;
  }

  /** Ends the reservation here; `drop` also gives up its cluster-wide hold (not when another node took it). */
  private evict(id: string, reason: EvictReason, drop = true): void {
    const held = this.reservations.get(id);
    if (!held) return;
    this.reservations.delete(id);
    if (drop) void this.share?.drop(id, { deviceId: held.deviceId, since: held.since });
    this.seen(id, held.deviceId, this.now());
    held.holder.evict(reason);
  }

  /** Records the latest use of a key, here and (in a cluster) for the other nodes' lists. */
  private seen(id: string, deviceId: string, at: number): void {
    this.markSeen(id, deviceId, at);
    const row = this.share && this.stmt.byId.get(id);
    if (row) void this.share?.put(recordOf(row));
  }

  /** Notes a key's latest use. Only informative: a data directory that cannot take it (full, read-only) costs the note, never the device its connection. */
  private markSeen(id: string, deviceId: string, at: number): void {
    try {
      this.stmt.seen.run(at, deviceId, id);
    } catch (err) {
      const refused = storageError(err, "a key's last use");
      if (!refused) throw err;
      if (!this.seenFailing) this.onStorageError(refused.message);
      this.seenFailing = true;
      return;
    }
    this.seenFailing = false;
  }

  private info(row: Row, elsewhere?: KeyHold): KeyInfo {
    const held = this.reservations.get(row.id) ?? elsewhere;
    return {
      id: row.id,
      label: row.label,
      deviceId: row.device_id,
      state: row.revoked_at !== null ? "revoked" : held ? "reserved" : "free",
      reservedBy: held?.deviceId ?? null,
      reservedSince: held ? iso(held.since) : null,
      createdAt: iso(row.created_at)!,
      lastSeen: iso(row.last_seen),
      lastDevice: row.last_device,
    };
  }
}

/** What a publishing device presents: a user token, or a device key. */
export interface DeviceCredentials {
  token?: string;
  key?: string;
}

/** A device's account, and the end of its key reservation when it presented a key. */
export interface DeviceGrant {
  account: string;
  release: () => void;
}

/**
 * Authenticates a device that is about to publish as `deviceId`: a key is
 * claimed for it (held until release()), a token goes to `socketAuth`.
 */
export function deviceAuthenticator(socketAuth: (token: string | undefined) => Promise<string>, keys: DeviceKeys) {
  return async (creds: DeviceCredentials, deviceId: string, holder: KeyHolder): Promise<DeviceGrant> => {
    if (creds.key !== undefined) {
      if (creds.token !== undefined) throw badRequest("present a token or a device key, not both");
      const reservation = await keys.claim(creds.key, deviceId, holder);
      return { account: reservation.account, release: reservation.end };
    }
    return { account: await socketAuth(creds.token), release: () => {} };
  };
}
