import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { addonProblem, missingElementsLine } from "./preflight.js";

const MAIN = fileURLToPath(new URL("../main.js", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "tessera-preflight-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Where this machine's GStreamer plugins are: the directory of the core elements' plugin. */
function pluginDir(): string {
  const r = spawnSync("gst-inspect-1.0", ["queue"], { encoding: "utf8" });
  const file = /^\s+Filename\s+(\S+)/m.exec(r.stdout)?.[1];
  assert.ok(file, "gst-inspect-1.0 queue names no plugin file");
  return dirname(file);
}

let dirs = 0;
const environments = new Map<string, NodeJS.ProcessEnv>();
/**
 * An environment whose GStreamer sees only this machine's plugins minus the
 * named files (a throw-away registry, so nothing is cached from the real one;
 * made once per set of files, since building a registry takes seconds).
 */
function gstreamerWithout(...pluginFiles: string[]): NodeJS.ProcessEnv {
  const key = pluginFiles.join(" ");
  const made = environments.get(key);
  if (made) return made;
  const dir = join(scratch, `plugins-${++dirs}`);
  const all = pluginFiles.includes("*") ? [] : readdirSync(pluginDir()).filter((f) => f.endsWith(".so") && !pluginFiles.includes(f));
  mkdirSync(dir, { recursive: true });
  for (const f of all) symlinkSync(join(pluginDir(), f), join(dir, f));
  const env = {
    ...process.env,
    UV_THREADPOOL_SIZE: "128",
    GST_PLUGIN_SYSTEM_PATH_1_0: dir,
    GST_PLUGIN_PATH_1_0: dir,
    GST_REGISTRY_1_0: join(scratch, `registry-${dirs}.bin`),
  };
  environments.set(key, env);
  return env;
}

/** Runs the entry point; collects its output and exit code. */
function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [MAIN, ...args], { env });
  const out = { stderr: "", stdout: "", code: undefined as number | null | undefined, child };
  child.stderr.on("data", (d) => (out.stderr += d));
  child.stdout.on("data", (d) => (out.stdout += d));
  child.on("exit", (code) => (out.code = code));
  return out;
}

/** stderr without the thread-pool warning a test environment may add. */
const lines = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => !l.includes("UV_THREADPOOL_SIZE"));

describe("start-up preflight", () => {
  test("with no GStreamer plugins at all, start-up stops with one line naming the missing elements and the packages to install", async () => {
    const r = run(["--port", "0"], gstreamerWithout("*"));
    await waitFor(() => r.code !== undefined, 30_000, "exit");
    assert.equal(r.code, 2, r.stderr);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^tessera: GStreamer elements "videotestsrc", .* are missing: install gstreamer1\.0-plugins-base, gstreamer1\.0-x, .*\(apt-get install gstreamer1\.0-plugins-base gstreamer1\.0-x .*\)$/m,
    );
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  });

  test("without the pango plugin, the test device cannot start and says to install gstreamer1.0-x; --source none starts", async () => {
    const env = gstreamerWithout("libgstpango.so");
    const refused = run(["--port", "0"], env);
    await waitFor(() => refused.code !== undefined, 30_000, "exit");
    assert.equal(refused.code, 2, refused.stderr);
    assert.deepEqual(lines(refused.stderr), [
      'tessera: GStreamer elements "timeoverlay", "clockoverlay", "textoverlay" are missing: install gstreamer1.0-x (apt-get install gstreamer1.0-x)',
    ]);
    const started = run(["--port", "0", "--source", "none"], env);
    try {
      await waitFor(() => /listening on http:\/\/127\.0\.0\.1:\d+\//.test(started.stderr) || started.code !== undefined, 30_000, "listening");
      assert.equal(started.code, undefined, started.stderr);
    } finally {
      started.child.kill("SIGTERM");
      await waitFor(() => started.code !== undefined, 10_000, "exit after SIGTERM");
    }
  });

  test("one missing element: x264enc for the H.264 fallback, named with its package", async () => {
    const r = run(["--port", "0", "--source", "none"], gstreamerWithout("libgstx264.so"));
    await waitFor(() => r.code !== undefined, 30_000, "exit");
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(lines(r.stderr), [
      'tessera: GStreamer element "x264enc" is missing: install gstreamer1.0-plugins-ugly (apt-get install gstreamer1.0-plugins-ugly)',
    ]);
  });

  test("tessera doctor names the feature that lacks something and the command that installs it; exit 0 when all is there", async () => {
    const missing = run(["doctor"], gstreamerWithout("libgstpango.so"));
    await waitFor(() => missing.code !== undefined, 30_000, "exit");
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(
      missing.stdout,
      /^MISSING {2}test device \(--source test\) +GStreamer elements "timeoverlay", "clockoverlay", "textoverlay" are missing: install gstreamer1\.0-x \(apt-get install gstreamer1\.0-x\)$/m,
    );
    assert.match(missing.stdout, /^ok {7}WebSocket fallback, JPEG stripes$/m);
    const all = run(["doctor"], { ...process.env });
    await waitFor(() => all.code !== undefined, 30_000, "exit");
    assert.equal(all.code, 0, all.stdout);
    assert.match(all.stdout, /^ok {7}native addon gstreamer-superficial$/m);
    assert.match(all.stdout, /^ok {7}test device \(--source test\)$/m);
    assert.match(all.stdout, /^ok {7}e2e browsers$/m);
  });

  test("an addon that cannot be loaded is named with the command that rebuilds it", () => {
    const problem = addonProblem({
      name: "tessera-no-such-addon",
      load: () => void createRequire(import.meta.url)("tessera-no-such-addon"),
      buildPackages: ["g++", "make"],
    });
    assert.match(
      problem ?? "",
      /^native addon "tessera-no-such-addon" cannot be loaded \(.*tessera-no-such-addon.*\): run npm rebuild tessera-no-such-addon \(it builds with apt-get install g\+\+ make; npm start does both\)$/,
    );
    assert.equal(addonProblem({ name: "fine", load: () => undefined, buildPackages: [] }), undefined);
  });

  test("missing elements without a known package still get one line", () => {
    assert.equal(
      missingElementsLine(["nosuchelement"]),
      'GStreamer element "nosuchelement" is missing: find the plugin of nosuchelement with gst-inspect-1.0 on a machine that has it',
    );
    assert.equal(
      missingElementsLine(["jpegenc", "x264enc", "jpegdec"]),
      'GStreamer elements "jpegenc", "x264enc", "jpegdec" are missing: install gstreamer1.0-plugins-good, gstreamer1.0-plugins-ugly (apt-get install gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)',
    );
  });
});
