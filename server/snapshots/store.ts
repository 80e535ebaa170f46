import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ensureDataDir, writeFileAtomic } from "../auth/data-dir.js";
import { storing } from "../errors.js";
import { limitError } from "../limits.js";
import { checkSnapshot, signSnapshot } from "./signing.js";

/** A stored snapshot and the signed path that serves it. */
export interface Snapshot {
  /** `/snapshots/<name>.jpg?expires=…&sig=…` */
  pathAndQuery: string;
  /** Unix seconds. */
  expires: number;
}

const NAME = /^(\d{1,12})-([A-Za-z0-9_-]{16,64})\.jpg$/;

/**
 * What live snapshots may take on disk: one account, and the node. A
 * 150-byte request stores up to a whole 4 MiB frame for a day; without a
 * bound a loop of them fills the disk the key store and users file share.
 */
export const SNAPSHOT_BYTES = { account: 256 * 1024 * 1024, node: 1024 * 1024 * 1024 } as const;

/**
 * Snapshots on disk under `<data-dir>/snapshots`, each named with its expiry,
 * so expired ones are found (and deleted) without an index, across restarts.
 */
export class SnapshotStore {
  private readonly dir: string;
  private readonly sweeper: NodeJS.Timeout;
  /** Live snapshots by file name: whose (unknown for those found on disk at start) and their size. */
  private readonly live = new Map<string, { account: string | undefined; bytes: number }>();

  constructor(
    dataDir: string,
    private readonly secret: Buffer,
    private readonly now: () => number = Date.now,
    sweepMs = 30_000,
    private readonly budget: { readonly account: number; readonly node: number } = SNAPSHOT_BYTES,
  ) {
    this.dir = ensureDataDir(join(ensureDataDir(dataDir), "snapshots"));
    this.sweep();
    for (const f of this.names()) {
      if (NAME.test(f)) this.live.set(f, { account: undefined, bytes: sizeOf(join(this.dir, f)) });
    }
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  /** Stores `jpeg` of `account` for `lifetimeSeconds` and signs its path; a `limit` error when it would go over SNAPSHOT_BYTES. */
  save(jpeg: Buffer, lifetimeSeconds: number, account: string): Snapshot {
    let mine = 0;
    let all = 0;
    for (const s of this.live.values()) {
      all += s.bytes;
      if (s.account === account) mine += s.bytes;
    }
    const mb = (n: number) => `${Math.round(n / (1024 * 1024))} MB`;
    if (mine + jpeg.length > this.budget.account) {
      throw limitError("account", `this account's live snapshots take ${mb(mine)}, at most ${mb(this.budget.account)}: wait for some to expire`, 60);
    }
    if (all + jpeg.length > this.budget.node) {
      throw limitError("node", `this server's live snapshots take ${mb(all)}, at most ${mb(this.budget.node)}; try again later`, 60);
    }
    const expires = Math.floor(this.now() / 1000) + lifetimeSeconds;
    const name = `${expires}-${randomBytes(16).toString("base64url")}.jpg`;
    storing("the snapshot", () => writeFileAtomic(join(this.dir, name), jpeg));
    this.live.set(name, { account, bytes: jpeg.length });
    const path = `/snapshots/${name}`;
    return { pathAndQuery: `${path}?expires=${expires}&sig=${signSnapshot(this.secret, path, expires)}`, expires };
  }

  /** The JPEG a signed request names, or why not. */
  open(name: string, expires: string | undefined, sig: string | undefined): { jpeg: Buffer } | { refused: "expired" | "bad_signature" | "gone" } {
    const verdict = checkSnapshot(this.secret, `/snapshots/${name}`, expires, sig, this.now());
    if (verdict !== "ok") return { refused: verdict };
    const m = NAME.exec(name);
    if (!m || m[1] !== expires) return { refused: "bad_signature" };
    try {
      return { jpeg: readFileSync(join(this.dir, name)) };
    } catch {
      return { refused: "gone" };
    }
  }

  /** The files in the snapshot directory; none when it went away (or cannot be read). */
  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch {
      return [];
    }
  }

  /** Deletes every expired snapshot. */
  sweep(): void {
    const nowS = this.now() / 1000;
    for (const f of this.names()) {
      const m = NAME.exec(f);
      if (m && Number(m[1]) <= nowS) {
        this.live.delete(f);
        try {
          unlinkSync(join(this.dir, f));
        } catch {
          // gone already
        }
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

/** A file's size, 0 when it cannot be read (it went away meanwhile). */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
