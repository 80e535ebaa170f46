/**
 * Exiting a process that ran GStreamer pipelines, bounded in time.
 *
 * process.exit() joins every libuv threadpool thread. gstreamer-superficial's
 * pollBus() waits on the bus with no timeout, and a stopped pipeline flushes
 * its bus, so a poll that was already waiting when the pipeline stopped never
 * returns: exit then hangs for good (seen once in ~20 bench runs on a loaded
 * machine). A guard process watches a pipe from us; if we are still alive
 * `graceMs` after asking to exit, it kills us.
 */
import { spawn } from "node:child_process";

const GUARD = `
const pid = Number(process.argv[1]);
const timer = setTimeout(() => {
  process.stderr.write("bench: exit hung (a GStreamer bus poll holds a threadpool thread); killing pid " + pid + "\\n");
  try { process.kill(pid, "SIGKILL"); } catch {}
  process.exit(0);
}, Number(process.argv[2]));
process.stdin.on("end", () => { clearTimeout(timer); process.exit(0); });
process.stdin.on("error", () => {});
process.stdin.resume();
`;

/** Exits with `code`; if exit hangs, a guard process kills this one after `graceMs`. */
export function exitBounded(code: number, graceMs = 10_000): never {
  const guard = spawn(process.execPath, ["-e", GUARD, String(process.pid), String(graceMs)], {
    stdio: ["pipe", "ignore", "inherit"],
    detached: true,
  });
  guard.unref();
  // The pipe's write end closes when this process is gone: that is the guard's all-clear.
  return process.exit(code);
}
