/** Files under --data-dir: created private, written atomically, never readable by others. */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Creates the data directory (0700) if it is missing; returns its path. */
export function ensureDataDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes `file` as a whole (temporary file, fsync, rename) with mode 0600, so readers never see half of it. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

/**
 * The server's secret for session tokens, `<dir>/session-secret` (32 random
 * bytes, hex), generated on first start. Refused when others may read it.
 */
export function loadSessionSecret(dir: string): Buffer {
  return loadSecret(dir, "session-secret");
}

/** A 32-byte secret kept in `<dir>/<name>` (hex, 0600), generated on first use; refused when others may read it. */
export function loadSecret(dir: string, name: string): Buffer {
  const file = join(ensureDataDir(dir), name);
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) throw new Error(`${file} may be read by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    const secret = Buffer.from(readFileSync(file, "utf8").trim(), "hex");
    if (secret.length < 32) throw new Error(`${file} holds no 32-byte hex secret`);
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = randomBytes(32);
  writeFileAtomic(file, secret.toString("hex") + "\n");
  return secret;
}
