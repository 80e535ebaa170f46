import { spawn, type ChildProcess } from "node:child_process";

/** A private X display for one test: Xvfb on a free display number, gone at close(). */
export interface TestDisplay {
  /** e.g. ":42" */
  display: string;
  width: number;
  height: number;
  /** Environment for X clients of this display (xsetroot, xclip, xev). */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * Starts Xvfb and resolves once it accepts clients: `-displayfd` makes Xvfb
 * pick a free display number and write it when it is ready, so nothing waits
 * on a guess or collides with another display on the machine.
 */
export async function startXvfb(options: { width?: number; height?: number; timeoutMs?: number } = {}): Promise<TestDisplay> {
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const child: ChildProcess = spawn(
    "Xvfb",
    ["-displayfd", "3", "-screen", "0", `${width}x${height}x24`, "-nolisten", "tcp", "-noreset", "+extension", "RANDR"],
    {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const number = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`Xvfb did not start within ${options.timeoutMs ?? 10_000} ms: ${stderr}`)), options.timeoutMs ?? 10_000);
    let out = "";
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(err);
    };
    fd3.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("error", (err) => fail(new Error(`Xvfb could not start (${err.message}); install xvfb`)));
    child.once("exit", (code) => fail(new Error(`Xvfb exited with ${code}: ${stderr}`)));
  });
  const display = `:${number}`;
  return {
    display,
    width,
    height,
    env: { ...process.env, DISPLAY: display },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
