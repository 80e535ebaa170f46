import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";

/** A private PulseAudio server with one null sink (no sound card needed), gone at close(). */
export interface TestPulse {
  /** `unix:<dir>/native`, for PULSE_SERVER. */
  server: string;
  /** The null sink's name; it is the default sink, and `<sink>.monitor` records what plays into it. */
  sink: string;
  /** Environment for clients of this server (the Tessera server, gst-launch). */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * Starts PulseAudio as a test's own server: its runtime, state and cookie in
 * a temporary directory, so servers of overlapping tests stay apart, and no
 * realtime priority. Resolves once it logs that start-up is complete.
 */
export async function startPulse(timeoutMs = 10_000): Promise<TestPulse> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-pulse-"));
  const sink = "tessera_test";
  const dirs = { HOME: dir, XDG_RUNTIME_DIR: dir, PULSE_RUNTIME_PATH: join(dir, "rt"), PULSE_STATE_PATH: join(dir, "state") };
  const child: ChildProcess = spawn(
    "pulseaudio",
    [
      "--daemonize=no",
      "--exit-idle-time=-1",
      "--disallow-exit",
      "-n",
      "--use-pid-file=no",
      "--high-priority=no",
      "--realtime=no",
      "--log-level=info",
      "--log-target=stderr",
      `--load=module-native-protocol-unix socket=${join(dir, "native")} auth-anonymous=1`,
      `--load=module-null-sink sink_name=${sink}`,
    ],
    { env: { ...process.env, ...dirs }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`PulseAudio did not start within ${timeoutMs} ms: ${log.slice(-500)}`)), timeoutMs);
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      log = (log + d).slice(-4000);
      if (log.includes("Daemon startup complete")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("error", (err) => fail(new Error(`PulseAudio could not start (${err.message}); install pulseaudio`)));
    child.once("exit", (code) => fail(new Error(`PulseAudio exited with ${code}: ${log.slice(-500)}`)));
  });
  const server = `unix:${join(dir, "native")}`;
  return {
    server,
    sink,
    env: { ...process.env, PULSE_SERVER: server, PULSE_COOKIE: join(dir, "cookie") },
    close: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}

/**
 * The loudest level (RMS, dBFS) on a PulseAudio source within `ms`: `gst-launch-1.0
 * pulsesrc ! level` for that long. -700 is digital silence.
 */
export function loudest(pulse: TestPulse, source: string, ms: number): Promise<number> {
  return new Promise((resolve) => {
    const buffers = Math.ceil(ms / 10);
    const child = spawn(
      "gst-launch-1.0",
      [
        "-m",
        "pulsesrc",
        `device=${source}`,
        `num-buffers=${buffers}`,
        "buffer-time=20000",
        "latency-time=10000",
        "!",
        "audioconvert",
        "!",
        "level",
        "interval=50000000",
        "!",
        "fakesink",
      ],
      { env: pulse.env, stdio: ["ignore", "pipe", "ignore"] },
    );
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), ms + 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      let max = -700;
      for (const m of out.matchAll(/rms=\(GValueArray\)< ([^>]*) >/g))
        for (const v of m[1].split(",").map(Number)) if (Number.isFinite(v)) max = Math.max(max, v);
      resolve(max);
    });
  });
}

/** A 440 Hz tone played on the test's sink until the process is killed (what "the desktop plays"). */
export function playTone(pulse: TestPulse): ChildProcess {
  return spawn("gst-launch-1.0", ["-q", "audiotestsrc", "is-live=true", "wave=sine", "freq=440", "volume=0.5", "!", "pulsesink", `device=${pulse.sink}`], {
    env: pulse.env,
    stdio: "ignore",
  });
}

/** In the page: whether the viewer's <video> stream has an audio track yet. */
export function viewerHasAudio(): boolean {
  type Video = { srcObject?: { getAudioTracks(): unknown[] } } | null;
  return (
    ((globalThis as unknown as { document: { querySelector(s: string): Video } }).document.querySelector("#video")?.srcObject?.getAudioTracks().length ?? 0) > 0
  );
}

/** Takes control in the viewer page and holds its push-to-talk button down; resolves with the function that lets go. */
export async function holdToTalk(viewer: Page): Promise<() => Promise<void>> {
  await viewer.click("#control-toggle");
  await viewer.waitForSelector('#player[data-control="self"]', { timeout: 5000 });
  const box = await viewer.locator("#talk").boundingBox();
  assert.ok(box);
  await viewer.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await viewer.mouse.down();
  await viewer.waitForSelector('#talk[data-state="talking"]', { timeout: 5000 });
  return () => viewer.mouse.up();
}
