/**
 * The accounts of `--auth basic`: `<data-dir>/users.json`, user names and
 * scrypt hashes. The server re-reads it when it changes on disk, so `tessera
 * users add|remove` takes effect without a restart.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile } from "../../turn/json-file.js";
import { ensureDataDir, writeFileAtomic } from "./data-dir.js";
import { DUMMY_HASH, hashPassword, verifyPassword } from "./passwords.js";

/** User names: they become account ids (in TURN usernames and logs), so a small safe alphabet. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const FileSchema = z.object({
  version: z.literal(1),
  users: z.record(z.string().regex(USER_NAME), z.object({ hash: z.string(), created: z.string() })),
});
type UsersJson = z.infer<typeof FileSchema>;

/** The outcome of a password check; the failures are auth-failure metric reasons. */
export type PasswordCheck = "ok" | "unknown_user" | "bad_password";

/** users.json, loaded on demand and cached until its size, mtime or inode change. */
export class UsersFile {
  readonly path: string;
  private cached: { stamp: string; data: UsersJson } | undefined;

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, "users.json");
  }

  private read(): UsersJson {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, users: {} };
      throw err;
    }
    if (this.cached?.stamp === stamp) return this.cached.data;
    const parsed = FileSchema.safeParse(readJsonFile(this.path));
    if (!parsed.success) throw new Error(`${this.path}: ${parsed.error.issues[0].message} at ${parsed.error.issues[0].path.join(".")}`);
    this.cached = { stamp, data: parsed.data };
    return parsed.data;
  }

  private write(data: UsersJson): void {
    ensureDataDir(this.dataDir);
    writeFileAtomic(this.path, JSON.stringify(data, null, 2) + "\n");
    this.cached = undefined;
  }

  /** User names, sorted. */
  list(): string[] {
    return Object.keys(this.read().users).sort();
  }

  has(name: string): boolean {
    return Object.hasOwn(this.read().users, name);
  }

  /** When the user's password was last set (added, or changed), unix ms; undefined for no such user. */
  passwordSetAt(name: string): number | undefined {
    if (!Object.hasOwn(this.read().users, name)) return undefined;
    const at = Date.parse(this.read().users[name].created);
    return Number.isFinite(at) ? at : 0;
  }

  /** The stored hash of a user (for caching checks), or undefined. */
  hashOf(name: string): string | undefined {
    return Object.hasOwn(this.read().users, name) ? this.read().users[name].hash : undefined;
  }

  /** Adds a user or replaces their password. */
  async set(name: string, password: string, now = new Date()): Promise<void> {
    if (!USER_NAME.test(name)) throw new TypeError(`user names are 1-64 of [A-Za-z0-9._-], starting alphanumeric; got ${JSON.stringify(name)}`);
    if (password.length < 8) throw new TypeError("passwords need at least 8 characters");
    const hash = await hashPassword(password);
    const data = this.read();
    this.write({ version: 1, users: { ...data.users, [name]: { hash, created: now.toISOString() } } });
  }

  /** Removes a user; false when there was none. */
  remove(name: string): boolean {
    const data = this.read();
    if (!Object.hasOwn(data.users, name)) return false;
    const users = { ...data.users };
    delete users[name];
    this.write({ version: 1, users });
    return true;
  }

  /** Checks a password; an unknown user costs as much time as a wrong password. */
  async check(name: string, password: string): Promise<PasswordCheck> {
    const hash = this.hashOf(name);
    const ok = await verifyPassword(password, hash ?? DUMMY_HASH);
    if (!hash) return "unknown_user";
    return ok ? "ok" : "bad_password";
  }
}
