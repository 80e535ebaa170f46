import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  adoptFragmentToken,
  linkCredential,
  linkCredentialConfirmed,
  REFRESH_MARGIN_MS,
  SessionSource,
  storedDeviceKey,
  type TokenStorage,
} from "../web/src/session.js";

function memoryStorage(): TokenStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

const answer = (status: number, body: unknown, challenge?: string) => ({
  ok: status === 200,
  status,
  headers: { get: (n: string) => (n.toLowerCase() === "www-authenticate" ? (challenge ?? null) : null) },
  json: async () => body,
});

describe("the web app's session token", () => {
  test("fetched once, reused, and fetched again shortly before it expires", async () => {
    let now = 1_000_000;
    const calls: string[] = [];
    let n = 0;
    const s = new SessionSource(
      memoryStorage(),
      () => undefined,
      async (url, init) => {
        calls.push(`${init.method} ${url}`);
        return answer(200, { token: `t${++n}`, expiresAt: now + 3600_000 });
      },
      () => now,
    );
    assert.equal(await s.token(), "t1");
    now += 3600_000 - REFRESH_MARGIN_MS - 1;
    assert.equal(await s.token(), "t1");
    now += 2;
    assert.equal(await s.token(), "t2");
    assert.deepEqual(calls, ["POST /api/session", "POST /api/session"]);
  });

  test("--auth none: no token, asked once", async () => {
    let calls = 0;
    const s = new SessionSource(
      memoryStorage(),
      () => undefined,
      async () => (calls++, answer(200, { token: null, expiresAt: null })),
    );
    assert.equal(await s.token(), undefined);
    assert.equal(await s.token(), undefined);
    assert.equal(calls, 1);
  });

  test("--auth none said by the server: no request for a session until a hello is refused", async () => {
    let calls = 0;
    const s = new SessionSource(
      memoryStorage(),
      () => undefined,
      async () => (calls++, answer(200, { token: "t", expiresAt: null })),
      undefined,
      undefined,
      async () => "none",
    );
    assert.equal(await s.token(), undefined);
    assert.equal(await s.token(), undefined);
    assert.equal(calls, 0);
    // A server that refused the hello is no longer taken at its word.
    s.invalidate();
    assert.equal(await s.token(), "t");
    assert.equal(calls, 1);
  });

  test("a Bearer challenge asks for a Firebase ID token, keeps it and sends it as Bearer", async () => {
    const storage = memoryStorage();
    const seen: Array<string | undefined> = [];
    const s = new SessionSource(
      storage,
      () => "id-token-1",
      async (_url, init) => {
        seen.push(init.headers.Authorization);
        return init.headers.Authorization === "Bearer id-token-1"
          ? answer(200, { token: "id-token-1", expiresAt: Date.now() + 3600_000 })
          : answer(401, {}, 'Bearer realm="Tessera"');
      },
    );
    assert.equal(await s.token(), "id-token-1");
    assert.deepEqual(seen, [undefined, "Bearer id-token-1"]);
    assert.deepEqual(await s.headers(), { Authorization: "Bearer id-token-1" });
  });

  test("signed in with the Firebase SDK: hellos and the API carry its ID token, no /api/session, no prompt; invalidate() asks for a fresh one", async () => {
    const asked: boolean[] = [];
    let n = 0;
    const sdk = { idToken: async (refresh = false) => (asked.push(refresh), `sdk-token-${++n}`) };
    const s = new SessionSource(
      memoryStorage(),
      () => assert.fail("no prompt"),
      async () => assert.fail("no /api/session"),
      Date.now,
      async () => sdk,
    );
    assert.equal(await s.token(), "sdk-token-1");
    assert.deepEqual(await s.headers(), { Authorization: "Bearer sdk-token-2" });
    s.invalidate();
    assert.equal(await s.token(), "sdk-token-3");
    assert.deepEqual(asked, [false, false, true]);
  });

  test("a given ID token wins over the SDK sign-in until the server refuses it; then the SDK takes over, not the prompt", async () => {
    const storage = memoryStorage();
    storage.setItem("tessera.idToken", "given");
    let valid = true;
    const sdk = { idToken: async () => "sdk-token" };
    const s = new SessionSource(
      storage,
      () => assert.fail("no prompt"),
      async (_url, init) =>
        valid && init.headers.Authorization === "Bearer given"
          ? answer(200, { token: "given", expiresAt: Date.now() + 3600_000 })
          : answer(401, {}, 'Bearer realm="Tessera"'),
      Date.now,
      async () => sdk,
    );
    assert.equal(await s.token(), "given");
    assert.deepEqual(await s.headers(), { Authorization: "Bearer given" });
    valid = false;
    s.invalidate();
    assert.equal(await s.token(), "sdk-token");
    assert.equal(storage.map.has("tessera.idToken"), false, "the refused token is forgotten");
    assert.deepEqual(await s.headers(), { Authorization: "Bearer sdk-token" });
  });

  test("prepare() starts the SDK sign-in at once, unless the tab was given a token", async () => {
    for (const given of [false, true]) {
      const storage = memoryStorage();
      if (given) storage.setItem("tessera.idToken", "given");
      let started = 0;
      const s = new SessionSource(
        storage,
        () => undefined,
        undefined,
        undefined,
        async () => (started++, undefined),
      );
      s.prepare();
      assert.equal(started, given ? 0 : 1);
    }
  });

  test("a #token= or #key= fragment moves into storage and out of the address bar", () => {
    const storage = memoryStorage();
    let replaced = "";
    assert.deepEqual(
      adoptFragmentToken({ hash: "#token=abc.def-_g", pathname: "/", search: "?device=x" }, storage, (u) => (replaced = u)),
      { kind: "token" },
    );
    assert.equal(storage.map.get("tessera.idToken"), "abc.def-_g");
    assert.equal(replaced, "/?device=x");
    assert.equal(
      adoptFragmentToken({ hash: "#other", pathname: "/", search: "" }, storage, () => assert.fail("no token, no replace")),
      undefined,
    );
    assert.deepEqual(
      adoptFragmentToken({ hash: "#key=tk_0123456789ab.s3cr-t_", pathname: "/device.html", search: "?id=a" }, storage, (u) => (replaced = u)),
      { kind: "key", keyId: "tk_0123456789ab" },
    );
    assert.equal(storedDeviceKey(storage), "tk_0123456789ab.s3cr-t_");
    assert.deepEqual(linkCredential(storage), { kind: "key", keyId: "tk_0123456789ab" }, "noted for the tab's later loads");
    linkCredentialConfirmed(storage);
    assert.equal(linkCredential(storage), undefined);
    assert.equal(storage.map.get("tessera.idToken"), "abc.def-_g", "a key does not replace the ID token");
    assert.equal(replaced, "/device.html?id=a");
  });
});
