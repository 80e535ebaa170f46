import { z } from "zod";
import { invalidIceUri, type IceServerEntry } from "./ice-config.js";

/** What a TURN REST service answers (draft-uberti-behave-turn-rest). */
const responseSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  ttl: z.number().int().positive(),
  uris: z.array(z.string().refine((s) => invalidIceUri(s) === undefined, "not a stun:/turn: URI")).min(1),
});

/** The parts of `fetch` the source uses; injected by tests. */
export type Fetch = (url: string, init: { signal: AbortSignal }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export interface TurnRestSourceOptions {
  /** The service's URL; `service`, `username` and `key` are added to its query. */
  url: string;
  /** The API key the service expects in `key`. */
  key: string;
  fetch?: Fetch;
  /** Clock, ms. */
  now?: () => number;
  /** Give up on a request after this long, ms. */
  timeoutMs?: number;
  /** Told about every failed fetch; the source then serves what it still has. */
  onError?: (message: string) => void;
}

interface Entry {
  servers: IceServerEntry[];
  fetchedAt: number;
  expiresAt: number;
}

/**
 * After a failed fetch, nobody waits for the service for this long, ms:
 * requests get what is cached (maybe nothing) at once, so a hung service
 * costs one connection its timeout every so often, not every connection.
 */
export const WAIT_AFTER_FAILURE_MS = 10_000;

/** Accounts whose credentials are kept; the oldest goes first beyond this. */
const MAX_ACCOUNTS = 10_000;

/**
 * A remote TURN REST service (`GET url?service=turn&username=<account>&key=<key>`
 * answering `{username, password, ttl, uris}`). Credentials are cached per
 * account and refreshed in the background once half their lifetime is gone,
 * so clients always get ones with at least half their life left. When the
 * service fails, still-valid credentials are served; expired ones never are.
 */
export class TurnRestSource {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly fetch: Fetch;
  private readonly now: () => number;
  /** When the service last failed (ms), or -Infinity while it answers. */
  private failedAt = -Infinity;

  constructor(private readonly options: TurnRestSourceOptions) {
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.now = options.now ?? Date.now;
  }

  /** The account's servers, fetching them first when nothing valid is cached (unless the service failed lately: then none, at once). */
  async servers(account: string): Promise<IceServerEntry[]> {
    const entry = this.fresh(account);
    if (entry) return entry.servers;
    if (this.now() - this.failedAt < WAIT_AFTER_FAILURE_MS) return [];
    await this.refresh(account);
    return this.fresh(account)?.servers ?? [];
  }

  /** What is cached and still valid, without waiting; starts a refresh when due. */
  cached(account: string): IceServerEntry[] {
    const entry = this.fresh(account);
    if (!entry) void this.refresh(account);
    return entry?.servers ?? [];
  }

  /** Seconds the account's cached credentials remain valid (0 when none). */
  remainingSeconds(account: string): number {
    const entry = this.cache.get(account);
    return entry ? Math.max(0, Math.floor((entry.expiresAt - this.now()) / 1000)) : 0;
  }

  /** A valid entry, refreshed in the background when past half its life. */
  private fresh(account: string): Entry | undefined {
    const entry = this.cache.get(account);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.expiresAt) return undefined;
    if (now >= entry.fetchedAt + (entry.expiresAt - entry.fetchedAt) / 2) void this.refresh(account);
    return entry;
  }

  private refresh(account: string): Promise<void> {
    const pending = this.inflight.get(account);
    if (pending) return pending;
    const run = this.load(account)
      .then((loaded) => {
        this.failedAt = -Infinity;
        this.cache.delete(account);
        this.cache.set(account, loaded);
        if (this.cache.size > MAX_ACCOUNTS) this.cache.delete(this.cache.keys().next().value as string);
      })
      .catch((err: unknown) => {
        this.failedAt = this.now();
        this.options.onError?.(`TURN REST ${redact(this.options.url)}: ${(err as Error).message}`);
      })
      .finally(() => this.inflight.delete(account));
    this.inflight.set(account, run);
    return run;
  }

  private async load(account: string): Promise<Entry> {
    const url = new URL(this.options.url);
    url.searchParams.set("service", "turn");
    url.searchParams.set("username", account);
    url.searchParams.set("key", this.options.key);
    const started = this.now();
    const res = await this.fetch(url.toString(), { signal: AbortSignal.timeout(this.options.timeoutMs ?? 3000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const parsed = responseSchema.safeParse(await res.json());
    if (!parsed.success) throw new Error(`unexpected answer: ${parsed.error.issues[0].path.join(".")} ${parsed.error.issues[0].message}`);
    const { username, password, ttl, uris } = parsed.data;
    return {
      servers: [{ urls: uris, username, credential: password }],
      fetchedAt: started,
      expiresAt: started + ttl * 1000,
    };
  }
}

/** The URL without its query, for messages (the key never goes to logs). */
function redact(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
