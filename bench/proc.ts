/**
 * Reads what the benches need about a process and the machine from /proc
 * (Linux only): CPU time, resident memory, whole-machine busy time, and a
 * description of the hardware for the report.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { cpus } from "node:os";

/** Clock ticks per second that /proc/<pid>/stat counts in (`getconf CLK_TCK`, normally 100). */
export function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    if (Number.isFinite(n) && n > 0) return n;
  } catch {
    // getconf missing: fall through to Linux's usual value.
  }
  return 100;
}

/** User + system CPU time of one process (all its threads), seconds. */
export function processCpuSeconds(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: split after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Resident set size of one process, bytes (VmRSS). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Busy and total jiffies of the whole machine, summed over every core. */
export interface MachineTicks {
  busy: number;
  total: number;
}

/** Reads the aggregate `cpu` line of /proc/stat. */
export function machineTicks(): MachineTicks {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4]; // idle + iowait
  return { busy: total - idle, total };
}

/** Fraction of all cores busy between two readings, 0..1. */
export function machineBusy(a: MachineTicks, b: MachineTicks): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

/** The machine as a report names it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  kernel: string;
}

/** CPU model (from /proc/cpuinfo), core count, Node and kernel versions. */
export function machineInfo(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1].trim();
  } catch {
    // not Linux: keep os.cpus()'s answer.
  }
  let kernel = "unknown";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    // not Linux.
  }
  return { cpuModel, cores: cpus().length, node: process.version, kernel };
}

/**
 * Datagrams the kernel dropped on `pid`'s own UDP sockets because their
 * receive buffers were full (the `drops` column of /proc/<pid>/net/udp and
 * udp6, for the socket inodes among the process's file descriptors): a load
 * generator that reads this can tell its own overload from a server's loss.
 */
export function udpDrops(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  let drops = 0;
  for (const table of ["udp", "udp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 13 && inodes.has(f[9])) drops += Number(f[12]);
    }
  }
  return drops;
}

/** Pins every thread of `pid` to `core` (taskset -a); threads it starts later inherit it. */
export function pin(pid: number, core: number): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", String(core), String(pid)], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`taskset ${pid} to core ${core}: ${r.error?.message ?? r.stderr.trim()}`);
}
