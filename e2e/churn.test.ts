/**
 * Churn, at the size `npm test` can afford (`npm run bench:churn` runs
 * 1,000/1,000/200/200): WebRTC viewers, fallback viewers, devices and WHIP
 * sessions join and leave one server process, and every count it exposes
 * (peer connections, werift listeners, pipelines, limits in use, Node's
 * active sockets and timers) comes back to its baseline. RSS is bounded per
 * cycle: a fallback viewer used to cost ~4 MB for good (every GStreamer
 * pipeline, and its owner's last pictures, were kept forever).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { census, churn, settle, type ChurnKind } from "../bench/churn-cycles.js";
import { ServerProcess } from "../bench/server-process.js";

/**
 * Cycles per kind here, and the RSS growth allowed for them (MB): about half
 * what the old per-cycle leak would add (60 fallback viewers: ~235 MB), with
 * room for the heap a busy machine has not collected yet (37-70 MB seen).
 */
const PLAN: Array<{ kind: ChurnKind; cycles: number; maxGrowthMb: number }> = [
  { kind: "fallback-viewer", cycles: 60, maxGrowthMb: 120 },
  { kind: "webrtc-viewer", cycles: 30, maxGrowthMb: 60 },
  { kind: "device", cycles: 8, maxGrowthMb: 40 },
  { kind: "whip", cycles: 8, maxGrowthMb: 40 },
];
/** werift ends a closed peer's ICE consent timer within ~30 s. */
const SETTLE_MS = 45_000;

describe("churn", () => {
  let server: ServerProcess;
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-churn-test-"));
  before(async () => {
    server = await ServerProcess.start(["--port", "0", "--source", "test", "--ice-host", "127.0.0.1", "--data-dir", dataDir], {
      ...process.env,
      UV_THREADPOOL_SIZE: "128",
    });
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const { kind, cycles, maxGrowthMb } of PLAN) {
    test(`${cycles} ${kind} joins and leaves: every count back to its baseline, RSS within ${maxGrowthMb} MB`, { timeout: 180_000 }, async (t) => {
      await churn(server, kind, 3);
      const base = (await settle(server, await census(server), SETTLE_MS)).census;
      await churn(server, kind, cycles);
      const after = await settle(server, base, SETTLE_MS);
      const growthMb = (after.census.rssBytes - base.rssBytes) / 1048576;
      t.diagnostic(
        `RSS ${(base.rssBytes / 1048576).toFixed(1)} → ${(after.census.rssBytes / 1048576).toFixed(1)} MB; counts back in ${Math.round(after.ms)} ms`,
      );
      assert.deepEqual(after.left, {}, "counts above their baseline");
      assert.ok(growthMb < maxGrowthMb, `RSS grew ${growthMb.toFixed(1)} MB over ${cycles} cycles`);
      // The census is not empty: it sees the server's sockets and timers.
      assert.ok(
        Object.keys(base.counts).some((k) => k.startsWith("resources:")),
        JSON.stringify(base.counts),
      );
    });
  }
});
