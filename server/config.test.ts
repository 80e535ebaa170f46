import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, DEFAULTS, loadConfig, type Config } from "./config.js";
import { envNameOf, OPTION_KEYS, OPTIONS } from "./options.js";
import { optionsMarkdown, readmeOptionsTable, USAGE } from "./usage.js";

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as Config;

describe("loadConfig", () => {
  test("defaults serve 127.0.0.1:8080 with the test device", () => {
    assert.deepEqual({ ...load([]) }, { ...DEFAULTS });
  });

  test("flags beat environment beats file", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-config-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ port: 9001, host: "127.0.0.2", logLevel: "warn" }));
    const c = load(["-c", file, "-p", "9003"], { TESSERA_PORT: "9002", TESSERA_HOST: "127.0.0.3" });
    assert.equal(c.port, 9003);
    assert.equal(c.host, "127.0.0.3");
    assert.equal(c.logLevel, "warn");
  });

  test("--ice-host repeats; the environment takes a comma list", () => {
    assert.deepEqual(load(["--ice-host", "127.0.0.1", "--ice-host", "10.0.0.1"]).iceHosts, ["127.0.0.1", "10.0.0.1"]);
    assert.deepEqual(load([], { TESSERA_ICE_HOST: "127.0.0.1, 10.0.0.2" }).iceHosts, ["127.0.0.1", "10.0.0.2"]);
  });

  test("--limit and --account-limit repeat, over their defaults; the environment takes a comma list", () => {
    const c = load(["--limit", "devices=10", "--limit", "pipelines=0", "--account-limit", "whip=2"]);
    assert.equal(c.limits.devices, 10);
    assert.equal(c.limits.pipelines, 0);
    assert.equal(c.limits.viewers, DEFAULTS.limits.viewers);
    assert.equal(c.accountLimits.whip, 2);
    assert.equal(c.accountLimits.devices, 0);
    assert.equal(load([], { TESSERA_ACCOUNT_LIMIT: "frames=5,viewers=3" }).accountLimits.viewers, 3);
    assert.throws(
      () => load(["--limit", "cameras=1"]),
      (err: unknown) => err instanceof ConfigError && /--limit/.test(err.message),
    );
  });

  test("ICE options: port range, public address, interfaces, REST source", () => {
    const c = load([
      "--ice-port-range",
      "40000-40099",
      "--public-ip",
      "203.0.113.7",
      "--ice-interface",
      "lo",
      "--turn-rest-url",
      "https://turn.example.org/api",
      "--turn-rest-key",
      "k",
    ]);
    assert.deepEqual(c.icePortRange, [40000, 40099]);
    assert.equal(c.publicIp, "203.0.113.7");
    assert.deepEqual(c.iceInterfaces, ["lo"]);
    assert.equal(c.turnRestUrl, "https://turn.example.org/api");
    assert.deepEqual(load([], { TESSERA_ICE_INTERFACE: "eth0,eth1" }).iceInterfaces, ["eth0", "eth1"]);
  });

  test("auth options: mode, data dir, firebase project, booleans, origins", () => {
    const c = load([
      "--auth",
      "firebase",
      "--firebase-project",
      "demo-tessera",
      "--firebase-check-revoked",
      "--allowed-origins",
      "https://app.example.org",
      "--data-dir",
      "/var/lib/tessera",
    ]);
    assert.equal(c.auth, "firebase");
    assert.equal(c.firebaseProject, "demo-tessera");
    assert.equal(c.firebaseCheckRevoked, true);
    assert.equal(c.firebaseWebConfig, "");
    assert.equal(
      load(["--auth", "firebase", "--firebase-project", "demo-tessera", "--firebase-web-config", "/etc/tessera/web.json"]).firebaseWebConfig,
      "/etc/tessera/web.json",
    );
    assert.equal(
      load([], { TESSERA_AUTH: "firebase", TESSERA_FIREBASE_PROJECT: "demo-tessera", TESSERA_FIREBASE_WEB_CONFIG: "web.json" }).firebaseWebConfig,
      "web.json",
    );
    assert.deepEqual(c.allowedOrigins, ["https://app.example.org"]);
    assert.equal(c.dataDir, "/var/lib/tessera");
    const e = load([], { TESSERA_AUTH: "basic", TESSERA_HOST: "0.0.0.0", TESSERA_ALLOWED_ORIGINS: "http://a.example:8080,https://b.example" });
    assert.deepEqual(e.allowedOrigins, ["http://a.example:8080", "https://b.example"]);
    assert.equal(load(["--host", "0.0.0.0"], { TESSERA_INSECURE_NO_AUTH: "true" }).insecureNoAuth, true);
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) assert.equal(load(["--host", host]).auth, "none", host);
    const p = load(["--trust-proxy", "--public-url", "https://Stream.Example.org/"]);
    assert.equal(p.trustProxy, true);
    assert.equal(p.publicUrl, "https://stream.example.org");
    assert.equal(load([], { TESSERA_TRUST_PROXY: "1" }).trustProxy, true);
    assert.equal(load([]).trustProxy, false);
  });

  test("auth refusals name the option", () => {
    for (const [argv, option] of [
      [["--host", "0.0.0.0"], /^--auth: 'none' .*0\.0\.0\.0/],
      [["--host", "192.168.1.5", "--auth", "none"], /^--auth: /],
      [["--auth", "firebase"], /^--firebase-project: /],
      [["--auth", "ldap"], /^--auth: /],
      [["--allowed-origins", "https://a.example/path"], /^--allowed-origins: expected an origin/],
      [["--allowed-origins", "*"], /^--allowed-origins: /],
      [["--public-url", "https://stream.example.org/cams"], /^--public-url: expected an origin/],
      [["--firebase-web-config", "web.json"], /^--firebase-web-config: is for --auth firebase, not --auth none$/],
      [["-a", "--firebase-web-config", "web.json"], /^--firebase-web-config: is for --auth firebase, not --auth basic$/],
    ] as const) {
      assert.throws(
        () => load([...argv]),
        (err: unknown) => err instanceof ConfigError && option.test(err.message),
        argv.join(" "),
      );
    }
    assert.throws(() => load([], { TESSERA_INSECURE_NO_AUTH: "maybe" }), /TESSERA_INSECURE_NO_AUTH: expected true or false/);
  });

  test("seed command-line parity: -i, -p, -a (basic auth), -d (dashboard)", () => {
    const c = load(["-i", "127.0.0.1", "-p", "9000", "-a", "-d"]);
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.port, 9000);
    assert.equal(c.auth, "basic");
    assert.equal(c.display, true);
    assert.throws(() => load(["-a", "--auth", "firebase", "--firebase-project", "p"]), /-a means --auth basic/);
  });

  test("--source: each display is a device x11-N; the list replaces the default; the environment takes a comma list", () => {
    assert.deepEqual(load([]).source, [{ kind: "test" }]);
    assert.deepEqual(load(["--source", "x11:1", "--source", "x11::2.1", "--source", "test"]).source, [
      { kind: "x11", display: ":1", deviceId: "x11-1" },
      { kind: "x11", display: ":2.1", deviceId: "x11-2-1" },
      { kind: "test" },
    ]);
    assert.deepEqual(load(["--source", "v4l2", "--source", "v4l2:/dev/video3"]).source, [
      { kind: "v4l2", camera: "/dev/video0", deviceId: "v4l2-0" },
      { kind: "v4l2", camera: "/dev/video3", deviceId: "v4l2-3" },
    ]);
    assert.deepEqual(load([], { TESSERA_SOURCE: "x11:3,test" }).source, [{ kind: "x11", display: ":3", deviceId: "x11-3" }, { kind: "test" }]);
    const saved = process.env.DISPLAY;
    process.env.DISPLAY = ":7";
    try {
      assert.deepEqual(load(["--source", "x11"]).source, [{ kind: "x11", display: ":7", deviceId: "x11-7" }]);
    } finally {
      if (saved === undefined) delete process.env.DISPLAY;
      else process.env.DISPLAY = saved;
    }
    assert.equal(load(["--source", "x11:0", "--allow-input"]).allowInput, true, "on a loopback --host, --auth none may inject");
  });

  test("the result is frozen", () => {
    const c = load([]);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.iceHosts));
  });

  const bad: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [["--port", "http"], {}, /^--port: expected an integer/],
    [["-p", "70000"], {}, /^--port: expected 0-65535/],
    [["--source", "camera"], {}, /^--source: expected test, none, x11\[:DISPLAY\] such as x11:0, or v4l2/],
    [["--source", "v4l2:/dev/sda"], {}, /^--source: expected test/],
    [["--source", "x11:host.example:0"], {}, /^--source: expected test, none, x11/],
    [["--source", "x11:1", "--source", "x11::1"], {}, /^--source: a source is given twice/],
    [["--source", "none", "--source", "test"], {}, /^--source: none cannot be given with other sources/],
    [["--source", "x11:0", "--allow-input", "--host", "0.0.0.0", "--insecure-no-auth"], {}, /^--allow-input: with --auth none on 0.0.0.0 anyone/],
    [[], { TESSERA_SOURCE: "test,x11:abc" }, /^TESSERA_SOURCE: expected test, none, x11/],
    [["--ice-host", "localhost"], {}, /^--ice-host: expected an IPv4 address/],
    [["--log-level", "loud"], {}, /^--log-level: /],
    [["--frobnicate"], {}, /^arguments: Unknown option '--frobnicate'/],
    [[], { TESSERA_PORT: "x" }, /^TESSERA_PORT: /],
    [["--config", "/nonexistent/tessera.json"], {}, /^--config: cannot read/],
    [["--ice-port-range", "40000"], {}, /^--ice-port-range: expected MIN-MAX/],
    [["--fallback-stripe-height", "40"], {}, /^--fallback-stripe-height: expected 0 \(automatic\) or a multiple of 16/],
    [["--fallback-quality", "0"], {}, /^--fallback-quality: expected 1-100/],
    [["--fallback-max-fps", "120"], {}, /^--fallback-max-fps: expected 1-60/],
    [["--ice-port-range", "50000-40000"], {}, /^--ice-port-range: expected MIN-MAX/],
    [["--ice-port-range", "80-90"], {}, /^--ice-port-range: expected MIN-MAX/],
    [["--public-ip", "nat.example.org"], {}, /^--public-ip: expected an IPv4 address/],
    [["--turn-rest-url", "ftp://x"], {}, /^--turn-rest-url: expected an http\(s\) URL/],
    [["--turn-rest-url", "http://x/"], {}, /^--turn-rest-key: --turn-rest-url needs the service's key/],
    [["--ice-interface", "eth0; rm"], {}, /^--ice-interface: expected an interface name/],
  ];
  for (const [argv, env, why] of bad) {
    test(`refuses ${argv.join(" ") || JSON.stringify(env)} naming the option`, () => {
      assert.throws(
        () => load(argv, env),
        (err: unknown) => err instanceof ConfigError && why.test(err.message),
      );
    });
  }

  test("--help is recognised", () => {
    assert.equal(loadConfig(["--help"], {}), "help");
  });
});

describe("the option table", () => {
  test("every switch is on through its flag, its environment variable and its JSON key", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-config-"));
    for (const key of OPTION_KEYS.filter((k) => "switch" in OPTIONS[k])) {
      const flagName = OPTIONS[key].flag;
      const extra = key === "firebaseCheckRevoked" ? ["--auth", "firebase", "--firebase-project", "demo-tessera"] : [];
      assert.equal(load([flagName, ...extra])[key], true, flagName);
      assert.equal(load(extra, { [envNameOf(key)]: "true" })[key], true, envNameOf(key));
      writeFileSync(join(dir, "c.json"), JSON.stringify({ [key]: true }));
      assert.equal(load(["-c", join(dir, "c.json"), ...extra])[key], true, `${key} in a config file`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test("flags and environment names are unique", () => {
    const flags = OPTION_KEYS.map((k) => OPTIONS[k].flag);
    assert.equal(new Set(flags).size, flags.length);
    assert.equal(new Set(OPTION_KEYS.map(envNameOf)).size, OPTION_KEYS.length);
  });

  test("--help names every flag and environment variable", () => {
    for (const key of OPTION_KEYS) {
      assert.ok(USAGE.includes(OPTIONS[key].flag), OPTIONS[key].flag);
      assert.ok(USAGE.includes(envNameOf(key)), envNameOf(key));
    }
    assert.ok(
      USAGE.split("\n").every((line) => line.length <= 80),
      "lines fit 80 columns",
    );
  });

  test("README's option table is the one the option table makes (npm run docs:options rewrites it)", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    assert.equal(readmeOptionsTable(readme), optionsMarkdown(), "README's option table is out of date: run npm run docs:options");
  });

  test("the defaults are the table's, frozen all the way down", () => {
    for (const key of OPTION_KEYS) assert.deepEqual(DEFAULTS[key], OPTIONS[key].schema.parse(OPTIONS[key].default), key);
    assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.iceHosts));
    assert.ok(Object.isFrozen(load(["--ice-host", "127.0.0.1"]).iceHosts));
  });
});
