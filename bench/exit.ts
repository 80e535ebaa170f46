/**
 * Exiting a process that ran GStreamer pipelines, bounded in time.
 *
 * process.exit() joins every libuv threadpool thread. gstreamer-superficial's
 * pollBus() and appsink pull waited with no timeout, so a quiet pipeline's
 * poll never returned and exit hung for good (seen once in ~20 bench runs on
 * a loaded machine). scripts/addon-fixes.mjs bounds both waits to 250 ms;
 * should an upstream release change those lines (the fix is then reported
 * and not applied), a guard process still watches a pipe from us, and if we
 * are alive `graceMs` after asking to exit, it kills us.
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
