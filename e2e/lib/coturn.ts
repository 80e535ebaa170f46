/**
 * A real coturn, as TURN tests need it: REST credentials (use-auth-secret).
 * On loopback by default (UDP and TCP, no TLS); inside a network namespace
 * of the test's own it can also listen for TLS with a certificate the test
 * made.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort, listening } from "./ports.js";
import { waitForAsync } from "./signaling-client.js";

const TURNSERVER = "/usr/bin/turnserver";

/** A running coturn; `uri` is its UDP TURN URI, `tcpUri` the same port over TCP, `tlsUri` its TLS port when it has one. */
export interface Coturn {
  port: number;
  uri: string;
  tcpUri: string;
  tlsUri: string | undefined;
  stop(): void;
}

export interface CoturnOptions {
  /** Runs it inside a namespace (`ip netns exec NS`); readiness is then read from its log, not probed. */
  wrap?: readonly string[];
  /** The address it listens and relays on (127.0.0.1). */
  address?: string;
  /** PEM files for TLS on `port + 1` (`turns:`); without them, no TLS. */
  tls?: { cert: string; key: string };
}

/** Starts coturn with `secret` as its static-auth-secret and waits until it listens. */
export async function startCoturn(secret: string, { wrap = [], address = "127.0.0.1", tls }: CoturnOptions = {}): Promise<Coturn> {
  assert.ok(existsSync(TURNSERVER), `${TURNSERVER} is missing: install Debian's coturn (npm test's bootstrap does)`);
  // In a namespace of the test's own every port is free; on loopback ask the system.
  const port = wrap.length > 0 ? 3478 : await freePort();
  const tlsPort = port + 1;
  const args = [
    "-n",
    "-v", // prints the "listener opened" lines readiness is read from
    `--listening-ip=${address}`,
    `--relay-ip=${address}`,
    `--listening-port=${port}`,
    "--use-auth-secret",
    `--static-auth-secret=${secret}`,
    "--realm=tessera.test",
    "--no-dtls",
    "--allow-loopback-peers",
    "--no-cli",
    "--log-file=stdout",
    `--min-port=${port + 2}`,
    `--max-port=${port + 200}`,
    ...(tls ? [`--tls-listening-port=${tlsPort}`, `--cert=${tls.cert}`, `--pkey=${tls.key}`] : ["--no-tls"]),
  ];
  const command = [...wrap, TURNSERVER, ...args];
  const child: ChildProcess = spawn(command[0], command.slice(1), { stdio: ["ignore", "pipe", "ignore"] });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let log = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    log = (log + chunk).slice(-20_000);
  });
  const opened = (kind: string, p: number) => new RegExp(`${kind} listener opened on ?: ${address.replace(/\./g, "\\.")}:${p}\\b`).test(log);
  try {
    await waitForAsync(
      async () => (wrap.length > 0 ? opened("UDP", port) && opened("TLS/TCP", port) && (!tls || opened("TLS/TCP", tlsPort)) : listening(port)),
      10_000,
      "coturn listening",
    );
  } catch (err) {
    child.kill("SIGKILL");
    process.off("exit", killOnExit);
    throw new Error(`${(err as Error).message}\n${log.slice(-2000)}`, { cause: err });
  }
  return {
    port,
    uri: `turn:${address}:${port}?transport=udp`,
    tcpUri: `turn:${address}:${port}?transport=tcp`,
    tlsUri: tls ? `turns:${address}:${tlsPort}?transport=tcp` : undefined,
    stop() {
      process.off("exit", killOnExit);
      child.kill("SIGKILL");
    },
  };
}
