/**
 * A network namespace of the test's own, for peers that never gather
 * loopback candidates (Firefox, libnice): a veth pair whose two ends both live
 * inside the namespace (10.99.0.1 and 10.99.0.2) and a default route, so that
 * Firefox does not consider itself offline. Nothing is connected to the root
 * namespace: no packet can leave. See shared/TESTING.md.
 *
 * Needs root and iproute2; `createNetns` throws a clear error without them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";

const IP = existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : "ip";
const ETC_NETNS = "/etc/netns";

export interface Netns {
  readonly name: string;
  /** The address the server listens on and gathers ICE candidates for. */
  readonly address: string;
  /** The prefix that runs a command inside the namespace (`ip netns exec NAME`); it execs, so pids are kept. */
  readonly exec: readonly string[];
  /** Kills every process still inside the namespace, deletes it and its /etc/netns entry; idempotent. */
  destroy(): Promise<void>;
}

function ip(...args: string[]): string {
  const r = spawnSync(IP, args, { encoding: "utf8" });
  if (r.error) throw new Error(`ip ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "creating a network namespace needs root (run the Firefox e2e tests as root)";
  const r = spawnSync(IP, ["-V"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `${IP} is not usable (${r.error?.message ?? r.stderr.trim()}): install iproute2`;
  return undefined;
}

function pidsIn(name: string): number[] {
  const r = spawnSync(IP, ["netns", "pids", name], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Synchronous teardown (also used from a process "exit" handler). Returns the pids it had to kill. */
function teardownSync(name: string): number[] {
  const killed = pidsIn(name);
  for (const pid of killed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  spawnSync(IP, ["netns", "del", name], { encoding: "utf8" });
  rmSync(`${ETC_NETNS}/${name}`, { recursive: true, force: true });
  return killed;
}

function namespaces(): string[] {
  return ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/**
 * Removes namespaces (and what still runs in them) that an earlier run of
 * these tests left behind when it was killed outright: `tessera-<tag>-<pid>`
 * whose pid no longer runs, or is this process (pid reuse).
 */
function removeStale(tag: string): void {
  for (const ns of namespaces()) {
    const m = new RegExp(`^tessera-${tag}-(\\d+)$`).exec(ns);
    if (!m) continue;
    const owner = Number(m[1]);
    let alive = owner !== process.pid;
    if (alive) {
      try {
        process.kill(owner, 0);
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === "EPERM";
      }
    }
    if (!alive) teardownSync(ns);
  }
}

/**
 * Adds `tessera-<tag>-<pid>` with its loopback up and a resolver that fails
 * at once; `address` is what the caller will give it. Torn down on any way
 * out of the process.
 */
export function openNetns(tag: string, address: string): Netns {
  const why = netnsUnavailable();
  if (why) throw new Error(`cannot run this test: ${why}`);
  const name = `tessera-${tag}-${process.pid}`;
  removeStale(tag);

  // Tear down on any way out: normal exit, and the signals a test runner sends when interrupted
  // (a process killed by a signal runs no "exit" handlers).
  const onExit = () => teardownSync(name);
  const onSignal = (signal: NodeJS.Signals) => {
    teardownSync(name);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("exit", onExit);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let destroyed = false;
  const netns: Netns = {
    name,
    address,
    exec: [IP, "netns", "exec", name],
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      process.off("exit", onExit);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      // Give processes a moment to exit by themselves first (their owners stop them before this).
      const deadline = Date.now() + 3000;
      while (pidsIn(name).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      teardownSync(name);
      if (namespaces().includes(name)) throw new Error(`could not delete network namespace ${name}`);
    },
  };
  try {
    // `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc: a resolver on
    // the namespace's own loopback (nothing listens there) makes every DNS
    // lookup fail at once instead of timing out against an unreachable
    // nameserver (werift looks up its default public STUN server, Firefox its services).
    mkdirSync(`${ETC_NETNS}/${name}`, { recursive: true });
    writeFileSync(`${ETC_NETNS}/${name}/resolv.conf`, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
    ip("netns", "add", name);
    ip("netns", "exec", name, IP, "link", "set", "lo", "up");
  } catch (err) {
    void netns.destroy();
    throw err;
  }
  return netns;
}

/** Runs `ip ARGS` inside each step's namespace; a failure destroys `all` and throws. */
export async function wire(all: Netns[], steps: Array<[Netns, ...string[]]>): Promise<void> {
  try {
    for (const [ns, ...args] of steps) ip("netns", "exec", ns.name, IP, ...args);
  } catch (err) {
    await Promise.all(all.map((ns) => ns.destroy()));
    throw err;
  }
}

/** Creates `tessera-<tag>-<pid>` with the veth pair and default route; call `destroy()` in an after hook. */
export async function createNetns(tag: string): Promise<Netns> {
  const ns = openNetns(tag, "10.99.0.1");
  await wire(
    [ns],
    [
      [ns, "link", "add", "va", "type", "veth", "peer", "name", "vb"],
      [ns, "addr", "add", `${ns.address}/24`, "dev", "va"],
      [ns, "addr", "add", "10.99.0.2/24", "dev", "vb"],
      [ns, "link", "set", "va", "up"],
      [ns, "link", "set", "vb", "up"],
      [ns, "route", "add", "default", "via", "10.99.0.2", "dev", "va"],
    ],
  );
  return ns;
}

/**
 * Two namespaces of the test's own joined by one veth pair, as a server and
 * a client on separate hosts: `server` is 10.99.1.1, `client` 10.99.1.2, each
 * with a default route over the pair. Nothing reaches the root namespace.
 */
export async function createNetnsPair(tag: string): Promise<{ server: Netns; client: Netns; destroy(): Promise<void> }> {
  const server = openNetns(`${tag}s`, "10.99.1.1");
  let client: Netns;
  try {
    client = openNetns(`${tag}c`, "10.99.1.2");
  } catch (err) {
    await server.destroy();
    throw err;
  }
  await wire(
    [server, client],
    [
      [server, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", client.name],
      [server, "addr", "add", `${server.address}/24`, "dev", "va"],
      [client, "addr", "add", `${client.address}/24`, "dev", "vb"],
      [server, "link", "set", "va", "up"],
      [client, "link", "set", "vb", "up"],
      [server, "route", "add", "default", "via", client.address, "dev", "va"],
      [client, "route", "add", "default", "via", server.address, "dev", "vb"],
    ],
  );
  return { server, client, destroy: async () => void (await Promise.all([server.destroy(), client.destroy()])) };
}

/** For diagnostics: the namespace's addresses and routes. */
export function describeNetns(name: string): string {
  try {
    return execFileSync(IP, ["netns", "exec", name, "sh", "-c", "ip -br addr; ip route"], { encoding: "utf8" });
  } catch (err) {
    return `(cannot describe ${name}: ${err instanceof Error ? err.message : String(err)})`;
  }
}

const NFT = "/usr/sbin/nft";

/**
 * Drops `percent` of the UDP packets sent from inside the namespace (each
 * packet once, on its way out; WebRTC only, signaling and pages stay on
 * TCP): none with 0, every one with 100. The kernel here has no netem, so nftables' random numbers do
 * the losing. With `mediaOnly`, only SRTP and SRTCP (a first byte of 128–191,
 * RFC 7983): ICE and DTLS go on, so a connection comes up without media.
 */
export function dropUdp(netns: Netns, percent: number, { mediaOnly = false } = {}): void {
  const nft = (...args: string[]) => ip("netns", "exec", netns.name, NFT, ...args);
  nft("add", "table", "inet", "tessera");
  nft("add", "chain", "inet", "tessera", "lossy", "{ type filter hook output priority 0; }");
  nft("flush", "chain", "inet", "tessera", "lossy");
  const match = ["meta", "l4proto", "udp", ...(mediaOnly ? ["@th,64,8", "128-191"] : [])];
  if (percent >= 100) nft("add", "rule", "inet", "tessera", "lossy", ...match, "counter", "drop");
  else if (percent > 0) nft("add", "rule", "inet", "tessera", "lossy", ...match, "numgen", "random", "mod", "100", "<", String(percent), "counter", "drop");
}

/** How many packets dropUdp has dropped so far. */
export function droppedUdp(netns: Netns): number {
  const out = ip("netns", "exec", netns.name, NFT, "list", "chain", "inet", "tessera", "lossy");
  return [...out.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

const TC = "/usr/sbin/tc";

/**
 * Holds what the namespace sends out of `dev` (its end of a veth pair, or
 * the delay line's TUN device) to `kbit` kbit/s with a token bucket, or
 * lifts the limit with 0: a thin link towards whatever is on the other side.
 */
export function limitLink(netns: Netns, dev: string, kbit: number): void {
  if (kbit > 0)
    ip("netns", "exec", netns.name, TC, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", `${kbit}kbit`, "burst", "32kbit", "latency", "300ms");
  else spawnSync(IP, ["netns", "exec", netns.name, TC, "qdisc", "del", "dev", dev, "root"], { encoding: "utf8" }); // none to delete is fine
}
