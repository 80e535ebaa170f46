import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { WEB_ROOT } from "../app.js";
import { inlineScriptHashes } from "../http/security.js";
import { waitForAsync } from "../../e2e/lib/signaling-client.js";
import { rawRequest, startServer } from "./fixture.js";

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

/** A GET with exactly the Accept-Encoding given (fetch would add its own and decompress). */
const rawGet = (url: string, acceptEncoding: string) => rawRequest(url, { headers: acceptEncoding ? { "Accept-Encoding": acceptEncoding } : {} });

describe("the web app's files", () => {
  test("go brotli- or gzip-compressed to a client that takes it, as they are to one that does not", async () => {
    const server = await startServer();
    try {
      for (const [path, file, type] of [
        ["/viewer.js", "viewer.js", /javascript/],
        ["/style.css", "style.css", /css/],
        ["/device.html", "device.html", /html/],
      ] as const) {
        const plain = readFileSync(join(WEB_ROOT, file));
        const br = await rawGet(`${server.httpUrl}${path}`, "gzip, deflate, br");
        assert.equal(br.status, 200);
        assert.equal(br.headers["content-encoding"], "br", path);
        assert.match(String(br.headers["content-type"]), type);
        assert.match(String(br.headers.vary), /Accept-Encoding/);
        assert.ok(br.body.length < plain.length / 2, `${path}: ${br.body.length} bytes for ${plain.length}`);
        assert.deepEqual(brotliDecompressSync(br.body), plain, path);
        const gz = await rawGet(`${server.httpUrl}${path}`, "gzip");
        assert.equal(gz.headers["content-encoding"], "gzip", path);
        assert.deepEqual(gunzipSync(gz.body), plain, path);
        const identity = await rawGet(`${server.httpUrl}${path}`, "");
        assert.equal(identity.headers["content-encoding"], undefined, path);
        assert.deepEqual(identity.body, plain, path);
      }
      const page = await rawGet(`${server.httpUrl}/`, "gzip, br");
      assert.equal(page.status, 200);
      assert.equal(page.headers["content-encoding"], "br", "the viewer page at / too");
      assert.deepEqual(brotliDecompressSync(page.body), readFileSync(join(WEB_ROOT, "index.html")));
    } finally {
      await server.stop();
    }
  });

  test("the viewer page's inline script, and only it, runs by its hash in the pages' Content-Security-Policy", async () => {
    const server = await startServer();
    try {
      const res = await fetch(`${server.httpUrl}/`);
      const html = await res.text();
      const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      assert.equal(inline.length, 1, "the viewer page opens its socket from one inline script");
      const hash = createHash("sha256").update(inline[0]).digest("base64");
      const scriptSrc = /script-src ([^;]*)/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
      assert.equal(scriptSrc, `'self' 'sha256-${hash}'`);
    } finally {
      await server.stop();
    }
  });

  test("inlineScriptHashes: each attribute-less <script> of every page, once; none for a directory that cannot be read", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-csp-"));
    try {
      const sha = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
      writeFileSync(join(dir, "a.html"), '<script>one()</script><script type="module" src="/a.js"></script><script>\n two();\n</script>');
      writeFileSync(join(dir, "b.html"), "<script>one()</script>");
      writeFileSync(join(dir, "c.txt"), "<script>three()</script>");
      assert.deepEqual(inlineScriptHashes(dir), [sha("one()"), sha("\n two();\n")].sort());
      assert.deepEqual(inlineScriptHashes(join(dir, "missing")), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
