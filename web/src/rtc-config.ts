/** An RTCIceServer; declared here so this module also builds (and is unit-tested) outside a browser. */
export interface IceServerConfig {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What a new RTCPeerConnection is given. */
export interface PeerConfiguration {
  iceServers: IceServerConfig[];
  iceTransportPolicy: "all" | "relay";
}

type FetchConfig = (url: string) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

const pageAsksForRelay = () => new URLSearchParams((globalThis as { location?: { search: string } }).location?.search ?? "").get("relay") === "1";

/**
 * The ICE configuration every peer connection uses, kept fresh: seeded by
 * `welcome`, re-fetched from `GET /api/rtc-config` once half its `ttl` has
 * passed, so TURN credentials are never used near their expiry. `?relay=1`
 * in the page's URL forces relayed candidates only.
 */
export class RtcConfigSource {
  private iceServers: IceServerConfig[] = [];
  private fetchedAt = -Infinity;
  private ttlMs = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly relay = pageAsksForRelay(),
    private readonly now: () => number = () => performance.now(),
    private readonly fetchConfig: FetchConfig = (url) => fetch(url, { credentials: "same-origin" }),
  ) {}

  /** Takes the servers a `welcome` carried, valid for `ttlSeconds`. */
  seed(iceServers: IceServerConfig[], ttlSeconds: number): void {
    this.iceServers = iceServers;
    this.ttlMs = ttlSeconds * 1000;
    this.fetchedAt = this.now();
  }

  /** When the current servers should be replaced, as `now()` time. */
  get refreshAt(): number {
    return this.fetchedAt + this.ttlMs / 2;
  }

  /** The configuration for a new peer connection, refreshed first when due. */
  async get(): Promise<PeerConfiguration> {
    if (this.now() >= this.refreshAt) await this.refresh();
    return { iceServers: this.iceServers, iceTransportPolicy: this.relay ? "relay" : "all" };
  }

  /** Fetches /api/rtc-config; on failure the servers held so far stay in use. */
  refresh(): Promise<void> {
    this.pending ??= (async () => {
      try {
        const res = await this.fetchConfig(`/api/rtc-config${this.relay ? "?relay=1" : ""}`);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = (await res.json()) as { iceServers: IceServerConfig[]; ttl: number };
        this.seed(body.iceServers, body.ttl);
      } catch (err) {
        console.warn("tessera: could not refresh ICE servers; keeping the current ones", err);
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}
