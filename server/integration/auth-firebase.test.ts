import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FirebaseAuthEmulator } from "../../e2e/lib/firebase-emulator.js";
import { SignalingClient } from "../../e2e/lib/signaling-client.js";
import { startServer, type Running } from "./fixture.js";
import { checkIsolation, type Caller } from "./isolation.js";

/** Re-encodes an emulator ID token (the emulator signs nothing: alg "none") with changed claims. */
function withClaims(idToken: string, change: (claims: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, payload] = idToken.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  return `${header}.${Buffer.from(JSON.stringify(change(claims))).toString("base64url")}.`;
}

async function helloCloseCode(server: Running, token: string | undefined): Promise<number | "welcome"> {
  const c = await SignalingClient.connect(server.wsUrl);
  c.send({ type: "hello", role: "viewer", protocol: 1, ...(token === undefined ? {} : { token }) });
  const code = await Promise.race([c.closed(), c.next("welcome").then(() => "welcome" as const)]);
  c.close();
  return code;
}

describe("--auth firebase against the Firebase Auth emulator", () => {
  let emulator: FirebaseAuthEmulator;
  let server: Running;
  let a: { uid: string; idToken: string };
  let b: { uid: string; idToken: string };
  const savedHost = process.env.FIREBASE_AUTH_EMULATOR_HOST;

  before(async () => {
    emulator = await FirebaseAuthEmulator.start();
    process.env.FIREBASE_AUTH_EMULATOR_HOST = emulator.host;
    server = await startServer({ auth: "firebase", firebaseProject: emulator.projectId });
    a = await emulator.signUp("a@tessera.test");
    b = await emulator.signUp("b@tessera.test");
  });

  after(async () => {
    await server?.stop();
    await emulator?.stop();
    if (savedHost === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
    else process.env.FIREBASE_AUTH_EMULATOR_HOST = savedHost;
  });

  test("the API takes the ID token as a Bearer token; pages stay open; POST /api/session hands it back for the sockets", async () => {
    const none = await fetch(`${server.httpUrl}/api/devices`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="Tessera"');
    assert.equal((await fetch(`${server.httpUrl}/`)).status, 200);
    const res = await fetch(`${server.httpUrl}/api/session`, { method: "POST", headers: { Authorization: `Bearer ${a.idToken}` } });
    assert.equal(res.status, 200);
    const s = (await res.json()) as { account: string; token: string; expiresAt: number };
    assert.equal(s.account, a.uid);
    assert.equal(s.token, a.idToken);
    assert.ok(s.expiresAt > Date.now() + 50 * 60_000);
    assert.equal(await helloCloseCode(server, s.token), "welcome");
  });

  test("isolation: A sees, watches and streams A's device; B on no path", async () => {
    const caller = (u: { uid: string; idToken: string }): Caller => ({ account: u.uid, token: u.idToken, headers: { Authorization: `Bearer ${u.idToken}` } });
    await checkIsolation(server, caller(a), caller(b));
  });

  test("tampered, expired, foreign-project and missing tokens get 4401 on /ws and 401 on the API", async () => {
    const hour = 3600;
    const expired = withClaims(a.idToken, (c) => ({
      ...c,
      iat: (c.iat as number) - 2 * hour,
      auth_time: (c.auth_time as number) - 2 * hour,
      exp: (c.exp as number) - 2 * hour,
    }));
    const tampered = a.idToken + "c2lnbmF0dXJl"; // a signature where the emulator's tokens have none
    const foreign = withClaims(a.idToken, (c) => ({ ...c, aud: "another-project", iss: "https://securetoken.google.com/another-project" }));
    const metric = async (reason: string) =>
      Number(new RegExp(`^tessera_auth_failures_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(await server.app.metrics.text())?.[1] ?? 0);
    for (const [token, reason] of [
      [expired, "expired_token"],
      [tampered, "bad_token"],
      [foreign, "bad_token"],
      ["garbage", "bad_token"],
      [undefined, "no_token"],
    ] as const) {
      const was = await metric(reason);
      assert.equal(await helloCloseCode(server, token), 4401, `${reason}: ${String(token).slice(0, 20)}`);
      assert.equal(await metric(reason), was + 1, reason);
      if (token) assert.equal((await fetch(`${server.httpUrl}/api/devices`, { headers: { Authorization: `Bearer ${token}` } })).status, 401);
    }
  });
});
