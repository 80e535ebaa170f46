/**
 * `npm run bench`: every bench in turn, each in its own process with its
 * default settings (or `npm run bench -- fanout cluster` for some), its
 * table printed as it runs and its result written to
 * `bench/results/<bench>.json` (the JSON report where the bench gives one,
 * its printed output otherwise), with the date, the machine and the
 * command to run it again. A summary says which ran, how long, and which
 * failed; the exit code is 1 when any did.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineInfo } from "./proc.js";

const HERE = dirname(fileURLToPath(import.meta.url));
/** bench/results in the checkout (dist/bench is two levels below it). */
const RESULTS = join(HERE, "../../bench/results");

/** Each bench: whether it prints a JSON report with --json. */
const BENCHES: Readonly<Record<string, { json: boolean }>> = {
  fanout: { json: true },
  floor: { json: true },
  fallback: { json: true },
  input: { json: true },
  join: { json: true },
  latency: { json: true },
  cluster: { json: true },
  churn: { json: true },
  "versus-janus": { json: true },
  host: { json: false },
  network: { json: false },
  bottleneck: { json: true },
};

interface Outcome {
  bench: string;
  ok: boolean;
  seconds: number;
}

/** Runs one bench, echoing its output, and writes its result file. */
function runOne(bench: string): Promise<Outcome> {
  const { json } = BENCHES[bench];
  const args = [join(HERE, `${bench}.js`), ...(json ? ["--json"] : [])];
  const started = performance.now();
  process.stdout.write(`\n=== bench:${bench} ===\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "128" },
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      // The JSON report is for the file, not the screen.
      process.stdout.write(
        chunk
          .split("\n")
          .filter((l) => !l.startsWith("{"))
          .join("\n"),
      );
    });
    child.on("close", (code) => {
      const seconds = (performance.now() - started) / 1000;
      const ok = code === 0;
      const lines = out.trim().split("\n");
      const reportLine = json ? lines.reverse().find((l) => l.startsWith("{")) : undefined;
      let report: unknown;
      try {
        report = reportLine ? JSON.parse(reportLine) : undefined;
      } catch {
        report = undefined;
      }
      const result = {
        bench,
        ok,
        date: new Date().toISOString(),
        machine: machineInfo(),
        command: `npm run bench:${bench}`,
        seconds,
        ...(report !== undefined ? { report } : { output: out.split("\n").filter((l) => !l.startsWith("{")) }),
      };
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, `${bench}.json`), JSON.stringify(result, null, 2) + "\n");
      resolve({ bench, ok, seconds });
    });
  });
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((b) => !(b in BENCHES));
  if (unknown.length > 0) {
    process.stderr.write(`npm run bench: no bench named ${unknown.join(", ")} (there are ${Object.keys(BENCHES).join(", ")})\n`);
    process.exit(2);
  }
  const outcomes: Outcome[] = [];
  for (const bench of asked.length > 0 ? asked : Object.keys(BENCHES)) outcomes.push(await runOne(bench));
  process.stdout.write("\n| bench | result | seconds |\n|---|---|---|\n");
  for (const o of outcomes) process.stdout.write(`| ${o.bench} | ${o.ok ? "ok" : "FAILED"} | ${o.seconds.toFixed(0)} |\n`);
  process.stdout.write(`results: ${RESULTS}/<bench>.json\n`);
  process.exitCode = outcomes.every((o) => o.ok) ? 0 : 1;
}

void main();
