/**
 * Secrets never reach a log line or a client-visible error: a server with
 * every kind of secret (a user's password, session tokens, a device key, the
 * TURN secret and TURN REST key, the metrics token) logs at debug level while
 * clients use each one rightly and wrongly; then every log line, every error
 * answer and every socket error is searched for each secret and for the
 * wrong guesses made of them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { SignalingClient } from "../../e2e/lib/signaling-client.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { freePort } from "../../e2e/lib/ports.js";
import { UsersFile } from "../auth/users-file.js";
import { createLogger } from "../log.js";
import { startServer, type Running } from "./fixture.js";

const PASSWORD = "Correct-Horse-Battery-0917";
const TURN_SECRET = "turn-static-auth-secret-5c1e";
const TURN_REST_KEY = "turn-rest-api-key-77d0";
const METRICS_TOKEN = "metrics-bearer-token-a41b";
const basic = (password: string) => ({ Authorization: `Basic ${Buffer.from(`alice:${password}`).toString("base64")}` });
/** A guess one character off a secret: as secret as the secret itself for whoever reads the log. */
const nearly = (s: string) => s.slice(0, -1) + (s.at(-1) === "x" ? "y" : "x");

describe("secrets stay out of logs and error messages", () => {
  let server: Running;
  let dataDir: string;
  const logLines: string[] = [];
  /** Everything a client was shown: HTTP error bodies, socket errors and close reasons. */
  const shown: string[] = [];

  before(async () => {
    dataDir = join(mkdtempSync(join(tmpdir(), "tessera-secrets-")), "data");
    await new UsersFile(dataDir).set("alice", PASSWORD);
    // A TURN REST service that is not there: its failures are logged, with the URL it was asked.
    const deadPort = await freePort();
    server = await startServer(
      {
        auth: "basic",
        dataDir,
        turnUris: ["turn:turn.example:3478?transport=udp"],
        turnSecret: TURN_SECRET,
        turnRestUrl: `http://127.0.0.1:${deadPort}/turn`,
        turnRestKey: TURN_REST_KEY,
        metricsToken: METRICS_TOKEN,
      },
      { log: createLogger("debug", "tessera", (line) => (logLines.push(line), true)) },
    );
  });
  after(async () => {
    await server?.stop();
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
  });

  /** A request; a refusal's body is kept as shown to the client. */
  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${server.httpUrl}${path}`, init);
    if (res.status >= 400) shown.push(await res.clone().text());
    return res;
  }

  /** A socket hello; the errors and close reason it got are kept. */
  async function hello(url: string, message: object): Promise<void> {
    const ws = new WebSocket(url);
    const closed = new Promise<void>((resolve) =>
      ws.on("close", (_code, reason) => {
        shown.push(reason.toString());
        resolve();
      }),
    );
    ws.on("message", (data, binary) => !binary && shown.push((data as Buffer).toString()));
    await new Promise((resolve) => ws.once("open", resolve));
    ws.send(JSON.stringify(message));
    await Promise.race([closed, new Promise((resolve) => ws.once("message", resolve))]);
    ws.close();
    await closed;
  }

  test("used rightly and wrongly, no secret and no near guess of one is logged or shown", async () => {
    // Passwords: right, wrong, and given where a token goes.
    assert.equal((await call("/api/devices", { headers: basic(PASSWORD) })).status, 200);
    assert.equal((await call("/api/devices", { headers: basic(nearly(PASSWORD)) })).status, 401);
    const { token } = (await (await call("/api/session", { method: "POST", headers: basic(PASSWORD) })).json()) as { token: string };
    const ws = server.wsUrl;
    const viewer = await SignalingClient.connect(ws);
    viewer.send({ type: "hello", role: "viewer", protocol: 1, token });
    await viewer.next("welcome");
    viewer.close();
    for (const bad of [nearly(token), PASSWORD, `${token}${token}`]) await hello(ws, { type: "hello", role: "viewer", protocol: 1, token: bad });
    await hello(ws, { type: "hello", role: "device", protocol: 1, token: nearly(token), device: { id: "cam" } });

    // A device key: made, used for a push, tampered with, revoked and used again.
    const made = (await (
      await call("/api/keys", { method: "POST", headers: { ...basic(PASSWORD), "Content-Type": "application/json" }, body: JSON.stringify({ label: "k" }) })
    ).json()) as { id: string; key: string };
    const jpeg = testJpeg(32, 24);
    const push = (key: string) =>
      call("/api/devices/cam/frames", { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "image/jpeg" }, body: jpeg });
    assert.equal((await push(made.key)).status, 201);
    assert.equal((await push(nearly(made.key))).status, 401);
    await hello(`${ws}/ingest/cam2`, { type: "hello", key: nearly(made.key) });
    await hello(ws, { type: "hello", role: "device", protocol: 1, key: nearly(made.key), device: { id: "cam3" } });
    assert.equal((await call(`/api/keys/${made.id}`, { method: "DELETE", headers: basic(PASSWORD) })).status, 200);
    assert.equal((await push(made.key)).status, 401);

    // The metrics token, right and wrong; TURN credentials made from the secret, and the REST service failing.
    assert.equal((await call("/metrics", { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status, 200);
    assert.equal((await call("/metrics", { headers: { Authorization: `Bearer ${nearly(METRICS_TOKEN)}` } })).status, 401);
    const rtc = (await (await call("/api/rtc-config", { headers: basic(PASSWORD) })).json()) as { iceServers: Array<{ credential?: string }> };
    const turnCredential = rtc.iceServers.find((s) => s.credential)?.credential;
    assert.ok(turnCredential, "alice got a TURN credential");

    // Refused credentials are counted, not logged; what is logged includes the REST service's failures, asked with the key.
    assert.ok(
      logLines.some((l) => l.includes("TURN REST")),
      `the REST failure was logged: ${logLines.join(" | ")}`,
    );
    assert.ok(shown.length > 10, `clients were shown refusals (${shown.length})`);
    const secrets: Record<string, string> = {
      password: PASSWORD,
      "near password": nearly(PASSWORD),
      "session token": token,
      "near session token": nearly(token),
      "device key secret": made.key.split(".")[1],
      "near device key": nearly(made.key).split(".")[1],
      "TURN secret": TURN_SECRET,
      "TURN credential": turnCredential,
      "TURN REST key": TURN_REST_KEY,
      "metrics token": METRICS_TOKEN,
      "near metrics token": nearly(METRICS_TOKEN),
    };
    for (const [what, secret] of Object.entries(secrets)) {
      const logged = logLines.find((l) => l.includes(secret));
      assert.equal(logged, undefined, `the ${what} is in a log line: ${logged}`);
      const told = shown.find((s) => s.includes(secret));
      assert.equal(told, undefined, `the ${what} was shown to a client: ${told}`);
    }
  });
});
