/**
 * Join/leave churn against a server child process, and the census that
 * shows whether it gave everything back: RSS, peer connections, werift
 * listeners, pipelines, what the limits count in use, and Node's active
 * resources by type (UDP sockets, TCP sockets, timers, …). Shared by
 * `npm run bench:churn` (the full counts) and e2e/churn.test.ts (fewer).
 */
import { get } from "node:http";
import { FallbackClient } from "../e2e/lib/fallback-client.js";
import { waitFor } from "../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../e2e/lib/werift-peers.js";
import { processRssBytes } from "./proc.js";
import { parseMetrics, type Sample } from "./prom.js";
import type { ServerProcess } from "./server-process.js";

/** The kinds of churn, each one join and one leave per cycle. */
export type ChurnKind = "webrtc-viewer" | "fallback-viewer" | "device" | "whip";

/** What the server holds, as its /metrics and /proc say. */
export interface Census {
  rssBytes: number;
  /** V8 heap in use and memory held outside it for JS objects (Buffers), as the server last reported: is growth JS-held or not. */
  heapUsedBytes: number;
  externalBytes: number;
  /** Every count that must come back to its baseline, by name (`peers:subscriber`, `resources:UDPWRAP`, …). */
  counts: Record<string, number>;
}

const sum = (samples: readonly Sample[], name: string, label: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[s.labels[label] ?? ""] = (out[s.labels[label] ?? ""] ?? 0) + s.value;
  return out;
};

/** Reads the server's census. */
export async function census(server: ServerProcess): Promise<Census> {
  const samples = parseMetrics(await scrape(server.httpUrl));
  const counts: Record<string, number> = {};
  const add = (prefix: string, values: Record<string, number>) => {
    for (const [k, v] of Object.entries(values)) counts[`${prefix}:${k}`] = v;
  };
  add("peers", sum(samples, "tessera_peer_connections", "role"));
  add("listeners", sum(samples, "tessera_werift_listeners", "none"));
  add("pipelines", sum(samples, "tessera_pipelines_active", "kind"));
  add("in_use", sum(samples, "tessera_limit_in_use", "limit"));
  add("viewers", sum(samples, "tessera_viewers", "transport"));
  add("resources", sum(samples, "tessera_nodejs_active_resources", "type"));
  add("handles", sum(samples, "tessera_nodejs_active_handles", "type"));
  const one = (name: string) => samples.find((s) => s.name === name)?.value ?? 0;
  return {
    rssBytes: processRssBytes(server.pid),
    heapUsedBytes: one("tessera_nodejs_heap_size_used_bytes"),
    externalBytes: one("tessera_nodejs_external_memory_bytes"),
    counts,
  };
}

/** GET /metrics on a connection of its own that closes after the answer: the census must not count its own keep-alive socket. */
function scrape(httpUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(`${httpUrl}/metrics`, { agent: false, headers: { Connection: "close" }, timeout: 5000 }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c: string) => (text += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error("GET /metrics timed out")));
    req.on("error", reject);
  });
}

/** The counts of `now` above their `base` (a count absent from one is 0 there); fewer than at the baseline is no leak. */
export function differences(base: Census, now: Census): Record<string, { base: number; now: number }> {
  const out: Record<string, { base: number; now: number }> = {};
  for (const k of new Set([...Object.keys(base.counts), ...Object.keys(now.counts)])) {
    const a = base.counts[k] ?? 0;
    const b = now.counts[k] ?? 0;
    if (b > a) out[k] = { base: a, now: b };
  }
  return out;
}

/** How long one join may take before the cycle fails, ms. */
const JOIN_MS = 20_000;

/**
 * One join and leave of `kind` against the server's test device (`deviceId`
 * for viewers; devices and WHIP sessions publish under their own ids). A
 * join counts once media arrives (a viewer's first packet or stripe) or,
 * for a device, once its peer connection is up.
 */
export async function cycle(server: ServerProcess, kind: ChurnKind, i: number, deviceId = "test"): Promise<void> {
  switch (kind) {
    case "webrtc-viewer": {
      const viewer = await WeriftViewer.connect(server.wsUrl);
      try {
        viewer.watch(deviceId);
        await waitFor(() => (viewer.streams.get(deviceId)?.videoPackets ?? 0) > 0, JOIN_MS, `video at churn viewer ${i}`);
      } finally {
        await viewer.close();
      }
      return;
    }
    case "fallback-viewer": {
      const client = new FallbackClient(`${server.httpUrl.replace(/^http/, "ws")}/ws/stream/${deviceId}?codec=jpeg`);
      try {
        await waitFor(() => client.stripes.length > 0 || client.closeCode !== undefined, JOIN_MS, `stripes at churn fallback viewer ${i}`);
        if (client.stripes.length === 0) throw new Error(`churn fallback viewer ${i} closed with ${client.closeCode}`);
      } finally {
        client.close();
      }
      return;
    }
    case "device":
    case "whip": {
      const id = `churn-${kind}-${i % 4}`;
      const device = await WeriftDevice.publish(server.wsUrl, {
        id,
        source: { width: 320, height: 180 },
        ...(kind === "whip" ? { whip: `${server.httpUrl}/whip/${id}` } : {}),
      });
      await device.close();
      return;
    }
  }
}

/** Runs `n` cycles of `kind` one after another; returns the milliseconds each took. */
export async function churn(server: ServerProcess, kind: ChurnKind, n: number, onProgress?: (done: number) => void): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await cycle(server, kind, i);
    times.push(performance.now() - t0);
    onProgress?.(i + 1);
  }
  return times;
}

/** Waits until every count is back at `base` (or `timeoutMs` passes); returns the census then and what still differs. */
export async function settle(
  server: ServerProcess,
  base: Census,
  timeoutMs: number,
): Promise<{ census: Census; left: Record<string, { base: number; now: number }>; ms: number }> {
  const t0 = performance.now();
  for (;;) {
    const now = await census(server);
    const left = differences(base, now);
    if (Object.keys(left).length === 0 || performance.now() - t0 > timeoutMs) return { census: now, left, ms: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, 500));
  }
}
