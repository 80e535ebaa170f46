/**
 * scripts/test.mjs, the runner behind `npm test`: a run that goes silent
 * (a test file's process that never ends) is stopped with everything it
 * started, and fails, instead of running into CI's outer limit.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tessera-runner-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the runner over `dir` with `files` (name → source) and a silence limit; returns its output, status and time taken. */
async function run(files: Record<string, string>, silenceMs: number): Promise<{ out: string; code: number | null; ms: number }> {
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  const started = Date.now();
  const child = spawn(process.execPath, [join(ROOT, "scripts/test.mjs"), ...Object.keys(files)], {
    cwd: ROOT,
    // Without this test's NODE_TEST_CONTEXT: the runner's node --test would take itself for a nested run and run nothing.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, TESSERA_TEST_DIST: dir, TESSERA_TEST_SILENCE_MS: String(silenceMs) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const [code] = (await once(child, "exit")) as [number | null];
    return { out, code, ms: Date.now() - started };
  } finally {
    clearTimeout(killer);
  }
}

test("a run silent for longer than its limit is stopped with its processes and fails; a quiet test under the limit is not", { timeout: 90_000 }, async () => {
  const pidFile = join(dir, "pid");
  // A test that never settles, with a timer holding its process, and a grandchild of its own.
  const hung = `
    import { test } from "node:test";
    import { spawn } from "node:child_process";
    import { writeFileSync } from "node:fs";
    test("never ends", () => new Promise(() => {
      const sleeper = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      writeFileSync(${JSON.stringify(pidFile)}, String(sleeper.pid));
      setInterval(() => {}, 1000);
    }));
  `;
  const stuck = await run({ "hung.test.js": hung }, 3000);
  assert.equal(stuck.code, 1, stuck.out);
  assert.match(stuck.out, /no test output for 3 s: the run is stuck; stopping it/);
  assert.match(stuck.out, /0 passed, 1 failed/);
  assert.ok(stuck.ms < 30_000, `stopped after ${stuck.ms} ms`);
  // Killed, it is gone or a zombie until whoever inherited it reaps it.
  const sleeper = Number(readFileSync(pidFile, "utf8"));
  const dead = () => {
    try {
      return readFileSync(`/proc/${sleeper}/stat`, "utf8").split(") ")[1]?.startsWith("Z") === true;
    } catch {
      return true;
    }
  };
  const deadline = Date.now() + 5000;
  while (!dead() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(dead(), "the hung test's own child was stopped with it");

  // Quiet for 2 s at a time, under a 3 s limit: it runs to the end.
  const slow = `
    import { test } from "node:test";
    for (const n of [1, 2]) test("quiet " + n, () => new Promise((r) => setTimeout(r, 2000)));
  `;
  const calm = await run({ "slow.test.js": slow }, 3000);
  assert.equal(calm.code, 0, calm.out);
  assert.match(calm.out, /2 passed, 0 failed/);
});
