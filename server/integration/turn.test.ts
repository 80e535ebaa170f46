import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { turnRestCredential } from "../../turn/credentials.js";
import type { RtcConfiguration } from "../../turn/ice-config.js";
import { startServer, type Running } from "./fixture.js";

const TURNSERVER = "/usr/bin/turnserver";
const SECRET = "tessera-test-secret";

/** A TCP port nobody listens on right now (coturn takes UDP and TCP on it). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function listening(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });
}

describe("TURN through a real coturn", () => {
  let coturn: ChildProcess;
  let server: Running;
  let port: number;
  const viewers: WeriftViewer[] = [];

  before(async () => {
    assert.ok(existsSync(TURNSERVER), `${TURNSERVER} is missing: install Debian's coturn (npm test's bootstrap does)`);
    port = await freePort();
    coturn = spawn(
      TURNSERVER,
      [
        "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`,
        "--use-auth-secret", `--static-auth-secret=${SECRET}`, "--realm=tessera.test",
        "--no-tls", "--no-dtls", "--allow-loopback-peers", "--no-cli", "--log-file=stdout",
        `--min-port=${port + 1}`, `--max-port=${port + 200}`,
      ],
      { stdio: "ignore" },
    );
    await waitForAsync(() => listening(port), 10_000, "coturn listening");
    server = await startServer({ source: "test", turnUris: [`turn:127.0.0.1:${port}?transport=udp`], turnSecret: SECRET, turnTtlSeconds: 600 });
  });

  after(async () => {
    for (const v of viewers) await v.close();
    await server?.stop();
    coturn?.kill("SIGKILL");
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
