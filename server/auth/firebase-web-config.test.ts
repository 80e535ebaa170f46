import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError } from "../config.js";
import { authConfigFor, firebaseConnectSources, loadFirebaseWebConfig } from "./firebase-web-config.js";

describe("--firebase-web-config", () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-webconfig-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const good = { apiKey: "AIzaSyD-example_key", authDomain: "demo-tessera.firebaseapp.com", projectId: "demo-tessera" };

  test("the console's firebaseConfig loads; keys the pages do not use are dropped", () => {
    const p = file("good.json", JSON.stringify({ ...good, appId: "1:2:web:3", storageBucket: "demo-tessera.appspot.com" }));
    const c = loadFirebaseWebConfig(p, "demo-tessera");
    assert.deepEqual({ ...c }, good);
    assert.ok(Object.isFrozen(c));
  });

  const refusals: Array<[name: string, text: string | undefined, why: RegExp]> = [
    ["missing.json", undefined, /: no such file$/],
    ["not-json.json", "{apiKey: 1", /cannot read .*not-json\.json: /],
    ["array.json", "[]", /expected a JSON object with apiKey, authDomain and projectId/],
    ["no-key.json", JSON.stringify({ authDomain: good.authDomain, projectId: good.projectId }), /apiKey: expected the web API key/],
    ["bad-key.json", JSON.stringify({ ...good, apiKey: "a key; with spaces" }), /apiKey: expected the web API key/],
    ["no-domain.json", JSON.stringify({ apiKey: good.apiKey, projectId: good.projectId }), /authDomain: expected a host name/],
    ["bad-domain.json", JSON.stringify({ ...good, authDomain: "https://x.example/path" }), /authDomain: expected a host name/],
    ["bad-project.json", JSON.stringify({ ...good, projectId: "Demo Project" }), /projectId: expected a Firebase project id/],
    ["other-project.json", JSON.stringify({ ...good, projectId: "another-project" }), /projectId 'another-project' is not --firebase-project 'demo-tessera'/],
  ];
  for (const [name, text, why] of refusals) {
    test(`${name}: a ConfigError naming the option`, () => {
      const p = text === undefined ? join(dir, name) : file(name, text);
      assert.throws(
        () => loadFirebaseWebConfig(p, "demo-tessera"),
        (err: unknown) =>
          err instanceof ConfigError && err.option === "--firebase-web-config" && err.message.startsWith("--firebase-web-config: ") && why.test(err.message),
      );
    });
  }

  test("GET /api/auth-config: the mode; firebase adds the web config (null without one) and the emulator's host", () => {
    assert.deepEqual(authConfigFor("none", undefined, undefined), { mode: "none" });
    assert.deepEqual(authConfigFor("basic", good, "127.0.0.1:9099"), { mode: "basic" });
    assert.deepEqual(authConfigFor("firebase", undefined, "127.0.0.1:9099"), { mode: "firebase", firebase: null });
    assert.deepEqual(authConfigFor("firebase", good, undefined), { mode: "firebase", firebase: good });
    assert.deepEqual(authConfigFor("firebase", good, "127.0.0.1:9099"), { mode: "firebase", firebase: { ...good, emulatorHost: "127.0.0.1:9099" } });
  });

  test("the pages may reach Firebase's sign-in and token endpoints, and the emulator when there is one", () => {
    assert.deepEqual(firebaseConnectSources(undefined), ["https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com"]);
    assert.deepEqual(firebaseConnectSources("127.0.0.1:9099").slice(2), ["http://127.0.0.1:9099"]);
  });
});
