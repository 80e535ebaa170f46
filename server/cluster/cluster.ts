/**
 * A node's link to the cluster: Redis holds which node holds each device
 * (refreshed by heartbeat, gone after the TTL when a node dies), the nodes'
 * addresses and load, and the secrets every node shares. Other nodes hear of
 * a change on pub/sub at once and re-read the directory on every heartbeat
 * anyway, so a lost message or a Redis restart heals by itself.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { SafeEmitter } from "../events.js";
import type { Logger } from "../log.js";
import { SessionTokens } from "../auth/session-tokens.js";
import { SharedLoginLimits } from "./login-limits.js";
import { SharedKeys, type KeyHost } from "./shared-keys.js";
import { deviceField, deviceValue, mergeHolders, parseDevice, parseNode, type DeviceEntry, type HeldDevice, type NodeEntry } from "./directory.js";

/** Every key Tessera writes starts with this. */
const PREFIX = "tessera:";
const nodeKey = (id: string) => `${PREFIX}node:${id}`;
const devicesKey = (id: string) => `${PREFIX}devices:${id}`;
const CHANNEL = `${PREFIX}directory`;
const KEYS_CHANNEL = SharedKeys.channel(PREFIX);
/** How long a node's entries outlive its last heartbeat, ms; heartbeats come three times as often. */
export const NODE_TTL_MS = 6000;
/** How long the first connection to Redis may take before start-up fails, ms. */
const CONNECT_TIMEOUT_MS = 5000;
/** A Redis command not answered within this long fails, ms (see Cluster.connect). */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;
/** How long a relay leg's token is valid, ms (it is only used to say hello). */
const LEG_TOKEN_TTL_MS = 60_000;

/** The secrets every node of a cluster shares, kept in Redis (made by the first node). */
export interface ClusterSecrets {
  /** Signs session tokens (`--auth basic`): a token from one node works on every other. */
  session: Buffer;
  /** Signs snapshot URLs. */
  snapshot: Buffer;
  /** Signs the tokens relay legs say hello with. */
  cluster: Buffer;
}

/** What this node has to tell the cluster at each heartbeat. */
export interface LocalState {
  devices: DeviceEntry[];
  viewers: number;
}

/** Events of a Cluster. */
export interface ClusterEvents {
  /** The set of devices other nodes hold changed. */
  directory: [held: ReadonlyMap<string, HeldDevice>];
  /** Redis became unreachable (false) or reachable again (true). */
  redis: [up: boolean];
}

/** Counters the cluster feeds (see metrics). */
export interface ClusterObserver {
  redisError(): void;
}

export class Cluster extends SafeEmitter<ClusterEvents> {
  /** This node's id: host name, process id and a random part (a restarted node is a new node). */
  readonly nodeId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly startedAt = Date.now();
  private readonly legTokens: SessionTokens;
  private url = "";
  private local: () => LocalState = () => ({ devices: [], viewers: 0 });
  private heartbeat: NodeJS.Timeout | undefined;
  /** Coalesced work: a heartbeat that announces, and a re-read of the directory. */
  private readonly pending = new Map<"beat" | "refresh", NodeJS.Timeout>();
  private held: ReadonlyMap<string, HeldDevice> = new Map();
  private heldSignature = "";
  private nodeList: NodeEntry[] = [];
  private up = true;
  private limits: SharedLoginLimits | undefined;
  private keys: SharedKeys | undefined;
  /** Until when (unix ms) devices missing from a re-read are kept: Redis came back empty and the other nodes are re-announcing. */
  private graceUntil = 0;
  private observer: ClusterObserver = { redisError: () => {} };
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly sub: Redis,
    readonly secrets: ClusterSecrets,
    private readonly log: Logger,
  ) {
    super();
    this.legTokens = new SessionTokens(secrets.cluster, LEG_TOKEN_TTL_MS);
    for (const client of [redis, sub]) {
      client.on("error", (err: Error) => this.redisFailed(err));
      client.on("ready", () => this.redisBack());
    }
    sub.on("message", (channel: string, message: string) => {
      if (channel === KEYS_CHANNEL) this.keys?.heard(message);
      else if (message !== this.nodeId) this.soon("refresh", () => this.refresh());
    });
  }

  /** Connects to Redis and reads (or makes) the shared secrets; throws when Redis cannot be reached in time. */
  static async connect(url: string, log: Logger): Promise<Cluster> {
    const options = {
      // Commands fail at once while Redis is away (a heartbeat is retried by the next one) instead of queueing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
      // A Redis that stops answering on an open connection (paused, overloaded, a partition without a
      // reset) fails commands after this long, so sign-ins, key claims and beats fall back to what the
      // node has instead of waiting until the kernel drops the connection.
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      lazyConnect: true,
    };
    const redis = new Redis(url, options);
    const sub = new Redis(url, { ...options, enableOfflineQueue: true });
    const quit = () => {
      redis.disconnect();
      sub.disconnect();
    };
    try {
      await withTimeout(Promise.all([redis.connect(), sub.connect()]), CONNECT_TIMEOUT_MS, `no answer from Redis at ${redactUrl(url)}`);
      const secrets: ClusterSecrets = {
        session: await sharedSecret(redis, "session"),
        snapshot: await sharedSecret(redis, "snapshot"),
        cluster: await sharedSecret(redis, "cluster"),
      };
      await sub.subscribe(CHANNEL, KEYS_CHANNEL);
      return new Cluster(redis, sub, secrets, log);
    } catch (err) {
      quit();
      throw err;
    }
  }

  /** Who counts Redis failures from now on. */
  observe(observer: ClusterObserver): void {
    this.observer = observer;
  }

  /** Announces this node at `url` and keeps it announced; `local` is read at every heartbeat. */
  join(url: string, local: () => LocalState): void {
    this.url = url;
    this.local = local;
    this.heartbeat = setInterval(() => void this.beat(false), NODE_TTL_MS / 3);
    this.heartbeat.unref();
    // Keys made while this node was away (or on nodes that left) are merged before it announces itself.
    void (this.keys?.sync() ?? Promise.resolve()).then(() => this.beat(true));
  }

  /** This node's devices changed: tell the others now (coalesced). */
  announce(): void {
    if (!this.url) return;
    this.soon("beat", () => this.beat(true));
  }

  /** Devices other nodes hold, as last read. */
  get devices(): ReadonlyMap<string, HeldDevice> {
    return this.held;
  }

  /** Every live node (this one included), as last read. */
  get nodes(): readonly NodeEntry[] {
    return this.nodeList;
  }

  /** Whether Redis answered last time. */
  get reachable(): boolean {
    return this.up;
  }

  /** Failed sign-ins counted across the cluster (falls back to this node's own count while Redis is away). */
  loginLimits(): SharedLoginLimits {
    return (this.limits ??= new SharedLoginLimits(this.redis, PREFIX));
  }

  /** Device keys and their reservations shared with every node, `host` being this node's store. */
  shareKeys(host: KeyHost): SharedKeys {
    return (this.keys ??= new SharedKeys(this.redis, PREFIX, this.nodeId, NODE_TTL_MS, host, (err) => this.redisFailed(err)));
  }

  /** A token a relay leg from this node says hello with, acting for `account`. */
  legToken(account: string): string {
    return this.legTokens.issue(account, Date.now()).token;
  }

  /** The account a relay leg's token acts for, or undefined when it is no valid leg token. */
  legAccount(token: string): string | undefined {
    const r = this.legTokens.verify(token, Date.now());
    return typeof r === "object" ? r.account : undefined;
  }

  /** Leaves the cluster: removes this node's entries (so its devices vanish at once) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const t of this.pending.values()) clearTimeout(t);
    try {
      if (this.url && this.up) {
        await withTimeout(this.redis.multi().del(nodeKey(this.nodeId), devicesKey(this.nodeId)).publish(CHANNEL, this.nodeId).exec(), 1000, "redis");
      }
    } catch (err) {
      this.log.debug("could not remove this node's entries", { err: String(err) });
    }
    this.redis.disconnect();
    this.sub.disconnect();
  }

  /** Runs `task` shortly, once however often it is asked for meanwhile. */
  private soon(kind: "beat" | "refresh", task: () => Promise<void>): void {
    if (this.pending.has(kind) || this.closed) return;
    this.pending.set(
      kind,
      setTimeout(() => {
        this.pending.delete(kind);
        void task();
      }, 20),
    );
  }

  /** Writes this node's entries (telling the others when `changed`), then re-reads everyone's. */
  private async beat(changed: boolean): Promise<void> {
    if (this.closed || !this.url) return;
    const state = this.local();
    const entry: NodeEntry = { id: this.nodeId, url: this.url, devices: state.devices.length, viewers: state.viewers, startedAt: this.startedAt };
    const tx = this.redis.multi().set(nodeKey(this.nodeId), JSON.stringify(entry), "PX", NODE_TTL_MS).del(devicesKey(this.nodeId));
    if (state.devices.length > 0) {
      tx.hset(devicesKey(this.nodeId), Object.fromEntries(state.devices.map((d) => [deviceField(d.account, d.id), deviceValue(d)])));
      tx.pexpire(devicesKey(this.nodeId), NODE_TTL_MS);
    }
    if (changed) tx.publish(CHANNEL, this.nodeId);
    try {
      await tx.exec();
    } catch (err) {
      this.redisFailed(err as Error);
      return;
    }
    // After a stall (commands timed out on a connection that stayed open) no 'ready' comes: a beat that goes through is the sign.
    if (!this.up) return this.redisBack();
    await this.keys?.refresh();
    await this.refresh();
  }

  /** Re-reads every node and the devices it holds. */
  private async refresh(): Promise<void> {
    if (this.closed) return;
    try {
      const ids: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await this.redis.scan(cursor, "MATCH", `${PREFIX}node:*`, "COUNT", 100);
        cursor = next;
        for (const k of keys) ids.push(k.slice(`${PREFIX}node:`.length));
      } while (cursor !== "0");
      const tx = this.redis.pipeline();
      for (const id of ids) tx.get(nodeKey(id)).hgetall(devicesKey(id));
      const replies = (await tx.exec()) ?? [];
      const nodes: { node: NodeEntry; devices: DeviceEntry[] }[] = [];
      ids.forEach((_, i) => {
        const [nodeErr, nodeValue] = replies[2 * i] ?? [];
        const [devErr, devValue] = replies[2 * i + 1] ?? [];
        const node = nodeErr ? undefined : parseNode(nodeValue as string | null);
        if (!node) return;
        const hash = devErr ? {} : ((devValue ?? {}) as Record<string, string>);
        const devices = Object.entries(hash)
          .map(([f, v]) => parseDevice(f, v))
          .filter((d): d is DeviceEntry => d !== undefined);
        nodes.push({ node, devices });
      });
      this.nodeList = nodes.map((n) => n.node).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
      const read = mergeHolders(nodes.filter((n) => n.node.id !== this.nodeId));
      const held = Date.now() < this.graceUntil ? new Map([...this.held, ...read]) : read;
      const signature = JSON.stringify([...held.entries()].map(([k, d]) => [k, d.node.id, d.node.url, d.name, d.kind, d.since]).sort());
      this.held = held;
      if (signature !== this.heldSignature) {
        this.heldSignature = signature;
        this.emit("directory", held);
      }
    } catch (err) {
      this.redisFailed(err as Error);
    }
  }

  /** Puts the secrets back when Redis returns without them (a restart without persistence): nodes that join later use the same ones. */
  private async restoreSecrets(): Promise<void> {
    try {
      for (const name of ["session", "snapshot", "cluster"] as const) {
        const now = await sharedSecret(this.redis, name, this.secrets[name]);
        if (!now.equals(this.secrets[name])) this.log.warn(`Redis holds another ${name} secret than this node's: was it shared by another cluster?`);
      }
    } catch (err) {
      this.redisFailed(err as Error);
    }
  }

  private redisFailed(err: Error): void {
    this.observer.redisError();
    if (!this.up) return;
    this.up = false;
    this.log.warn("Redis is unreachable; this node keeps serving its own devices and rejoins when it returns", { err: err.message });
    this.emit("redis", false);
  }

  private redisBack(): void {
    if (this.up || this.closed) return;
    this.up = true;
    this.log.info("Redis is reachable again; rejoining the cluster");
    this.graceUntil = Date.now() + NODE_TTL_MS;
    this.emit("redis", true);
    void this.restoreSecrets()
      .then(() => this.keys?.sync())
      .then(() => this.beat(true));
  }
}

/** The secret `name` every node shares: made by whichever node asks first (or `mine`, put back after Redis lost it). */
async function sharedSecret(redis: Redis, name: keyof ClusterSecrets, mine?: Buffer): Promise<Buffer> {
  const key = `${PREFIX}secret:${name}`;
  await redis.set(key, (mine ?? randomBytes(32)).toString("hex"), "NX");
  const hex = await redis.get(key);
  const secret = Buffer.from(hex ?? "", "hex");
  if (secret.length < 32) throw new Error(`Redis key ${key} holds no 32-byte hex secret`);
  return secret;
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
