/**
 * Firefox ESR for e2e tests, running inside a network namespace (Firefox
 * skips loopback ICE candidates): the test stays in the root namespace and
 * talks to e2e/lib/firefox-driver.ts, which runs in the namespace and owns
 * the browser (see that file for why and for the line protocol).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ProbeOptions } from "../probes.js";

const DRIVER = fileURLToPath(new URL("./firefox-driver.js", import.meta.url));
export const FIREFOX_PATH = process.env.TESSERA_FIREFOX ?? "/usr/bin/firefox-esr";
const LAUNCH_TIMEOUT_MS = 30_000;
const CALL_TIMEOUT_MS = 20_000;

interface Reply {
  id?: number;
  ok?: boolean;
  value?: unknown;
  error?: string;
  ready?: boolean;
  version?: string;
  launchMs?: number;
}

/** One page in the remote Firefox. */
export class FirefoxPage {
  constructor(
    private readonly ff: Firefox,
    readonly id: number,
    readonly label: string,
  ) {}

  /**
   * Runs `fn(arg)` in the page and returns its (JSON) value. `fn` is sent as
   * source text, so it must not reference anything outside its own body.
   */
  evaluate<T, A = undefined>(fn: (arg: A) => T | Promise<T>, arg?: A): Promise<Awaited<T>> {
    const expr = `(${fn.toString()})(${arg === undefined ? "" : JSON.stringify(arg)})`;
    return this.ff.call("eval", { page: this.id, expr }) as Promise<Awaited<T>>;
  }

  close(): Promise<void> {
    return this.ff.call("close", { page: this.id }).then(() => undefined);
  }
}

/** A Firefox ESR (headless, fresh profile) inside a namespace, driven through the driver process. */
export class Firefox {
  /** Driver stderr and Firefox output (for failure reports). */
  readonly logs: string[] = [];
  version = "";
  launchMs = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {}

  /** Starts the driver with `wrap` (e.g. `ip netns exec NS`) and waits until Firefox runs. */
  static async launch(wrap: readonly string[]): Promise<Firefox> {
    if (!existsSync(FIREFOX_PATH)) throw new Error(`${FIREFOX_PATH} is missing: apt-get install firefox-esr (scripts/bootstrap.mjs --test does)`);
    if (!existsSync(DRIVER)) throw new Error(`${DRIVER} is missing; run node scripts/build.mjs first`);
    const command = [...wrap, process.execPath, DRIVER];
    const child = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: process.env });
    const ff = new Firefox(child);
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    child.stderr?.setEncoding("utf8");
    createInterface({ input: child.stderr }).on("line", (l) => ff.logs.push(l));
    const ready = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Firefox did not start within ${LAUNCH_TIMEOUT_MS} ms`)), LAUNCH_TIMEOUT_MS);
      createInterface({ input: child.stdout }).on("line", (line) => {
        let msg: Reply;
        try {
          msg = JSON.parse(line) as Reply;
        } catch {
          ff.logs.push(`[stdout] ${line}`);
          return;
        }
        if (msg.ready) {
          clearTimeout(timer);
          resolve(msg);
        } else ff.settle(msg);
      });
      child.once("exit", (code, signal) => {
        ff.exited = true;
        clearTimeout(timer);
        const err = new Error(`the Firefox driver exited (code ${code}, signal ${signal})\n${ff.logs.slice(-20).join("\n")}`);
        reject(err);
        for (const p of ff.pending.values()) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        ff.pending.clear();
      });
    });
    try {
      const msg = await ready;
      ff.version = msg.version ?? "";
      ff.launchMs = msg.launchMs ?? 0;
    } catch (err) {
      await ff.close();
      throw err;
    }
    return ff;
  }

  /** Opens `url` in a new window of its own browser context, with the frame probe when `probe` is given. */
  async open(url: string, label: string, probe?: ProbeOptions): Promise<FirefoxPage> {
    const { page } = (await this.call("open", { url, label, probe })) as { page: number };
    return new FirefoxPage(this, page, label);
  }

  /** Console lines of every page so far. */
  consoleLines(): Promise<string[]> {
    return this.call("logs", {}) as Promise<string[]>;
  }

  /** Sends one request to the driver. */
  call(op: string, args: Record<string, unknown>, timeoutMs = CALL_TIMEOUT_MS): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error("the Firefox driver has exited"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`Firefox driver: '${op}' got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin?.write(JSON.stringify({ id, op, ...args }) + "\n");
    });
  }

  private settle(msg: Reply): void {
    const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id!);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new Error(msg.error ?? "unknown driver error"));
  }

  /** Closes Firefox and the driver (politely, then SIGKILL); idempotent. */
  async close(): Promise<void> {
    if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.call("quit", {}, 8000).catch(() => undefined);
    const term = setTimeout(() => this.child.kill("SIGTERM"), 8000);
    const kill = setTimeout(() => this.child.kill("SIGKILL"), 12_000);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
  }
}
