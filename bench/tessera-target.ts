/**
 * Tessera as a fan-out bench's server: its own process, one werift device
 * publishing the bench's stream, headers-only werift viewers.
 */
import { WeriftDevice, WeriftViewer } from "../e2e/lib/werift-peers.js";
import type { TestSourceOptions } from "../pipelines/descriptions.js";
import type { FanoutServer, FanoutViewer } from "./fanout-steps.js";
import { parseMetrics, type Sample } from "./prom.js";
import { bounded } from "./run.js";
import { ServerProcess } from "./server-process.js";

const DEVICE_ID = "bench";

/** Where the server and its peers live. */
export interface TesseraTargetOptions {
  codec: "vp8" | "h264";
  source: Partial<TestSourceOptions>;
  /**
   * The address the server listens and gathers ICE on (default 127.0.0.1). Any
   * other is in a network namespace of the bench's own, where the server runs
   * with --insecure-no-auth.
   */
  serverHost?: string;
  peerHost?: string;
  /** The device loops this many seconds of its encoder's output (WeriftDevice's replaySeconds) instead of encoding throughout. */
  replaySeconds?: number;
  /** Runs the server under this prefix (e.g. `taskset -c 0`); it must exec, so the pid stays the server's. */
  wrap?: readonly string[];
}

/** Starts the server and its device; resolves once the device's connection is up. */
export async function startTessera(opts: TesseraTargetOptions): Promise<FanoutServer & { readonly server: ServerProcess; readonly device: WeriftDevice }> {
  const host = opts.serverHost ?? "127.0.0.1";
  const server = await ServerProcess.start(
    ["--port", "0", "--host", host, "--source", "none", "--ice-host", host, "--log-level", "info", ...(host === "127.0.0.1" ? [] : ["--insecure-no-auth"])],
    { ...process.env, UV_THREADPOOL_SIZE: "64" },
    { wrap: opts.wrap },
  );
  let device: WeriftDevice;
  try {
    device = await WeriftDevice.publish(server.wsUrl, {
      id: DEVICE_ID,
      name: "Fan-out bench",
      codec: opts.codec,
      source: opts.source,
      iceHost: opts.peerHost,
      replaySeconds: opts.replaySeconds,
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    label: "Tessera",
    server,
    device,
    pid: server.pid,
    running: () => server.running,
    published: () => ({ packets: device.packetsSent + device.audioPacketsSent, video: device.packetsSent, keyframeRequests: device.plis }),
    async connectViewer(): Promise<FanoutViewer> {
      const v = await WeriftViewer.connect(server.wsUrl, { headersOnly: true, iceHost: opts.peerHost });
      v.watch(DEVICE_ID);
      // The stream appears with the server's offer: wait for it (the step runner waits for its packets).
      for (const deadline = Date.now() + 10_000; !v.streams.has(DEVICE_ID); await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() > deadline) {
          await v.close();
          throw new Error("Tessera sent a viewer no offer within 10 s");
        }
      }
      return { stream: v.streams.get(DEVICE_ID)!, close: () => v.close() };
    },
    metrics: async (): Promise<Sample[]> => parseMetrics(await server.metricsText()),
    async close(): Promise<void> {
      await bounded("closing the device", 3000, () => device.close());
      await bounded("stopping the server", 8000, () => server.stop());
    },
  };
}
