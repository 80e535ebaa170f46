#!/usr/bin/env node
// Runs every test (unit, integration, e2e) from dist/ with node's test runner,
// one file at a time, and ends with a plain "N passed, N failed" line.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { setInterval, clearInterval } from "node:timers";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// TESSERA_TEST_DIST: another tree of built tests (the runner's own test uses it).
const dist = process.env.TESSERA_TEST_DIST ?? join(root, "dist");

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);

// The whole suite starts with lint (ESLint, then Prettier's check): a finding fails npm test.
if (filter.length === 0) {
  process.stdout.write("running lint: eslint . && prettier --check .\n");
  const bin = (name) => join(root, "node_modules", ".bin", name);
  for (const [cmd, args] of [
    [bin("eslint"), ["."]],
    [bin("prettier"), ["--check", "--log-level", "warn", "."]],
  ]) {
    const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
    if (r.status !== 0) {
      process.stdout.write(`lint failed (${relative(root, cmd)}); npx eslint --fix . and npx prettier --write . fix most of it\n0 passed, 1 failed\n`);
      process.exit(1);
    }
  }
}
const all = find(dist).sort();
// e2e last: unit tests fail fast and cheap.
const files = [...all.filter((f) => !f.includes("/e2e/")), ...all.filter((f) => f.includes("/e2e/"))].filter(
  (f) => filter.length === 0 || filter.some((x) => f.includes(x)),
);
process.stdout.write(`running ${files.length} test files: ${files.map((f) => relative(dist, f)).join(", ")}\n`);
const child = spawn(
  process.execPath,
  [
    "--test",
    "--test-concurrency=1",
    // werift leaves a 30 s ICE consent timer armed after close(); do not wait for it.
    "--test-force-exit",
    // ...and make that exit lose no result on its way to this process (see the file).
    "--import",
    pathToFileURL(join(root, "scripts", "test-child.mjs")).href,
    "--test-reporter=spec",
    ...files,
  ],
  {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "128" },
    // Its own process group, so a hung run can be stopped with everything it started.
    detached: true,
  },
);
// Every test reports within its own timeout (90 s at most), so a run silent for much
// longer is stuck (e.g. a file's process that never ends): stop it rather than wait
// for an outer limit, and fail.
const SILENCE_MS = Number(process.env.TESSERA_TEST_SILENCE_MS ?? 300_000);
let lastOutput = Date.now();
let hung = false;
const watchdog = setInterval(() => {
  if (Date.now() - lastOutput < SILENCE_MS) return;
  hung = true;
  process.stdout.write(`\nno test output for ${Math.round(SILENCE_MS / 1000)} s: the run is stuck; stopping it\n`);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}, 1000);
const stop = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
  process.exit(1);
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
// The spec reporter prints its "ℹ pass N" summary before repeating the failures, so the
// counts are read from every line as it goes by, not from the end of the output.
let partial = "";
let passed = 0;
let failed = 0;
let cancelled = 0;
child.stdout.on("data", (chunk) => {
  lastOutput = Date.now();
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split("\n");
  partial = lines.pop() ?? "";
  for (const line of lines) {
    const m = /^ℹ (pass|fail|cancelled) (\d+)$/.exec(line);
    if (m?.[1] === "pass") passed = Number(m[2]);
    else if (m?.[1] === "fail") failed = Number(m[2]);
    else if (m?.[1] === "cancelled") cancelled = Number(m[2]);
  }
});
const status = await new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
clearInterval(watchdog);
if (hung) failed++;
// A cancelled test (its suite's hook failed, or the file crashed) did not pass either.
failed += cancelled;
if (status !== 0 && failed === 0) failed = 1;
// Files to run and no result from any: something kept the tests from running at all.
if (files.length > 0 && passed + failed === 0) failed = 1;
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
