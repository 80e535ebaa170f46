import { cpus } from "node:os";
import { Gauge, type Registry } from "prom-client";
import si from "systeminformation";

/** How often CPU and memory are read, ms. */
const HOST_INTERVAL_MS = 5000;
/** How often GPUs are read (systeminformation runs nvidia-smi for that), ms. */
const GPU_INTERVAL_MS = 15_000;

/** CPU time of every core since boot, ms: busy (all but idle) and in all. */
export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * The host's CPU times, from os.cpus(): Node reads /proc/stat itself, where
 * systeminformation's currentLoad() runs a shell synchronously (execSync),
 * which held the event loop 10 ms on an idle machine and about 80 ms on a
 * loaded one, every sample.
 */
export function cpuTimes(list: ReturnType<typeof cpus> = cpus()): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of list) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += all - times.idle;
    total += all;
  }
  return { busy, total };
}

/** The share of CPU time spent busy between two readings, 0-1; undefined when no time passed. */
export function loadBetween(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return Math.min(1, Math.max(0, (after.busy - before.busy) / total));
}

/**
 * Host figures, read on timers in the background so a scrape never waits
 * on them: CPU load (os.cpus), memory, and GPU utilisation and memory where
 * a GPU reports them (systeminformation; no GPU, no GPU series).
 */
export class SystemSampler {
  private readonly cpu: Gauge;
  private readonly memUsed: Gauge;
  private readonly memTotal: Gauge;
  private readonly gpuUtil: Gauge<"gpu">;
  private readonly gpuMem: Gauge<"gpu">;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** The CPU times at the last sample; zero at first, so the first sample is the load since boot. */
  private lastCpu: CpuTimes = { busy: 0, total: 0 };

  /** Told about failed reads; sampling goes on. */
  onError: (err: unknown) => void = () => {};

  constructor(registry: Registry) {
    const registers = [registry];
    this.cpu = new Gauge({ name: "tessera_system_cpu_load_ratio", help: "Host CPU load over the last sample, 0-1", registers });
    this.memUsed = new Gauge({ name: "tessera_system_memory_used_bytes", help: "Host memory in use (without caches and buffers)", registers });
    this.memTotal = new Gauge({ name: "tessera_system_memory_total_bytes", help: "Host memory installed", registers });
    this.gpuUtil = new Gauge({ name: "tessera_system_gpu_utilization_ratio", help: "GPU utilisation, 0-1, by GPU index", labelNames: ["gpu"], registers });
    this.gpuMem = new Gauge({ name: "tessera_system_gpu_memory_used_bytes", help: "GPU memory in use, by GPU index", labelNames: ["gpu"], registers });
  }

  /** Takes a first sample now and keeps sampling until stop(). */
  start(): void {
    this.every(HOST_INTERVAL_MS, () => this.sampleHost());
    // Look for GPUs once; keep reading them only when one reports utilisation.
    void this.sampleGpus().then((found) => {
      if (found && !this.stopped) this.every(GPU_INTERVAL_MS, () => this.sampleGpus().then(() => undefined));
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Reads CPU load and memory now. */
  async sampleHost(): Promise<void> {
    const now = cpuTimes();
    const load = loadBetween(this.lastCpu, now);
    this.lastCpu = now;
    if (load !== undefined) this.cpu.set(load);
    try {
      const mem = await si.mem();
      if (this.stopped) return;
      this.memUsed.set(mem.active);
      this.memTotal.set(mem.total);
    } catch (err) {
      this.onError(err);
    }
  }

  /** Reads every GPU that reports utilisation; resolves whether one did. */
  private async sampleGpus(): Promise<boolean> {
    try {
      const { controllers } = await si.graphics();
      let found = false;
      controllers.forEach((c, i) => {
        if (this.stopped || c.utilizationGpu === undefined) return;
        found = true;
        this.gpuUtil.set({ gpu: String(i) }, c.utilizationGpu / 100);
        if (c.memoryUsed !== undefined) this.gpuMem.set({ gpu: String(i) }, c.memoryUsed * 1024 * 1024);
      });
      return found;
    } catch (err) {
      this.onError(err);
      return false;
    }
  }

  private every(ms: number, run: () => Promise<void>): void {
    void run();
    const timer = setInterval(() => void run(), ms);
    timer.unref();
    this.timers.push(timer);
  }
}
