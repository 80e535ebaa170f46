/**
 * Figures read when Prometheus scrapes rather than pushed as they change:
 * whoever owns the figure hands Metrics a function for it (collectFrom).
 */
import { Gauge, type Registry } from "prom-client";

export interface MetricsCollectors {
  /** Devices publishing now, over all accounts. */
  devicesOnline(): number;
  /** GStreamer pipelines running in this process, by kind. */
  pipelines(): ReadonlyMap<string, number>;
  /** Open WHIP and WHEP sessions. */
  wishSessions(): { whip: number; whep: number };
  /** With `--redis`: relay legs open from this node, and live nodes in the cluster (this one included). */
  cluster(): { legs: number; nodes: number };
  /** What each limit (--limit) counts in use on this node, by limit name. */
  limitsInUse(): ReadonlyMap<string, number>;
  /** WebRTC peer connections open in this process by role, and werift event subscriptions held. */
  rtc(): { peers: ReadonlyMap<string, number>; listeners: number };
}

export const NO_COLLECTORS: MetricsCollectors = {
  devicesOnline: () => 0,
  pipelines: () => new Map(),
  wishSessions: () => ({ whip: 0, whep: 0 }),
  cluster: () => ({ legs: 0, nodes: 0 }),
  limitsInUse: () => new Map(),
  rtc: () => ({ peers: new Map(), listeners: 0 }),
};

/** A gauge set from `read` at each scrape, one series per label value (reset first, so gone ones vanish). */
function byLabel(r: Registry, name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): void {
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [r],
    collect() {
      this.reset();
      for (const [value, n] of read()) this.set({ [label]: value }, n);
    },
  });
}

/** A gauge without labels set from `read` at each scrape. */
function single(r: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [r],
    collect() {
      this.set(read());
    },
  });
}

/** Registers every scrape-time gauge on `r`, reading through `collectors` (which may be replaced later). */
export function registerCollectedGauges(r: Registry, collectors: () => MetricsCollectors): void {
  single(r, "tessera_devices_online", "Devices currently publishing", () => collectors().devicesOnline());
  byLabel(r, "tessera_pipelines_active", "GStreamer pipelines running in this process, by kind", "kind", () => collectors().pipelines());
  byLabel(r, "tessera_wish_sessions", "Open WHIP and WHEP sessions", "protocol", () => {
    const n = collectors().wishSessions();
    return [
      ["whip", n.whip],
      ["whep", n.whep],
    ];
  });
  single(
    r,
    "tessera_cluster_legs_open",
    "Relay legs this node has open to the nodes that hold the devices its viewers watch (with --redis)",
    () => collectors().cluster().legs,
  );
  single(
    r,
    "tessera_cluster_nodes",
    "Live nodes in the cluster as this node last read them, itself included (with --redis; 0 alone)",
    () => collectors().cluster().nodes,
  );
  byLabel(
    r,
    "tessera_peer_connections",
    "WebRTC peer connections open in this process, by role (publisher, subscriber, whep)",
    "role",
    () => collectors().rtc().peers,
  );
  single(r, "tessera_werift_listeners", "werift event subscriptions the server holds (peers, tracks, channels)", () => collectors().rtc().listeners);
  byLabel(r, "tessera_limit_in_use", "What each limit (--limit) counts in use on this node, by limit", "limit", () => collectors().limitsInUse());
}
