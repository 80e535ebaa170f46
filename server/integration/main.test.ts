import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import WebSocket from "ws";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { UsersFile } from "../auth/users-file.js";

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

  test("an unusable iceServers file, interface or Firebase web config stops start-up with one line", async () => {
    for (const [args, why] of [
      [["--ice-servers-file", "/nonexistent/ice.json"], /^tessera: --ice-servers-file: \/nonexistent\/ice.json: no such file/],
      [
        ["--auth", "firebase", "--firebase-project", "demo-tessera", "--firebase-web-config", "/nonexistent/web.json"],
        /^tessera: --firebase-web-config: \/nonexistent\/web.json: no such file$/m,
      ],
      [["--ice-interface", "nosuch0"], /^tessera: --ice-interface: no interface named nosuch0 \(have: .*lo/],
    ] as const) {
      const r = run(["--port", "0", "--source", "none", ...args]);
      await waitFor(() => r.code !== undefined, 10_000, "exit");
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, why);
    }
  });

  test("--auth none on a non-loopback --host refuses to start, unless --insecure-no-auth (with a loud warning)", async () => {
    const refused = run(["--port", "0", "--source", "none", "--host", "0.0.0.0", "--auth", "none"]);
    await waitFor(() => refused.code !== undefined, 10_000, "exit");
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, /^tessera: --auth: 'none' .* loopback --host, not 0\.0\.0\.0: use --auth basic or firebase \(or --insecure-no-auth\)$/m);
    const r = run(["--port", "0", "--source", "none", "--host", "0.0.0.0", "--ice-host", "127.0.0.1", "--insecure-no-auth"]);
    try {
      const port = await waitFor(() => /listening on http:\/\/0\.0\.0\.0:(\d+)\//.exec(r.stderr)?.[1], 15_000, "listening");
      assert.match(r.stderr, /WARN .*--insecure-no-auth: anyone who reaches/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/devices`)).status, 200);
      r.child.kill("SIGTERM");
      await waitFor(() => r.code !== undefined, 8000, "exit after signal");
    } finally {
      if (r.code === undefined) r.child.kill("SIGKILL");
    }
  });

  test("'users add|list|remove' manage users.json; passwords come from stdin only", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "tessera-users-")), "data");
    const add = run(["users", "add", "alice", "--password-stdin", "--data-dir", dir]);
    add.child.stdin.end("a-long-password\n");
    await waitFor(() => add.code !== undefined, 10_000, "add");
    assert.equal(add.code, 0, add.stderr);
    const argv = run(["users", "add", "bob", "hunter2-hunter2", "--data-dir", dir]);
    await waitFor(() => argv.code !== undefined, 10_000, "add with a password argument");
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /never from arguments/);
    const list = run(["users", "list", "--data-dir", dir]);
    await waitFor(() => list.code !== undefined, 10_000, "list");
    assert.equal(list.stdout, "alice\n");
    assert.equal(await new UsersFile(dir).check("alice", "a-long-password"), "ok");
    const remove = run(["users", "remove", "alice", "--data-dir", dir]);
    await waitFor(() => remove.code !== undefined, 10_000, "remove");
    assert.equal(remove.code, 0, remove.stderr);
    assert.deepEqual(new UsersFile(dir).list(), []);
    rmSync(join(dir, ".."), { recursive: true, force: true });
  });

  test("-d names the dashboard, and with no desktop says so instead of failing", async () => {
    const r = run(["--port", "0", "--source", "none", "-d"]);
    try {
      const url = await waitFor(() => /dashboard: (http:\/\/\S+\/grid\.html)/.exec(r.stderr)?.[1], 15_000, "the dashboard line");
      assert.equal((await fetch(url)).status, 200);
      if (!process.env.DISPLAY) assert.match(r.stderr, /no desktop to open the dashboard on/);
    } finally {
      r.child.kill("SIGKILL");
    }
  });

  test("--tls-cert/--tls-key: HTTPS and WSS on one port, a renewed certificate is served without a restart, a bad pair is not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-tls-"));
    /** Makes a certificate for `cn`; `certOnly` replaces the certificate and leaves the old key (a renewal gone wrong), returning the new key's path. */
    const makeCert = (cn: string, certOnly = false) => {
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${cn}`, "-keyout", join(dir, "new.key"), "-out", join(dir, "new.pem")],
        { stdio: "ignore" },
      );
      if (!certOnly) renameSync(join(dir, "new.key"), join(dir, "key.pem"));
      renameSync(join(dir, "new.pem"), join(dir, "cert.pem"));
      return join(dir, "new.key");
    };
    makeCert("first.tessera.test");
    const r = run(["--port", "0", "--source", "none", "--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem")]);
    /** The common name of the certificate the server presents now. */
    const servedName = (port: number) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
          resolve(String(socket.getPeerCertificate().subject.CN));
          socket.end();
        });
        socket.on("error", reject);
      });
    try {
      const url = await waitFor(() => /listening on (https:\/\/\S+)/.exec(r.stderr)?.[1], 15_000, "listening on https");
      const port = Number(new URL(url).port);
      assert.equal(await servedName(port), "first.tessera.test");
      const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false });
      const welcome = await new Promise<string>((resolve, reject) => {
        ws.on("open", () => ws.send(JSON.stringify({ type: "hello", role: "viewer", protocol: 1 })));
        ws.on("message", (d) => resolve((JSON.parse((d as Buffer).toString()) as { type: string }).type));
        ws.on("error", reject);
      });
      ws.close();
      assert.equal(welcome, "welcome", "WSS on the same port");
      makeCert("renewed.tessera.test");
      await waitForAsync(async () => (await servedName(port)) === "renewed.tessera.test", 10_000, "the renewed certificate");
      // A renewal with a bad pair (the new certificate, the old key) is not taken: the last good pair is served.
      const newKey = makeCert("mismatched.tessera.test", true);
      await waitFor(() => /TLS certificate not reloaded; keeping the previous one/.test(r.stderr) || undefined, 10_000, "the bad pair refused");
      assert.match(r.stderr, /key values mismatch/);
      assert.equal(await servedName(port), "renewed.tessera.test");
      renameSync(newKey, join(dir, "key.pem"));
      await waitForAsync(async () => (await servedName(port)) === "mismatched.tessera.test", 10_000, "the pair once its key arrived");
    } finally {
      r.child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
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
