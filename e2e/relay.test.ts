/** A viewer forced onto TURN (?relay=1) plays through a real coturn with the server's REST credentials. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import { startCoturn, type Coturn } from "./lib/coturn.js";
import { framesAdvance, launchBrowser, startServer, withPages, type TestServer } from "./harness.js";

const SECRET = "tessera-e2e-turn";
let coturn: Coturn | undefined;
let server: TestServer | undefined;
let browser: Browser | undefined;

before(async () => {
  coturn = await startCoturn(SECRET);
  server = await startServer({ args: ["--turn-uri", coturn.uri, "--turn-secret", SECRET] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close();
  coturn?.stop();
});

test("with ?relay=1 the viewer plays the test device through coturn (selected pair is relay)", { timeout: 60_000 }, (t) =>
  withPages(t, { server: server!, browser: browser! }, async (pages) => {
    const page = await pages.viewer("test", "viewer", { relay: "1" });
    await framesAdvance(page, 30, 20_000);
    // A string, so node's type check (no DOM types) stays out of the page's code.
    const selectedPair = () =>
      page.evaluate<{ state?: string; localType?: string; relayProtocol?: string; config: string }>(`(async () => {
      const pc = window.tessera.pc;
      const stats = await pc.getStats();
      let selected;
      stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) selected = s.selectedCandidatePairId; });
      const p = selected ? stats.get(selected) : undefined;
      const local = p ? stats.get(p.localCandidateId) : undefined;
      return { state: p && p.state, localType: local && local.candidateType, relayProtocol: local && local.relayProtocol, config: pc.getConfiguration().iceTransportPolicy };
    })()`);
    // Media may flow before Chromium marks the selected pair's own check done (it is "in-progress" while a check is out).
    let pair = await selectedPair();
    for (const deadline = Date.now() + 10_000; pair.state !== "succeeded" && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100)))
      pair = await selectedPair();
    t.diagnostic(`selected pair: ${JSON.stringify(pair)}`);
    assert.equal(pair.config, "relay");
    assert.equal(pair.state, "succeeded");
    assert.equal(pair.localType, "relay", "media flows through coturn");
  }),
);
