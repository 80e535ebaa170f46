#!/usr/bin/env node
// Runs every test (unit, integration, e2e) from dist/ with node's test runner,
// one file at a time, and ends with a plain "N passed, N failed" line.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
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
    "--test-reporter=spec",
    ...files,
  ],
  { cwd: root, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "128" } },
);
let tail = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
const status = await new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
const passed = Number(/^ℹ pass (\d+)$/m.exec(tail)?.[1] ?? 0);
let failed = Number(/^ℹ fail (\d+)$/m.exec(tail)?.[1] ?? 0);
if (status !== 0 && failed === 0) failed = 1;
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
