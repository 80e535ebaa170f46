/** A real Prometheus on loopback scraping Tessera every second, and promtool, as metrics tests need them. */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { waitForAsync } from "./signaling-client.js";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";

/** One scrape job: `target` is `host:port`; `token` goes out as `Authorization: Bearer <token>`. */
export interface ScrapeJob {
  name: string;
  target: string;
  token?: string;
}

/** One sample of an instant query's vector result. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** A running Prometheus. */
export interface Prometheus {
  url: string;
  /** Runs an instant query; a non-vector result or an API error throws. */
  query(promql: string): Promise<Sample[]>;
  /** Kills the process and removes its configuration and storage. */
  stop(): Promise<void>;
}

/** Prometheus's configuration for `jobs`, scraping every second. JSON is YAML, so no YAML writer is needed. */
function configFor(jobs: ScrapeJob[]): string {
  return JSON.stringify({
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    scrape_configs: jobs.map((j) => ({
      job_name: j.name,
      metrics_path: "/metrics",
      static_configs: [{ targets: [j.target] }],
      ...(j.token === undefined ? {} : { authorization: { type: "Bearer", credentials: j.token } }),
    })),
  });
}

/** Starts Prometheus on a free 127.0.0.1 port with its own temporary storage, and waits until /-/ready answers 200. */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<Prometheus> {
  assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} is missing: install Debian's prometheus (npm test's bootstrap does)`);
  const dir = mkdtempSync(join(tmpdir(), "tessera-prometheus-"));
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, configFor(jobs));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  // The last of its log, for a failure message.
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (running) child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForAsync(
      async () => {
        if (!running) throw new Error(`prometheus exited before it was ready:\n${log}`);
        return fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        );
      },
      15_000,
      "prometheus ready",
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== "success" || !body.data) throw new Error(`query ${promql}: ${body.error ?? res.status}`);
      if (body.data.resultType !== "vector") throw new Error(`query ${promql}: expected a vector, got ${body.data.resultType}`);
      return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    },
    stop,
  };
}

/** What `promtool check metrics` said about a text exposition: its exit status and everything it printed. */
export async function promtoolCheckMetrics(exposition: string): Promise<{ status: number; output: string }> {
  assert.ok(existsSync(PROMTOOL), `${PROMTOOL} is missing: install Debian's prometheus`);
  const child = spawn(PROMTOOL, ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const status = new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
  child.stdin.end(exposition);
  return { status: await status, output };
}
