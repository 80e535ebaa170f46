import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { waitFor } from "../../e2e/lib/signaling-client.js";

const MAIN = fileURLToPath(new URL("../main.js", import.meta.url));

/** Runs the entry point; collects its output and exit code. */
function run(args: string[]) {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, UV_THREADPOOL_SIZE: "128" } });
  const out = { stderr: "", stdout: "", code: undefined as number | null | undefined, child };
  child.stderr.on("data", (d) => (out.stderr += d));
  child.stdout.on("data", (d) => (out.stdout += d));
  child.on("exit", (code) => (out.code = code));
  return out;
}

describe("the entry point", () => {
  test("a bad option value stops start-up with one line naming the option", async () => {
    const r = run(["--port", "eighty"]);
    await waitFor(() => r.code !== undefined, 10_000, "exit");
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.match(r.stderr, /^tessera: --port: /);
  });

  test("an unusable iceServers file or interface stops start-up with one line", async () => {
    for (const [args, why] of [
      [["--ice-servers-file", "/nonexistent/ice.json"], /^tessera: --ice-servers-file: \/nonexistent\/ice.json: no such file/],
      [["--ice-interface", "nosuch0"], /^tessera: --ice-interface: no interface named nosuch0 \(have: .*lo/],
    ] as const) {
      const r = run(["--port", "0", "--source", "none", ...args]);
      await waitFor(() => r.code !== undefined, 10_000, "exit");
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, why);
    }
  });

  test("--help prints the options", async () => {
    const r = run(["--help"]);
    await waitFor(() => r.code !== undefined, 10_000, "exit");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--ice-host ADDR/);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} closes peers and pipelines and exits 0`, async () => {
      const r = run(["--port", "0", "--ice-host", "127.0.0.1"]);
      try {
        const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(r.stderr)?.[1], 15_000, "listening");
        const res = await fetch(`${url}api/devices`);
        assert.equal(res.status, 200);
        r.child.kill(signal);
        await waitFor(() => r.code !== undefined, 8000, "exit after signal");
        assert.equal(r.code, 0);
        assert.match(r.stderr, /test device stopped/);
      } finally {
        if (r.code === undefined) r.child.kill("SIGKILL");
      }
    });
  }
});
