/** A real coturn on loopback, as TURN tests need it: REST credentials (use-auth-secret), no TLS. */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort, listening } from "./ports.js";
import { waitForAsync } from "./signaling-client.js";

const TURNSERVER = "/usr/bin/turnserver";

/** A running coturn; `uri` is its UDP TURN URI. */
export interface Coturn {
  port: number;
  uri: string;
  stop(): void;
}

/** Starts coturn on 127.0.0.1 with `secret` as its static-auth-secret and waits until it listens. */
export async function startCoturn(secret: string): Promise<Coturn> {
  assert.ok(existsSync(TURNSERVER), `${TURNSERVER} is missing: install Debian's coturn (npm test's bootstrap does)`);
  const port = await freePort();
  const child: ChildProcess = spawn(
    TURNSERVER,
    [
      "-n",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      "--realm=tessera.test",
      "--no-tls",
      "--no-dtls",
      "--allow-loopback-peers",
      "--no-cli",
      "--log-file=stdout",
      `--min-port=${port + 1}`,
      `--max-port=${port + 200}`,
    ],
    { stdio: "ignore" },
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  await waitForAsync(() => listening(port), 10_000, "coturn listening");
  return {
    port,
    uri: `turn:127.0.0.1:${port}?transport=udp`,
    stop() {
      process.off("exit", killOnExit);
      child.kill("SIGKILL");
    },
  };
}
