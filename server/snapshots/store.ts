import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ensureDataDir, writeFileAtomic } from "../auth/data-dir.js";
import { storing } from "../errors.js";
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
 * Snapshots on disk under `<data-dir>/snapshots`, each named with its expiry,
 * so expired ones are found (and deleted) without an index, across restarts.
 */
export class SnapshotStore {
  private readonly dir: string;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    dataDir: string,
    private readonly secret: Buffer,
    private readonly now: () => number = Date.now,
    sweepMs = 30_000,
  ) {
    this.dir = ensureDataDir(join(ensureDataDir(dataDir), "snapshots"));
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  /** Stores `jpeg` for `lifetimeSeconds` and signs its path. */
  save(jpeg: Buffer, lifetimeSeconds: number): Snapshot {
    const expires = Math.floor(this.now() / 1000) + lifetimeSeconds;
    const name = `${expires}-${randomBytes(16).toString("base64url")}.jpg`;
    storing("the snapshot", () => writeFileAtomic(join(this.dir, name), jpeg));
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

  /** Deletes every expired snapshot. */
  sweep(): void {
    const nowS = this.now() / 1000;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return; // the directory went away (or cannot be read): nothing to sweep now
    }
    for (const f of names) {
      const m = NAME.exec(f);
      if (m && Number(m[1]) <= nowS) {
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
