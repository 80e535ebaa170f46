import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startCoturn, type Coturn } from "../../e2e/lib/coturn.js";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
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
    server = await startServer({ source: [{ kind: "test" }], turnUris: [`turn:127.0.0.1:${port}?transport=udp`], turnSecret: SECRET, turnTtlSeconds: 600 });
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

  test("the server's own peers allocate on coturn too: its offer carries a relay candidate", async () => {
    const viewer = await WeriftViewer.connect(server.wsUrl, {});
    viewers.push(viewer);
    viewer.watch("test");
    const stream = await waitFor(() => viewer.streams.get("test"), 5000, "offer");
    const offer = stream.pc.remoteDescription?.sdp ?? "";
    assert.match(offer, /typ relay/, "a relayed candidate from coturn in the server's offer");
    await waitFor(() => stream.videoPackets > 0, 15_000, "media");
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

describe("TURN REST service and iceServers file as sources", () => {
  let coturn: Coturn;
  let server: Running;
  let rest: Server;
  let restUrl: string;
  const asked: URLSearchParams[] = [];
  const dir = mkdtempSync(join(tmpdir(), "tessera-ice-"));
  const file = join(dir, "ice.json");
  const viewers: WeriftViewer[] = [];

  /** Writes the servers file the way a config manager does: a new file renamed over the old. */
  function writeServersFile(servers: unknown): void {
    writeFileSync(`${file}.tmp`, JSON.stringify(servers));
    chmodSync(`${file}.tmp`, 0o644);
    renameSync(`${file}.tmp`, file);
  }

  before(async () => {
    coturn = await startCoturn(SECRET);
    // A TURN REST service in front of coturn, as operators run one: it knows the secret, clients do not.
    rest = createServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams;
      asked.push(q);
      if (q.get("service") !== "turn" || q.get("key") !== "api-key") {
        res.writeHead(403).end();
        return;
      }
      const c = turnRestCredential(SECRET, q.get("username") ?? "", 300, Date.now());
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ username: c.username, password: c.credential, ttl: 300, uris: [coturn.uri] }));
    });
    await new Promise<void>((r) => rest.listen(0, "127.0.0.1", r));
    restUrl = `http://127.0.0.1:${(rest.address() as { port: number }).port}/turn-credentials`;
    // coturn answers STUN too; a STUN server that never answers would hold every server peer's gathering.
    writeServersFile({ iceServers: [{ urls: `stun:127.0.0.1:${coturn.port}` }] });
    server = await startServer({ source: [{ kind: "test" }], iceServersFile: file, turnRestUrl: restUrl, turnRestKey: "api-key" });
  });

  after(async () => {
    for (const v of viewers) await v.close();
    await server?.stop();
    await new Promise((r) => rest?.close(r));
    coturn?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rtcConfig(): Promise<RtcConfiguration> {
    const res = await fetch(`${server.httpUrl}/api/rtc-config`);
    assert.equal(res.status, 200);
    return (await res.json()) as RtcConfiguration;
  }

  test("clients get the file's servers and the service's credentials; those credentials relay media", async () => {
    const c = await rtcConfig();
    assert.deepEqual(c.iceServers[0], { urls: [`stun:127.0.0.1:${coturn.port}`] });
    assert.deepEqual(c.iceServers[1].urls, [coturn.uri]);
    assert.match(c.iceServers[1].username!, /^\d+:local$/);
    assert.ok(c.ttl > 250 && c.ttl <= 300, `ttl follows the service's credentials: ${c.ttl}`);
    assert.ok(
      asked.some((q) => q.get("username") === "local"),
      "the service was asked for the account",
    );
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true, iceServers: c.iceServers, relay: true });
    viewers.push(viewer);
    viewer.watch("test");
    const stream = await waitFor(() => viewer.streams.get("test"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 5, 15_000, "frames through the relay");
  });

  test("a changed file is served without a restart; the service going away keeps valid credentials", async () => {
    const stun = `stun:localhost:${coturn.port}`;
    writeServersFile([{ urls: [stun] }]);
    await waitForAsync(async () => (await rtcConfig()).iceServers[0].urls[0] === stun, 5000, "the reloaded file");
    await new Promise((r) => rest.close(r));
    const c = await rtcConfig();
    assert.match(c.iceServers[1]?.username ?? "", /^\d+:local$/, "cached credentials still served");
  });
});

describe("the server's own ICE options", () => {
  let server: Running;
  const viewers: WeriftViewer[] = [];

  before(async () => {
    server = await startServer({ source: [{ kind: "test" }], icePortRange: [41_200, 41_239], publicIp: "203.0.113.7" });
  });

  after(async () => {
    for (const v of viewers) await v.close();
    await server?.stop();
  });

  test("--ice-port-range bounds the ports it binds; --public-ip is what its host candidates announce", async () => {
    const viewer = await WeriftViewer.connect(server.wsUrl, {});
    viewers.push(viewer);
    viewer.watch("test");
    const stream = await waitFor(() => viewer.streams.get("test"), 5000, "offer");
    const candidates = (stream.pc.remoteDescription?.sdp ?? "").split("\r\n").filter((l) => l.startsWith("a=candidate:"));
    assert.ok(candidates.length > 0, "the offer carries candidates");
    for (const c of candidates) {
      const [, , , , address, port, , type] = c.split(" ");
      assert.equal(type, "host");
      assert.equal(address, "203.0.113.7", c);
      assert.ok(Number(port) >= 41_200 && Number(port) <= 41_239, `port ${port} in range`);
    }
  });
});
