import { lstatSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { z } from "zod";
import { readJsonFile } from "./json-file.js";
import { invalidIceUri, type IceServerEntry } from "./ice-config.js";

const uri = z.string().superRefine((s, ctx) => {
  const why = invalidIceUri(s);
  if (why) ctx.addIssue({ code: "custom", message: `${JSON.stringify(s)}: ${why}` });
});
const entry = z.strictObject({
  urls: z.union([uri, z.array(uri).min(1, "urls is empty")]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
const fileSchema = z.union([z.array(entry), z.strictObject({ iceServers: z.array(entry) })]);

/**
 * Reads and checks an iceServers file: `[{urls, username?, credential?}, …]`
 * or `{"iceServers": [...]}`. Refuses a symlink or a file anyone may write,
 * since whoever can write it can send every client to their own TURN server.
 * Throws an Error naming the file and the problem.
 */
export function readIceServersFile(path: string): IceServerEntry[] {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    throw new Error(`${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, { cause: err });
  }
  if (stat.isSymbolicLink()) throw new Error(`${path} is a symlink; name the file itself`);
  if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
  if (stat.mode & 0o002) throw new Error(`${path} is world-writable; chmod o-w it first`);
  const parsed = fileSchema.safeParse(readJsonFile(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new Error(`${path}: expected [{urls, username?, credential?}] or {"iceServers": [...]}${where}: ${issue.message}`);
  }
  const list = Array.isArray(parsed.data) ? parsed.data : parsed.data.iceServers;
  return list.map((e) => ({ ...e, urls: typeof e.urls === "string" ? [e.urls] : e.urls }));
}

/**
 * A static iceServers file, re-read when it changes. A bad edit keeps the
 * last good list (and is reported through `onError`); the first read must
 * succeed, so a server never starts with a file it cannot use.
 */
export class IceServersFile {
  private current: IceServerEntry[];
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    private readonly onError: (message: string) => void = () => {},
    private readonly onReload: (count: number) => void = () => {},
  ) {
    this.current = readIceServersFile(path);
    // Watch the directory: editors and config managers replace files by rename.
    const name = basename(path);
    this.watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => this.reload(), 50);
    });
    this.watcher.on("error", (err) => this.onError(`${path}: watching stopped: ${err.message}`));
  }

  /** The servers from the last good read. */
  get servers(): IceServerEntry[] {
    return this.current;
  }

  /** Re-reads the file now; keeps the old list on error. */
  reload(): void {
    try {
      this.current = readIceServersFile(this.path);
      this.onReload(this.current.length);
    } catch (err) {
      this.onError(`${(err as Error).message}; keeping the previous ${this.current.length} server(s)`);
    }
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
