import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCoturn, type Coturn } from "../../e2e/lib/coturn.js";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { turnRestCredential } from "../../turn/credentials.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";
import { startServer, type Running } from "./fixture.js";

const SECRET = "tessera-test-secret";

describe("TURN through a real coturn", () => {
  let coturn: Coturn;
  let server: Running;
  let port: number;
  const viewers: WeriftViewer[] = [];

  before(async () => {
    coturn = await startCoturn(SECRET);
    port = coturn.port;
    server = await startServer({ source: "test", turnUris: [`turn:127.0.0.1:${port}?transport=udp`], turnSecret: SECRET, turnTtlSeconds: 600 });
  });

  after(async () => {
    for (const v of viewers) await v.close();
    await server?.stop();
    coturn?.stop();
  });

  async function rtcConfig(): Promise<RtcConfiguration> {
    const res = await fetch(`${server.httpUrl}/api/rtc-config`);
    assert.equal(res.status, 200);
    return (await res.json()) as RtcConfiguration;
  }

  test("/api/rtc-config hands out coturn REST credentials for the account", async () => {
    const c = await rtcConfig();
    assert.equal(c.ttl, 600);
    assert.equal(c.iceServers.length, 1);
    const [turn] = c.iceServers;
    assert.deepEqual(turn.urls, [`turn:127.0.0.1:${port}?transport=udp`]);
    assert.match(turn.username!, /^\d+:local$/);
    const expiry = Number(turn.username!.split(":")[0]);
    assert.ok(Math.abs(expiry - (Date.now() / 1000 + 600)) < 5);
    const relay = (await (await fetch(`${server.httpUrl}/api/rtc-config?relay=1`)).json()) as RtcConfiguration;
    assert.equal(relay.iceTransportPolicy, "relay");
  });

  test("a relay-only viewer with those credentials plays the device through coturn", async () => {
    const { iceServers } = await rtcConfig();
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true, iceServers, relay: true });
    viewers.push(viewer);
    viewer.watch("test");
    const stream = await waitFor(() => viewer.streams.get("test"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 5, 15_000, "frames through the relay");
    const sdp = stream.pc.localDescription?.sdp ?? "";
    assert.match(sdp, /typ relay/, "the viewer's candidates are relayed");
    assert.doesNotMatch(sdp, /typ host/, "and only relayed");
  });

  test("coturn refuses tampered and expired credentials: no relay candidate, no media", async () => {
    const good = turnRestCredential(SECRET, "local", 600, Date.now());
    const cases = {
      tampered: { username: good.username, credential: good.credential.replace(/^./, (ch) => (ch === "A" ? "B" : "A")) },
      expired: turnRestCredential(SECRET, "local", 60, Date.now() - 120_000),
    };
    // Both at once: each waits out werift's TURN allocation timeout.
    await Promise.all(
      Object.entries(cases).map(async ([name, { username, credential }]) => {
        const viewer = await WeriftViewer.connect(server.wsUrl, {
          iceServers: [{ urls: `turn:127.0.0.1:${port}?transport=udp`, username, credential }],
          relay: true,
        });
        viewers.push(viewer);
        viewer.watch("test");
        const stream = await waitFor(() => viewer.streams.get("test"), 20_000, `${name}: offer`);
        await waitFor(() => stream.pc.iceGatheringState === "complete", 20_000, `${name}: gathering to end`);
        assert.doesNotMatch(stream.pc.localDescription?.sdp ?? "", /typ relay/, `${name}: no relay candidate`);
        assert.equal(stream.videoPackets, 0, `${name}: no media`);
      }),
    );
  });
});
