/**
 * Input round trip: a werift viewer holding control sends pointer lines on
 * its `input` data channel; the server validates and forwards them to a
 * werift device. Measures viewer send → device receive on loopback.
 *
 *   npm run bench:input -- --count 2000 --rate 200
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { WeriftDevice, WeriftViewer } from "../e2e/lib/werift-peers.js";
import { waitFor } from "../e2e/lib/signaling-client.js";
import { benchOptions } from "./args.js";
import { exitBounded } from "./exit.js";
import { machineInfo } from "./proc.js";
import { ServerProcess } from "./server-process.js";

const { values, count, rate } = benchOptions("bench:input", "[--count 2000] [--rate 200] [--json]", () => {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "2000" },
      rate: { type: "string", default: "200" },
      json: { type: "boolean", default: false },
    },
  });
  const count = Number(values.count);
  const rate = Number(values.rate);
  if (!Number.isInteger(count) || count < 10 || count > 100_000) throw new Error("--count: expected 10-100000");
  if (!(rate > 0 && rate <= 450)) throw new Error("--rate: expected 1-450 lines/s (the server's default ceiling is 500)");
  return { values, count, rate };
});

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function main(): Promise<void> {
  const server = await ServerProcess.start(["--port", "0", "--source", "none", "--ice-host", "127.0.0.1", "--log-level", "info"], {
    ...process.env,
    UV_THREADPOOL_SIZE: "16",
  });
  let device: WeriftDevice | undefined;
  let viewer: WeriftViewer | undefined;
  try {
    // A small picture: the encoder should not compete with the path being measured.
    device = await WeriftDevice.publish(server.wsUrl, { id: "bench-input", dataChannel: true, source: { width: 320, height: 180, bitrateKbps: 200 } });
    await device.sendMessage({ type: "resolution", width: 1280, height: 720 });
    const received = new Map<number, number>();
    const input = device.input!;
    input.onMessage.subscribe((data) => {
      const at = performance.now();
      const m = /^m,(\d+),(\d+),0,0$/.exec(data.toString());
      if (m) received.set(Number(m[2]) * 1280 + Number(m[1]), at);
    });
    viewer = await WeriftViewer.connect(server.wsUrl);
    viewer.watch("bench-input");
    const stream = await waitFor(() => viewer!.streams.get("bench-input"), 10_000, "offer");
    const channel = await waitFor(() => (stream.input?.readyState === "open" ? stream.input : undefined), 10_000, "input channel");
    viewer.signaling.send({ type: "control", action: "request", deviceId: "bench-input" });
    const me = (await viewer.signaling.next("welcome")).peerId;
    await viewer.signaling.next("control", (m) => m.holder === me, 5000);

    // Warm up the path, then measure.
    channel.send("m,0,0,0,0");
    await waitFor(() => received.has(0), 5000, "first line");
    received.clear();
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const sentAt = new Map<number, number>();
    const interval = 1000 / rate;
    const start = performance.now();
    for (let i = 1; i <= count; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(i, performance.now());
      channel.send(`m,${i % 1280},${Math.floor(i / 1280) % 720},0,0`);
    }
    await waitFor(() => received.size >= count || performance.now() - start > count * interval + 5000, count * interval + 10_000, "lines");
    loopDelay.disable();
    const latencies: number[] = [];
    for (const [i, t] of sentAt) {
      const r = received.get(i);
      if (r !== undefined) latencies.push(r - t);
    }
    latencies.sort((a, b) => a - b);
    const m = machineInfo();
    const result = {
      date: new Date().toISOString(),
      machine: `${m.cpuModel}, ${m.cores} cores, Node ${m.node}`,
      sent: count,
      received: latencies.length,
      rate,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      max_ms: latencies[latencies.length - 1],
      bench_loop_delay_p99_ms: loopDelay.percentile(99) / 1e6,
    };
    process.stdout.write(
      `input round trip (viewer send -> device receive), loopback, werift data channels on both hops\n` +
        `machine   ${result.machine}\n` +
        `date      ${result.date}\n` +
        `lines     ${result.received}/${result.sent} at ${rate}/s\n` +
        `p50       ${result.p50_ms.toFixed(2)} ms\n` +
        `p99       ${result.p99_ms.toFixed(2)} ms\n` +
        `max       ${result.max_ms.toFixed(2)} ms\n` +
        `(the bench process's own event-loop delay, p99: ${result.bench_loop_delay_p99_ms.toFixed(2)} ms)\n`,
    );
    if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await viewer?.close().catch(() => {});
    await device?.close().catch(() => {});
    await server.stop();
  }
}

main().then(
  () => exitBounded(0),
  (err: unknown) => {
    process.stderr.write(`bench:input: ${(err as Error).stack ?? String(err)}\n`);
    exitBounded(1);
  },
);
