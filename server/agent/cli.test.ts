import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { signalingUrl } from "./agent.js";
import { agentOptions } from "./cli.js";

const KEY = `tk_0123456789ab.${"A".repeat(43)}`;

describe("tessera agent arguments", () => {
  test("defaults: the display from $DISPLAY, an id from the host name and display, VP8 at 30 fps and 4 Mb/s, no input", () => {
    const o = agentOptions(["--server", "https://stream.example.org"], { DISPLAY: ":1", TESSERA_AGENT_KEY: KEY });
    assert.equal(o.display, ":1");
    assert.match(o.id, /^[A-Za-z0-9][A-Za-z0-9._-]*-1$/);
    assert.ok(o.name.startsWith(hostname().slice(0, 5)) || o.name.endsWith(":1"), o.name);
    assert.deepEqual([o.codec, o.fps, o.bitrateKbps, o.allowInput, o.allowResize, o.audio, o.key], ["vp8", 30, 4000, false, false, false, KEY]);
    assert.equal(agentOptions(["--server", "https://h", "--audio", "pulse"], { TESSERA_AGENT_KEY: KEY }).audio, true);
  });

  test("the key from a file wins over the environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-agent-"));
    try {
      const other = `tk_fedcba987654.${"B".repeat(43)}`;
      writeFileSync(join(dir, "key"), `${other}\n`);
      assert.equal(agentOptions(["--server", "http://h:8080", "--key-file", join(dir, "key")], { TESSERA_AGENT_KEY: KEY }).key, other);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [[], { TESSERA_AGENT_KEY: KEY }, /^--server: is required/],
    [["--server", "ftp://h"], { TESSERA_AGENT_KEY: KEY }, /^--server: expected http\(s\)/],
    [["--server", "http://h"], {}, /^--key-file: a device key is required/],
    [["--server", "http://h"], { TESSERA_AGENT_KEY: "tk_short" }, /^--key-file: the device key does not look like one/],
    [["--server", "http://h", "--key-file", "/nonexistent/key"], {}, /^--key-file: cannot read it/],
    [["--server", "http://h", "--fps", "100"], { TESSERA_AGENT_KEY: KEY }, /^--fps: expected 1-60/],
    [["--server", "http://h", "--codec", "av1"], { TESSERA_AGENT_KEY: KEY }, /^--codec: expected vp8 or h264/],
    [["--server", "http://h", "--audio", "alsa"], { TESSERA_AGENT_KEY: KEY }, /^--audio: expected none or pulse/],
    [["--server", "http://h", "--display", "remote:0"], { TESSERA_AGENT_KEY: KEY }, /^--display: expected a local display/],
    [["--server", "http://h", "--id=-bad"], { TESSERA_AGENT_KEY: KEY }, /^--id: ids are/],
    [["--server", "http://h", "--frobnicate"], { TESSERA_AGENT_KEY: KEY }, /^arguments: Unknown option/],
  ];
  for (const [argv, env, want] of bad) {
    test(`refuses ${argv.join(" ") || "no arguments"} ${Object.keys(env).length ? "" : "without a key "}with a clear message`, () => {
      assert.throws(
        () => agentOptions(argv, { DISPLAY: ":0", ...env }),
        (err: Error) => want.test(err.message),
      );
    });
  }

  test("the signaling URL of an origin or a ws URL", () => {
    assert.equal(signalingUrl("https://stream.example.org"), "wss://stream.example.org/ws");
    assert.equal(signalingUrl("http://10.0.0.2:8080/some/page?x=1"), "ws://10.0.0.2:8080/ws");
    assert.equal(signalingUrl("wss://stream.example.org/ws"), "wss://stream.example.org/ws");
    assert.throws(() => signalingUrl("ftp://h"), /http\(s\):\/\/ or ws\(s\):\/\//);
  });
});
