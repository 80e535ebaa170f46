/**
 * A real redis-server (Debian's package) on a free loopback port, for the
 * cluster tests: no persistence, nothing outside the test, stopped (and
 * startable again on the same port, for Redis outages) by the test.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort, listening } from "./ports.js";
import { waitForAsync } from "./signaling-client.js";

const REDIS_SERVER = "/usr/bin/redis-server";

export class RedisServer {
  private child: ChildProcess | undefined;
  private readonly killOnExit = () => this.child?.kill("SIGKILL");

  private constructor(readonly port: number) {
    process.on("exit", this.killOnExit);
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a Redis server and waits until it accepts connections. */
  static async start(): Promise<RedisServer> {
    assert.ok(existsSync(REDIS_SERVER), `${REDIS_SERVER} is missing: install Debian's redis-server (npm test's bootstrap does)`);
    const server = new RedisServer(await freePort());
    await server.run();
    return server;
  }

  /** (Re)starts the server on its port. */
  async run(): Promise<void> {
    assert.equal(this.child, undefined, "redis-server is running already");
    const child = spawn(REDIS_SERVER, ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], {
      stdio: "ignore",
    });
    this.child = child;
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    await waitForAsync(() => listening(this.port), 10_000, `redis-server listening on ${this.port}`);
  }

  /** Stops the server (SIGKILL: Redis going away) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }

  /** Pauses the server (SIGSTOP): its connections stay open and nothing is answered, as from a Redis stalled or cut off without a reset. */
  pause(): void {
    assert.ok(this.child?.kill("SIGSTOP"), "redis-server is running");
  }

  /** Lets a paused server go on (SIGCONT). */
  resume(): void {
    assert.ok(this.child?.kill("SIGCONT"), "redis-server is running");
  }

  /** Stops it for good. */
  async close(): Promise<void> {
    await this.stop();
    process.off("exit", this.killOnExit);
  }
}
