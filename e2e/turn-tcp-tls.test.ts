/**
 * UDP blocked for the browser: Chromium still plays over WebRTC, relayed by
 * a real coturn over TCP and over TLS (a certificate this test makes). The
 * server and coturn live in one network namespace and Chromium in another,
 * joined by a veth pair (e2e/lib/netns.ts); nftables drops every UDP packet
 * the browser's namespace sends. The server hands out the TURN URIs
 * (`--turn-uri`) with REST credentials like any other.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { framesAdvance, launchBrowser, startServer, viewerState, waitFor, withPages, type TestServer } from "./harness.js";
import { startCoturn, type Coturn } from "./lib/coturn.js";
import { createNetnsPair, droppedUdp, dropUdp, type Netns } from "./lib/netns.js";

const SECRET = "tessera-e2e-turn-tls";

let pair: { server: Netns; client: Netns; destroy(): Promise<void> } | undefined;
let certDir: string | undefined;
let coturn: Coturn | undefined;
let browser: Browser | undefined;
const servers: TestServer[] = [];

before(async () => {
  pair = await createNetnsPair("turn");
  certDir = mkdtempSync(join(tmpdir(), "tessera-turn-tls-"));
  const [cert, key] = [join(certDir, "cert.pem"), join(certDir, "key.pem")];
  const address = pair.server.address;
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${address}`,
      "-addext",
      `subjectAltName=IP:${address}`,
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  coturn = await startCoturn(SECRET, { wrap: pair.server.exec, address, tls: { cert, key } });
  // Chromium checks a TURN server's certificate like a web site's; this one is the test's own.
  browser = await launchBrowser(pair.client.exec, ["--ignore-certificate-errors"]);
  dropUdp(pair.client, 100);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await Promise.all(servers.map((s) => s.close()));
  coturn?.stop();
  await pair?.destroy();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** A server in the server's namespace that hands out only `turnUri` (plus coturn's UDP URI, which the browser cannot use). */
async function serverWith(turnUri: string): Promise<TestServer> {
  const { server: ns } = pair!;
  const server = await startServer({
    wrap: [...ns.exec],
    iceHost: ns.address,
    // A namespace only this test reaches: no sign-in off loopback is fine here.
    args: ["--host", ns.address, "--insecure-no-auth", "--turn-uri", coturn!.uri, "--turn-uri", turnUri, "--turn-secret", SECRET],
  });
  servers.push(server);
  return server;
}

/** The selected candidate pair's local side, as Chromium reports it. */
function selectedLocal(page: Page): Promise<{ state?: string; type?: string; relayProtocol?: string; protocol?: string }> {
  // A string, so node's type check (no DOM types) stays out of the page's code.
  return page.evaluate(`(async () => {
    const stats = await window.tessera.pc.getStats();
    let selected;
    stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) selected = s.selectedCandidatePairId; });
    const p = selected ? stats.get(selected) : undefined;
    const local = p ? stats.get(p.localCandidateId) : undefined;
    return { state: p && p.state, type: local && local.candidateType, relayProtocol: local && local.relayProtocol, protocol: local && local.protocol };
  })()`);
}

for (const via of ["tcp", "tls"] as const) {
  test(`with UDP blocked, the viewer (transport auto) plays over WebRTC through TURN over ${via.toUpperCase()}`, { timeout: 60_000 }, async (t) => {
    const uri = via === "tcp" ? coturn!.tcpUri : coturn!.tlsUri!;
    const server = await serverWith(uri);
    await withPages(t, { server, browser: browser! }, async (pages) => {
      const page = await pages.viewer("test", `viewer-${via}`, { transport: "auto" });
      const { ms } = await framesAdvance(page, 30, 30_000);
      // Media can flow over the nominated pair before its last check has
      // answered (Chromium then reports it "in-progress"); wait for that.
      const local = await waitFor(
        "the selected pair to succeed",
        async () => {
          const l = await selectedLocal(page);
          return l.state === "succeeded" && l;
        },
        { timeoutMs: 10_000 },
      ).catch(() => selectedLocal(page));
      const v = await viewerState(page);
      const tl = v.timeline;
      const connectMs = tl?.connectedAt != null && tl.answerSentAt != null ? (tl.connectedAt - tl.answerSentAt).toFixed(0) : "?";
      t.diagnostic(
        `${uri}: connected ${connectMs} ms after the answer; 30 frames in ${ms} ms; selected ${JSON.stringify(local)}; transport ${v.transport}; ${droppedUdp(pair!.client)} UDP packets dropped so far`,
      );
      assert.equal(v.transport, "webrtc", "no fallback to the WebSocket stream");
      assert.equal(local.state, "succeeded");
      assert.equal(local.type, "relay", "media flows through coturn");
      assert.equal(local.relayProtocol, via, `relayed over ${via}`);
      assert.ok(droppedUdp(pair!.client) > 0, "the browser did try UDP, and lost it");
    });
  });
}
