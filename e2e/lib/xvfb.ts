import { spawn, type ChildProcess } from "node:child_process";

/** A private X display for one test: Xvfb (or Xvnc) on a free display number, gone at close(). */
export interface TestDisplay {
  /** e.g. ":42" */
  display: string;
  width: number;
  height: number;
  /** Environment for X clients of this display (xsetroot, xclip, xev). */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** The X servers a test can start: Xvfb's screen can only shrink below its starting size; TigerVNC's Xvnc's can grow too (RandR). */
export type TestServer = "Xvfb" | "Xvnc";

const PACKAGES: Record<TestServer, string> = { Xvfb: "xvfb", Xvnc: "tigervnc-standalone-server" };

function serverArgs(server: TestServer, width: number, height: number, randr: boolean): string[] {
  if (server === "Xvnc")
    // No VNC port (-rfbport -1) and no authentication: nothing but local X clients reach it.
    return ["-displayfd", "3", "-geometry", `${width}x${height}`, "-depth", "24", "-SecurityTypes", "None", "-rfbport", "-1", "-nolisten", "tcp", "-noreset"];
  return ["-displayfd", "3", "-screen", "0", `${width}x${height}x24`, "-nolisten", "tcp", "-noreset", randr ? "+extension" : "-extension", "RANDR"];
}

/**
 * Starts Xvfb (or, with `server: "Xvnc"`, TigerVNC's Xvnc) and resolves once
 * it accepts clients: `-displayfd` makes the server pick a free display number
 * and write it when it is ready, so nothing waits on a guess or collides with
 * another display on the machine.
 */
export async function startXvfb(
  options: { width?: number; height?: number; timeoutMs?: number; server?: TestServer; /** Xvfb only: false starts it without RandR. */ randr?: boolean } = {},
): Promise<TestDisplay> {
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const server = options.server ?? "Xvfb";
  const child: ChildProcess = spawn(server, serverArgs(server, width, height, options.randr ?? true), {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const number = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${server} did not start within ${options.timeoutMs ?? 10_000} ms: ${stderr}`)), options.timeoutMs ?? 10_000);
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
    child.once("error", (err) => fail(new Error(`${server} could not start (${err.message}); install ${PACKAGES[server]}`)));
    child.once("exit", (code) => fail(new Error(`${server} exited with ${code}: ${stderr}`)));
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
