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
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { badRequest, busy, forbidden, notFound, TesseraError } from "../errors.js";
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
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface DeviceKeysOptions {
  /** A directory for `tessera.db`, or `:memory:`. */
  dataDir: string;
  /** Counts each refusal. */
  refused?: (reason: KeyRefusal) => void;
  /** Unix ms; injectable for tests. */
  now?: () => number;
}

export class DeviceKeys {
  private readonly db: Database.Database;
  private readonly reservations = new Map<string, { deviceId: string; since: number; holder: KeyHolder }>();
  private readonly now: () => number;
  private readonly refused: (reason: KeyRefusal) => void;
  private readonly stmt: {
    insert: Database.Statement;
    byId: Database.Statement<[string], Row>;
    byAccount: Database.Statement<[string], Row>;
    count: Database.Statement<[string], { n: number }>;
    revoke: Database.Statement;
    seen: Database.Statement;
  };

  constructor(options: DeviceKeysOptions) {
    this.now = options.now ?? Date.now;
    this.refused = options.refused ?? (() => {});
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

  /** Makes a key for `account`; the answer is the only time its secret is seen. */
  create(account: string, label: string, deviceId: string | null): KeyInfo & { key: string } {
    if (this.stmt.count.get(account)!.n >= MAX_KEYS_PER_ACCOUNT) {
      throw forbidden(`an account may hold at most ${MAX_KEYS_PER_ACCOUNT} keys that are not revoked`);
    }
    const id = `${KEY_PREFIX}${randomBytes(6).toString("hex")}`;
    const secret = randomBytes(32).toString("base64url");
    const createdAt = this.now();
    this.stmt.insert.run({ id, account, label, hash: hashOf(secret), deviceId, createdAt });
    return { key: `${id}.${secret}`, ...this.info(this.stmt.byId.get(id)!) };
  }

  /** The account's keys, oldest first. */
  list(account: string): KeyInfo[] {
    return this.stmt.byAccount.all(account).map((row) => this.info(row));
  }

  /** Revokes a key of the account (by id or full key) and evicts the device holding it; not_found for any other. */
  revoke(account: string, keyOrId: string): KeyInfo {
    const row = this.ownRow(account, keyOrId);
    this.stmt.revoke.run(this.now(), row.id);
    this.evict(row.id, "revoked");
    return this.info(this.stmt.byId.get(row.id)!);
  }

  /** Frees a key of the account, evicting the device holding it; not_found for any other. */
  release(account: string, keyOrId: string): KeyInfo {
    const row = this.ownRow(account, keyOrId);
    this.evict(row.id, "released");
    return this.info(this.stmt.byId.get(row.id)!);
  }

  /**
   * Checks a presented key for `deviceId` without reserving it (a stateless
   * push): its account, or a refusal. A key reserved by another device is busy.
   */
  verify(key: string, deviceId?: string): { account: string; keyId: string } {
    const row = this.check(key, deviceId);
    const held = this.reservations.get(row.id);
    if (deviceId !== undefined && held && held.deviceId !== deviceId) this.refuse("key_busy", `this key is in use by device '${held.deviceId}'`);
    if (deviceId !== undefined) this.stmt.seen.run(this.now(), deviceId, row.id);
    return { account: row.account, keyId: row.id };
  }

  /**
   * Reserves a presented key for `deviceId` held by `holder`. A key another
   * device holds is busy; the same device connecting again takes it over
   * (the new connection wins, as for device ids), evicting the old holder.
   */
  claim(key: string, deviceId: string, holder: KeyHolder): Reservation {
    const row = this.check(key, deviceId);
    const held = this.reservations.get(row.id);
    if (held && held.deviceId !== deviceId) this.refuse("key_busy", `this key is in use by device '${held.deviceId}' since ${iso(held.since)}`);
    if (held) this.evict(row.id, "replaced");
    const entry = { deviceId, since: this.now(), holder };
    this.reservations.set(row.id, entry);
    this.stmt.seen.run(entry.since, deviceId, row.id);
    return {
      account: row.account,
      keyId: row.id,
      end: () => {
        if (this.reservations.get(row.id) !== entry) return;
        this.reservations.delete(row.id);
        this.stmt.seen.run(this.now(), deviceId, row.id);
      },
    };
  }

  /** Closes the store; reservations end with it. */
  close(): void {
    this.reservations.clear();
    if (this.db.open) this.db.close();
  }

  private check(key: string, deviceId: string | undefined): Row {
    const m = KEY_PATTERN.exec(key);
    const row = m ? this.stmt.byId.get(m[1]) : undefined;
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

  private evict(id: string, reason: EvictReason): void {
    const held = this.reservations.get(id);
    if (!held) return;
    this.reservations.delete(id);
    this.stmt.seen.run(this.now(), held.deviceId, id);
    held.holder.evict(reason);
  }

  private info(row: Row): KeyInfo {
    const held = this.reservations.get(row.id);
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
      const reservation = keys.claim(creds.key, deviceId, holder);
      return { account: reservation.account, release: reservation.end };
    }
    return { account: await socketAuth(creds.token), release: () => {} };
  };
}
