import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/** Every bench npm runs alone: package.json's bench:* scripts (this file runs from dist/bench/). */
const BENCHES = Object.keys((JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts)
  .map((name) => /^bench:(.+)$/.exec(name)?.[1])
  .filter((name): name is string => name !== undefined);

function run(bench: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`./${bench}.js`, import.meta.url)), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, err })));
}

describe("bench command lines", () => {
  test("package.json names the benches", () => assert.ok(BENCHES.length >= 10, BENCHES.join(", ")));
  for (const bench of BENCHES) {
    test(`bench:${bench} --help prints its usage; an unknown option is named with the usage, not a stack trace`, async () => {
      const help = await run(bench, ["--help"]);
      assert.equal(help.code, 0, help.err);
      assert.match(help.out, new RegExp(`^usage: npm run bench:${bench} -- `, "m"));
      const bad = await run(bench, ["--no-such-option"]);
      assert.equal(bad.code, 2, `${bad.out}\n${bad.err}`);
      assert.match(bad.err, /no-such-option/);
      assert.match(bad.err, new RegExp(`usage: npm run bench:${bench} -- `));
      assert.doesNotMatch(bad.err, /^\s+at /m, "no stack trace");
    });
  }
});
