import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { nativeFastPath, nativeFastPathStatus } from "../server/rtc/native.js";

const FLOOR = fileURLToPath(new URL("./floor.js", import.meta.url));

test("bench:floor sends every datagram through native routes to a reading process and reports the cost of each", async () => {
  assert.ok(nativeFastPath, `the native fast path is built for the tests (${nativeFastPathStatus})`);
  const child = spawn(process.execPath, [FLOOR, "--routes", "1,3", "--packets", "100", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, err);
  assert.match(out, /\| 3 \| 300 \| /, "the table's row for 3 routes");
  const report = JSON.parse(
    out
      .trim()
      .split("\n")
      .reverse()
      .find((l) => l.startsWith("{")) ?? "{}",
  ) as {
    steps: { routes: number; datagrams: number; cpuUsPerDatagram: number; refused: number }[];
  };
  assert.deepEqual(
    report.steps.map((s) => [s.routes, s.datagrams, s.refused]),
    [
      [1, 100, 0],
      [3, 300, 0],
    ],
  );
  for (const s of report.steps) assert.ok(s.cpuUsPerDatagram > 0 && Number.isFinite(s.cpuUsPerDatagram));
});

test("bench:floor refuses a route count out of range, saying which option", async () => {
  const child = spawn(process.execPath, [FLOOR, "--routes", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.notEqual(code, 0);
  assert.match(err, /--routes: expected an integer 1\.\.2000, got 0/);
});
