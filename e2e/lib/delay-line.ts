/**
 * Two network namespaces joined by a delay line instead of a veth pair: a
 * small program (e2e/lib/delay-line.c, built by scripts/build.mjs) holds a
 * TUN device in each and moves packets between them after a delay with
 * jitter, losing a share, as `tc netem delay D J loss L` would. This kernel
 * has no netem; nothing here leaves the two namespaces.
 *
 * `server` is 10.99.2.1 and `client` 10.99.2.2, each with a default route over
 * its device `dl0`; a token bucket on that device (limitLink) still works.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openNetns, wire, type Netns } from "./netns.js";

/** The built program, next to this module in dist/. */
const PROGRAM = join(dirname(fileURLToPath(import.meta.url)), "delay-line");
/** Each namespace's end of the line. */
export const DELAY_LINE_DEV = "dl0";

/** What packets meet on their way to one side: netem's `delay D J loss L`. */
export interface LinkProfile {
  /** Mean one-way delay, ms. */
  delayMs: number;
  /** Each packet's delay is drawn uniformly within ± this of the mean (never below 0), ms. */
  jitterMs: number;
  /** The share of packets dropped, percent. */
  lossPct: number;
}

export interface LinkCounts {
  forwarded: number;
  dropped: number;
}

export interface DelayLinePair {
  readonly server: Netns;
  readonly client: Netns;
  /** Sets what packets towards `side` meet from now on (both start clean). */
  set(side: "server" | "client", profile: LinkProfile): Promise<void>;
  /** Packets delivered to and dropped on the way to each side so far. */
  counts(): Promise<{ toServer: LinkCounts; toClient: LinkCounts }>;
  destroy(): Promise<void>;
}

/** Why the delay line cannot run here, or undefined when it can. */
export function delayLineUnavailable(): string | undefined {
  if (!existsSync(PROGRAM)) return `${PROGRAM} is missing: it is built with gcc by node scripts/build.mjs`;
  if (!existsSync("/dev/net/tun")) return "the kernel has no TUN device (/dev/net/tun)";
  return undefined;
}

/** Talks to the program: one command, one answer line, in order. */
class LineClient {
  private readonly waiting: Array<{ resolve(line: string): void; reject(err: Error): void }> = [];
  private stderr = "";
  private ended: Error | undefined;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let buffered = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) this.waiting.shift()?.resolve(line);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    child.once("exit", (code, signal) => {
      this.ended = new Error(`delay-line exited (code ${code}, signal ${signal}): ${this.stderr.trim() || "no message"}`);
      for (const w of this.waiting.splice(0)) w.reject(this.ended);
    });
  }

  /** The next line the program prints (the first is "ready"). */
  next(timeoutMs = 5000): Promise<string> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`delay-line did not answer within ${timeoutMs} ms: ${this.stderr.trim()}`)), timeoutMs);
      this.waiting.push({
        resolve: (line) => (clearTimeout(timer), resolve(line)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
    });
  }

  async ask(command: string): Promise<string> {
    const answer = this.next();
    this.child.stdin.write(`${command}\n`);
    const line = await answer;
    if (line.startsWith("error")) throw new Error(`delay-line: "${command}": ${line}`);
    return line;
  }
}

/** Creates the two namespaces and the line between them; call `destroy()` in an after hook. */
export async function createDelayLinePair(tag: string): Promise<DelayLinePair> {
  const why = delayLineUnavailable();
  if (why) throw new Error(`cannot run this test: ${why}`);
  const server = openNetns(`${tag}s`, "10.99.2.1");
  let client: Netns;
  try {
    client = openNetns(`${tag}c`, "10.99.2.2");
  } catch (err) {
    await server.destroy();
    throw err;
  }
  // Side a is the server's namespace, b the client's.
  const child = spawn(PROGRAM, [server.name, client.name, DELAY_LINE_DEV], { stdio: ["pipe", "pipe", "pipe"] });
  const line = new LineClient(child);
  const destroy = async () => {
    child.stdin.end();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all([server.destroy(), client.destroy()]);
  };
  try {
    const ready = await line.next();
    if (ready !== "ready") throw new Error(`delay-line said "${ready}" instead of ready`);
  } catch (err) {
    await destroy();
    throw err;
  }
  const dev = DELAY_LINE_DEV;
  await wire(
    [server, client],
    [
      [server, "addr", "add", server.address, "peer", client.address, "dev", dev],
      [client, "addr", "add", client.address, "peer", server.address, "dev", dev],
      [server, "link", "set", dev, "up"],
      [client, "link", "set", dev, "up"],
      [server, "route", "add", "default", "dev", dev],
      [client, "route", "add", "default", "dev", dev],
    ],
  ).catch(async (err: unknown) => {
    await destroy();
    throw err;
  });
  const parseCounts = (s: string): LinkCounts => {
    const [forwarded, dropped] = s.split("/").map(Number);
    return { forwarded, dropped };
  };
  return {
    server,
    client,
    async set(side, { delayMs, jitterMs, lossPct }) {
      await line.ask(`${side === "server" ? "a" : "b"} ${delayMs} ${jitterMs} ${lossPct}`);
    },
    async counts() {
      const m = /^stats a:(\d+\/\d+) b:(\d+\/\d+)$/.exec(await line.ask("stats"));
      if (!m) throw new Error("delay-line: unreadable stats");
      return { toServer: parseCounts(m[1]), toClient: parseCounts(m[2]) };
    },
    destroy,
  };
}
