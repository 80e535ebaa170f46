import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { waitForAsync } from "../../e2e/lib/signaling-client.js";
import { startServer } from "./fixture.js";

describe("operational endpoints", () => {
  test("/readyz is 200 once the test device's pipeline runs, 503 while shutting down", async () => {
    const server = await startServer({ source: [{ kind: "test" }] });
    try {
      await waitForAsync(async () => (await fetch(`${server.httpUrl}/readyz`)).status === 200, 10_000, "ready");
      assert.deepEqual(await (await fetch(`${server.httpUrl}/readyz`)).json(), { status: "ready" });
      await server.app.close();
      const res = await fetch(`${server.httpUrl}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { status: string }).status, "not_ready");
    } finally {
      await server.stop();
    }
  });

  test("--metrics-token protects /metrics with a bearer token", async () => {
    const server = await startServer({ metricsToken: "s3cret-token" });
    try {
      const none = await fetch(`${server.httpUrl}/metrics`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
      const wrong = await fetch(`${server.httpUrl}/metrics`, { headers: { Authorization: "Bearer s3cret-tokeN" } });
      assert.equal(wrong.status, 401);
      const right = await fetch(`${server.httpUrl}/metrics`, { headers: { Authorization: "Bearer s3cret-token" } });
      assert.equal(right.status, 200);
      assert.match(await right.text(), /^# HELP tessera_/m);
      assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200, "/healthz stays open");
    } finally {
      await server.stop();
    }
  });
});
