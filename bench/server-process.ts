/**
 * The Tessera server as a child process of a bench, so its CPU time and
 * memory can be read apart from the bench's own peers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { serverMallocTunables } from "../server/setup/malloc.js";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "../server/main.js");
const LISTENING = /listening on (http:\/\/[^/\s]+)\//;
const INSPECTOR = /^Debugger listening on (ws:\/\/\S+)/;

/** A running server child. */
export class ServerProcess {
  private exited = false;
  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    /** e.g. http://127.0.0.1:40123 */
    readonly httpUrl: string,
    /** ws:// URL of the child's inspector, when started with `inspector`. */
    private readonly inspectorUrl: string | undefined,
  ) {
    child.once("exit", () => (this.exited = true));
  }

  /** ws:// URL of the signaling endpoint. */
  get wsUrl(): string {
    return `${this.httpUrl.replace(/^http/, "ws")}/ws`;
  }

  /** True while the child has not exited. */
  get running(): boolean {
    return !this.exited;
  }

  /**
   * Starts `node dist/server/main.js` with `args` (under `wrap`, a prefix that
   * execs, such as `taskset -c 0`) and resolves once it
   * printed its listening line. Lines at WARN or above are copied to our
   * stderr; everything else is dropped. With `inspector`, the child listens
   * for the inspector on a loopback port of its own, so `collectGarbage()`
   * can ask it for a full collection.
   */
  static start(
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    opts: { timeoutMs?: number; wrap?: readonly string[]; inspector?: boolean } = {},
  ): Promise<ServerProcess> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    // e.g. TESSERA_BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under a bench's load.
    const nodeArgs = (process.env.TESSERA_BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    if (opts.inspector) nodeArgs.push("--inspect=127.0.0.1:0");
    let inspectorUrl: string | undefined;
    const [program, ...rest] = [...(opts.wrap ?? []), process.execPath, ...nodeArgs, MAIN, ...args];
    // The malloc settings `npm start` gives the server, unless the caller chose its own.
    const child = spawn(program, rest, { env: { GLIBC_TUNABLES: serverMallocTunables(), ...env }, stdio: ["ignore", "ignore", "pipe"] });
    return new Promise((resolve, reject) => {
      let done = false;
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`server did not report listening within ${timeoutMs} ms`)), timeoutMs);
      child.once("error", fail);
      child.once("exit", (code, signal) => fail(new Error(`server exited early (code ${code}, signal ${signal})`)));
      createInterface({ input: child.stderr }).on("line", (line) => {
        const m = LISTENING.exec(line);
        inspectorUrl ??= INSPECTOR.exec(line)?.[1];
        if (m && !done && child.pid !== undefined) {
          done = true;
          clearTimeout(timer);
          if (opts.inspector && !inspectorUrl) return fail(new Error("server started without its inspector"));
          resolve(new ServerProcess(child, child.pid, m[1], inspectorUrl));
        } else if (/ (WARN|ERROR) |tessera: /.test(line)) {
          process.stderr.write(`[server] ${line}\n`);
        }
      });
    });
  }

  /** Fetches the Prometheus exposition at /metrics. */
  async metricsText(): Promise<string> {
    const res = await fetch(`${this.httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
    return res.text();
  }

  /**
   * A full, compacting garbage collection in the child (the inspector's
   * HeapProfiler.collectGarbage), so RSS read next is memory still held,
   * not garbage not yet collected. Needs `inspector` at start.
   */
  async collectGarbage(timeoutMs = 10_000): Promise<void> {
    const url = this.inspectorUrl;
    if (!url) throw new Error("collectGarbage needs a server started with { inspector: true }");
    const ws = new WebSocket(url);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer from the server's inspector within ${timeoutMs} ms`)), timeoutMs);
        ws.once("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
        ws.once("open", () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" })));
        ws.on("message", (data: Buffer) => {
          const reply = JSON.parse(data.toString("utf8")) as { id?: number; error?: { message: string } };
          if (reply.id !== 1) return;
          clearTimeout(timer);
          if (reply.error) reject(new Error(`HeapProfiler.collectGarbage: ${reply.error.message}`));
          else resolve();
        });
      });
    } finally {
      ws.close();
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; idempotent. */
  async stop(graceMs = 6000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
