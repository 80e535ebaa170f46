import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createApp } from "../app.js";
import { ConfigError, DEFAULTS } from "../config.js";
import { createLogger } from "../log.js";
import { startServer, type Running } from "./fixture.js";

const connectSrc = (res: Response) => /connect-src ([^;]*)/.exec(res.headers.get("content-security-policy") ?? "")?.[1] ?? "";

/** Runs `body` with FIREBASE_AUTH_EMULATOR_HOST set to `host` (or unset), restoring it afterwards. */
async function withEmulatorHost<T>(host: string | undefined, body: () => Promise<T>): Promise<T> {
  const saved = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  if (host === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
  else process.env.FIREBASE_AUTH_EMULATOR_HOST = host;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
    else process.env.FIREBASE_AUTH_EMULATOR_HOST = saved;
  }
}

describe("GET /api/auth-config", () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-auth-config-"));
  const web = { apiKey: "demo-api-key", authDomain: "demo-tessera.firebaseapp.com", projectId: "demo-tessera" };
  const webFile = join(dir, "web.json");
  writeFileSync(webFile, JSON.stringify({ ...web, appId: "1:0:web:0" }));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const check = async (server: Running) => {
    const res = await fetch(`${server.httpUrl}/api/auth-config`);
    assert.equal(res.status, 200, "open: no credentials");
    assert.equal(res.headers.get("cache-control"), "no-store");
    return { body: await res.json(), csp: connectSrc(res) };
  };

  test("--auth none and basic: the mode alone, open even where the API asks for credentials", async () => {
    for (const auth of ["none", "basic"] as const) {
      const server = await startServer({ auth });
      try {
        const { body, csp } = await check(server);
        assert.deepEqual(body, { mode: auth });
        assert.doesNotMatch(csp, /googleapis/);
        if (auth === "basic") assert.equal((await fetch(`${server.httpUrl}/api/devices`)).status, 401);
      } finally {
        await server.stop();
      }
    }
  });

  test("--auth firebase without --firebase-web-config: firebase null (the pages take a pasted token), no Firebase in the CSP", async () => {
    await withEmulatorHost("127.0.0.1:9099", async () => {
      const server = await startServer({ auth: "firebase", firebaseProject: "demo-tessera" });
      try {
        const { body, csp } = await check(server);
        assert.deepEqual(body, { mode: "firebase", firebase: null });
        assert.doesNotMatch(csp, /googleapis|9099/);
        assert.equal((await fetch(`${server.httpUrl}/api/devices`)).status, 401, "the rest of the API still asks");
      } finally {
        await server.stop();
      }
    });
  });

  test("--firebase-web-config: the web config, the emulator's host when FIREBASE_AUTH_EMULATOR_HOST is set, and a CSP that lets the SDK reach them", async () => {
    for (const emulatorHost of [undefined, "127.0.0.1:9099"]) {
      await withEmulatorHost(emulatorHost, async () => {
        const server = await startServer({ auth: "firebase", firebaseProject: "demo-tessera", firebaseWebConfig: webFile });
        try {
          const { body, csp } = await check(server);
          assert.deepEqual(body, { mode: "firebase", firebase: { ...web, ...(emulatorHost ? { emulatorHost } : {}) } });
          assert.match(
            csp,
            /^'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+ https:\/\/identitytoolkit\.googleapis\.com https:\/\/securetoken\.googleapis\.com/,
          );
          assert.equal(csp.includes("http://127.0.0.1:9099"), emulatorHost !== undefined, csp);
          const page = await fetch(`${server.httpUrl}/`);
          assert.equal(connectSrc(page), csp, "pages carry the same policy");
        } finally {
          await server.stop();
        }
      });
    }
  });

  test("a bad web config file or emulator host stops createApp with a ConfigError naming it", async () => {
    const config = { ...DEFAULTS, source: [{ kind: "none" as const }], auth: "firebase" as const, firebaseProject: "demo-tessera", dataDir: dir };
    const log = createLogger("silent");
    assert.throws(
      () => createApp({ ...config, firebaseWebConfig: join(dir, "nope.json") }, { log }),
      (err: unknown) => err instanceof ConfigError && /^--firebase-web-config: .*nope\.json: no such file$/.test(err.message),
    );
    await withEmulatorHost("127.0.0.1:9099; script-src *", async () => {
      assert.throws(
        () => createApp({ ...config, firebaseWebConfig: webFile }, { log }),
        (err: unknown) => err instanceof ConfigError && err.option === "FIREBASE_AUTH_EMULATOR_HOST",
      );
    });
  });
});
