/**
 * How much of this node one account, and everyone together, may use: devices
 * publishing, viewers, WHIP/WHEP sessions, fallback sockets, media pipelines
 * started for viewers, and pushed frames per second. Counted resources are
 * taken as a Lease and given back once; a refusal is a `limit` error (HTTP
 * 429 when the account is at its limit, 503 when the node is), counted by
 * the caller's `refused`.
 */
import { TesseraError } from "./errors.js";
import { TokenBucket } from "./input/rate-limiter.js";

/** The limits, by the names `--limit` and `--account-limit` take. */
export const LIMIT_NAMES = ["devices", "viewers", "fallback-viewers", "whip", "pipelines", "frames"] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
/** The limits counted in use; `frames` is a rate. */
export type CountedLimit = Exclude<LimitName, "frames">;
export const COUNTED_LIMITS: readonly CountedLimit[] = LIMIT_NAMES.filter((n): n is CountedLimit => n !== "frames");

/** One value per limit; 0 means none. */
export type LimitValues = Readonly<Record<LimitName, number>>;

/** What each limit counts, for --help, README and error messages. */
export const LIMIT_MEANING: Readonly<Record<LimitName, string>> = {
  devices: "devices publishing through this node (WebRTC, WHIP, pushed frames)",
  viewers: "WebRTC viewers (one per device a /ws connection watches)",
  "fallback-viewers": "WebSocket fallback stream sockets",
  whip: "WHIP and WHEP sessions",
  pipelines: "media pipelines started for viewers (a device's fallback decoder, each stripe encoder set, each transcoder)",
  frames: "pushed JPEG frames per second",
};

/** This node's limits unless `--limit` says otherwise: generous, but they keep one node from being driven out of memory. */
export const NODE_LIMIT_DEFAULTS: LimitValues = {
  devices: 1000,
  viewers: 1000,
  "fallback-viewers": 200,
  whip: 200,
  pipelines: 64,
  frames: 2000,
};

/** An account's limits unless `--account-limit` says otherwise: none of its own (the node's apply). */
export const ACCOUNT_LIMIT_DEFAULTS: LimitValues = { devices: 0, viewers: 0, "fallback-viewers": 0, whip: 0, pipelines: 0, frames: 0 };

export type LimitScope = "account" | "node";

/** A `limit` error saying `message`: 429 when the account is at its limit, 503 when the whole node is. */
export function limitError(scope: LimitScope, message: string, retryAfterS: number): TesseraError {
  return new TesseraError("limit", message, scope === "account" ? 429 : 503, true, { "Retry-After": String(retryAfterS) });
}

/** The `limit` error of a limit reached. */
export function limitReached(name: LimitName, scope: LimitScope, max: number): TesseraError {
  const what = name === "frames" ? `${max} pushed frames per second` : `${max} ${name}`;
  const message = scope === "account" ? `this account may have at most ${what} on this server` : `this server is at its limit of ${what}; try again later`;
  return limitError(scope, message, scope === "account" ? 10 : 5);
}

/** A counted resource in use; release gives it back (once, however often it is called). */
export interface Lease {
  release(): void;
}

/** A lease for what no limit counts (the server's own devices, a relay leg). */
export const NO_LEASE: Lease = { release() {} };

export interface LimitsOptions {
  node: LimitValues;
  account: LimitValues;
  /** Called once per refusal. */
  refused?: (name: LimitName, scope: LimitScope) => void;
}

export class Limits {
  private readonly used = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly o: LimitsOptions) {}

  /** Every limit off: for tests and tools that count nothing. */
  static none(): Limits {
    return new Limits({ node: ACCOUNT_LIMIT_DEFAULTS, account: ACCOUNT_LIMIT_DEFAULTS });
  }

  /** How many of `name` are in use on this node (or by one account). */
  inUse(name: CountedLimit, account?: string): number {
    return this.used.get(account === undefined ? name : `${name}\u0000${account}`) ?? 0;
  }

  /** Takes one `name` for `account`, or throws a `limit` error (nothing taken). */
  take(name: CountedLimit, account: string): Lease {
    const accountKey = `${name}\u0000${account}`;
    this.check(name, "account", this.o.account[name], this.used.get(accountKey) ?? 0);
    this.check(name, "node", this.o.node[name], this.used.get(name) ?? 0);
    this.add(accountKey, 1);
    this.add(name, 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.add(accountKey, -1);
        this.add(name, -1);
      },
    };
  }

  /** Spends one of `name`'s per-second allowance for `account` (bursts of a second's worth), or throws a `limit` error. */
  spend(name: "frames", account: string, now = performance.now()): void {
    const a = this.bucket(`${name}\u0000${account}`, this.o.account[name]);
    const n = this.bucket(name, this.o.node[name]);
    if (a && !a.take(now)) throw this.refuse(name, "account", this.o.account[name]);
    if (n && !n.take(now)) throw this.refuse(name, "node", this.o.node[name]);
  }

  private bucket(key: string, rate: number): TokenBucket | undefined {
    if (rate <= 0) return undefined;
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new TokenBucket(rate, rate)));
    return b;
  }

  private check(name: LimitName, scope: LimitScope, max: number, used: number): void {
    if (max > 0 && used >= max) throw this.refuse(name, scope, max);
  }

  private refuse(name: LimitName, scope: LimitScope, max: number): TesseraError {
    this.o.refused?.(name, scope);
    return limitReached(name, scope, max);
  }

  private add(key: string, n: number): void {
    const v = (this.used.get(key) ?? 0) + n;
    if (v > 0) this.used.set(key, v);
    else this.used.delete(key);
  }
}
