/**
 * Requests an attacker would send, each of which once stopped the server or
 * let any website watch a device: oversized SDP, floods of candidates,
 * cross-origin WHIP/WHEP, DNS rebinding with `--auth none`, and a tiny JPEG
 * that claims a huge picture.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { SignalingClient, waitFor } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice } from "../../e2e/lib/werift-peers.js";
import { FallbackClient } from "../../e2e/lib/fallback-client.js";
import { createLogger } from "../log.js";
import { parseVp8Descriptor } from "../relay/vp8.js";
import { UsersFile } from "../auth/users-file.js";
import { MAX_MEDIA_SECTIONS } from "../rtc/limits.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { rawRequest, startServer, type Running } from "./fixture.js";

/** An SDP offer with `sections` video m-lines, each complete enough for a stack to parse (or, `bare`, the m-line alone). */
function bloatedOffer(sections: number, bare = false): string {
  const head = [
    "v=0",
    "o=- 1 1 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuvwx",
    "a=fingerprint:sha-256 " + Array(32).fill("AB").join(":"),
  ];
  const m = (i: number) =>
    bare
      ? [`m=video 9 UDP/TLS/RTP/SAVPF 96`]
      : [`m=video 9 UDP/TLS/RTP/SAVPF 96`, "c=IN IP4 0.0.0.0", `a=mid:${i}`, "a=sendonly", "a=rtpmap:96 VP8/90000", "a=setup:actpass"];
  return [...head, ...Array.from({ length: sections }, (_, i) => m(i)).flat(), ""].join("\r\n");
}

/** Milliseconds /healthz takes to answer: the event loop is free. */
async function healthz(server: Running): Promise<number> {
  const t = Date.now();
  const res = await fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return Date.now() - t;
}

/** Opens a WebSocket upgrade with these headers; resolves "open" or the refusal's status. */
function upgrade(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("open", () => {
      ws.close();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
    ws.on("error", () => resolve("error"));
  });
}

describe("oversized SDP and candidate floods are refused before the WebRTC stack sees them", () => {
  let server: Running;
  const clients: SignalingClient[] = [];
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  test("a /ws device offer with 7,500 m-lines gets bad_request at once, and the server keeps answering", async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    clients.push(c);
    c.send({ type: "hello", role: "device", protocol: 1, device: { id: "bloat" } });
    await c.next("welcome");
    const sdp = bloatedOffer(7500, true);
    assert.ok(sdp.length > 200_000 && sdp.length < 256 * 1024, `${sdp.length} bytes, under the message cap`);
    c.send({ type: "offer", sdp });
    const err = await c.next("error", () => true, 5000);
    assert.equal(err.code, "bad_request");
    assert.match(err.message, /larger than 65536 bytes/);
    assert.ok((await healthz(server)) < 1000);
  });

  test(`an offer under the size cap with more than ${MAX_MEDIA_SECTIONS} m-lines is refused naming the bound`, async () => {
    const c = await SignalingClient.connect(server.wsUrl);
    clients.push(c);
    c.send({ type: "hello", role: "device", protocol: 1, device: { id: "many" } });
    await c.next("welcome");
    c.send({ type: "offer", sdp: bloatedOffer(200) });
    const err = await c.next("error");
    assert.equal(err.code, "bad_request");
    assert.equal(err.message, `the offer has 200 media sections; at most ${MAX_MEDIA_SECTIONS}`);
  });

  test("WHIP and WHEP POSTs under 64 KB with 500 m-lines are 400 at once; everyone else is served", async () => {
    const source = await WeriftDevice.publish(server.wsUrl, { id: "watched" });
    try {
      await waitFor(() => server.app.registry.get("local", "watched")?.online, 10_000, "device online");
      const body = bloatedOffer(500);
      assert.ok(Buffer.byteLength(body) < 64 * 1024, `${body.length} bytes`);
      for (const path of ["/whip/bloat", "/whep/watched"]) {
        const t = Date.now();
        const res = await fetch(`${server.httpUrl}${path}`, { method: "POST", headers: { "Content-Type": "application/sdp" }, body });
        const answer = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(res.status, 400, JSON.stringify(answer));
        assert.equal(answer.error.message, `the offer has 500 media sections; at most ${MAX_MEDIA_SECTIONS}`);
        assert.ok(Date.now() - t < 2000, `${path} answered in ${Date.now() - t} ms`);
        assert.ok((await healthz(server)) < 1000);
      }
      assert.equal(server.app.registry.get("local", "bloat")?.online ?? false, false, "nothing published");
    } finally {
      await source.close();
    }
  });

  test("10,000 candidates trickled at once on one device socket: at most 200 are taken, the rest refused, the event loop stays free", async () => {
    const device = await WeriftDevice.publish(server.wsUrl, { id: "flood" });
    try {
      const c = device.signaling!;
      const mark = c.received.length;
      for (let i = 0; i < 10_000; i++) {
        c.send({
          type: "candidate",
          candidate: { candidate: `candidate:${i} 1 udp 2122260223 127.0.0.1 ${10000 + (i % 50000)} typ host`, sdpMid: "0", sdpMLineIndex: 0 },
        });
      }
      const slowest = Math.max(await healthz(server), await healthz(server));
      const errors = await waitFor(
        () => {
          const e = c.received.slice(mark).filter((m) => m.type === "error");
          // The lifetime total lets 200 in at the very most, whatever the bucket refilled while they came.
          return e.length >= 10_000 - 200 ? e : undefined;
        },
        30_000,
        "an error for each candidate past the budget",
      );
      assert.ok(
        errors.every((e) => e.type === "error" && (e.code === "rate_limited" || e.code === "bad_request")),
        JSON.stringify(errors[0]),
      );
      assert.ok(errors.some((e) => e.type === "error" && /at most 20 a second/.test(e.message)));
      assert.ok(slowest < 2000, `/healthz took ${slowest} ms during the flood`);
    } finally {
      await device.close();
    }
  });

  test("an ICE-restart PATCH whose fragment carries 100 candidates is 400", async () => {
    const device = await WeriftDevice.publish(server.wsUrl, { id: "restart", whip: `${server.httpUrl}/whip/restart` });
    try {
      const lines = ["a=ice-ufrag:newu", "a=ice-pwd:newpasswordnewpasswordnewp", "m=audio 9 RTP/AVP 0", "a=mid:0"];
      for (let i = 0; i < 100; i++) lines.push(`a=candidate:${i} 1 udp 2122260223 127.0.0.1 ${20000 + i} typ host`);
      const res = await fetch(device.whipResource!, {
        method: "PATCH",
        headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" },
        body: lines.join("\r\n") + "\r\n",
      });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /the fragment has 100 candidates; at most 64/);
    } finally {
      await device.close();
    }
  });
});

describe("cross-origin WHIP/WHEP", () => {
  test("--auth none: a page of another origin gets 403 and no CORS grant; the server's own pages and --allowed-origins get in", async () => {
    const server = await startServer({ source: [{ kind: "test" }], allowedOrigins: ["http://partner.example"] });
    try {
      await waitFor(() => server.app.registry.get("local", "test")?.online, 15_000, "test device online");
      const evil = { Origin: "http://evil.example" };
      const post = await fetch(`${server.httpUrl}/whep/test`, {
        method: "POST",
        headers: { ...evil, "Content-Type": "application/sdp" },
        body: bloatedOffer(1),
      });
      assert.equal(post.status, 403);
      assert.equal(post.headers.get("access-control-allow-origin"), null);
      assert.match(((await post.json()) as { error: { message: string } }).error.message, /--allowed-origins/);
      const preflight = await fetch(`${server.httpUrl}/whip/cam`, { method: "OPTIONS", headers: { ...evil, "Access-Control-Request-Method": "POST" } });
      assert.equal(preflight.status, 403);
      assert.equal(preflight.headers.get("access-control-allow-origin"), null);
      assert.equal(server.app.registry.get("local", "cam"), undefined, "nothing was published");
      for (const origin of ["http://partner.example", server.httpUrl]) {
        const ok = await fetch(`${server.httpUrl}/whep/test`, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });
        assert.equal(ok.status, 204, origin);
        assert.equal(ok.headers.get("access-control-allow-origin"), origin);
        assert.match(ok.headers.get("vary") ?? "", /Origin/);
      }
      const noOrigin = await fetch(`${server.httpUrl}/whep/test`, { method: "OPTIONS" });
      assert.equal(noOrigin.status, 204, "clients that are not browsers send no Origin");
    } finally {
      await server.stop();
    }
  });

  test("with sign-in on, another origin's page may call with a Bearer credential (CORS '*', no ambient credentials); without one it is 403", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tessera-users-"));
    await new UsersFile(dataDir).set("alice", "correct horse battery");
    const server = await startServer({ auth: "basic", dataDir });
    try {
      const basic = `Basic ${Buffer.from("alice:correct horse battery").toString("base64")}`;
      const session = (await (await fetch(`${server.httpUrl}/api/session`, { method: "POST", headers: { Authorization: basic } })).json()) as { token: string };
      const evil = { Origin: "http://evil.example" };
      const preflight = await fetch(`${server.httpUrl}/whep/cam`, { method: "OPTIONS", headers: { ...evil, "Access-Control-Request-Method": "POST" } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
      const withBasic = await fetch(`${server.httpUrl}/whep/cam`, {
        method: "POST",
        headers: { ...evil, Authorization: basic, "Content-Type": "application/sdp" },
        body: bloatedOffer(1),
      });
      assert.equal(withBasic.status, 403, "Basic credentials ride along with cross-site requests: not enough");
      const withBearer = await fetch(`${server.httpUrl}/whep/cam`, {
        method: "POST",
        headers: { ...evil, Authorization: `Bearer ${session.token}`, "Content-Type": "application/sdp" },
        body: bloatedOffer(1),
      });
      assert.equal(withBearer.status, 404, "through the origin policy to the route: no device 'cam'");
      assert.equal(withBearer.headers.get("access-control-allow-origin"), "*");
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("DNS rebinding with --auth none", () => {
  let server: Running;
  let port: string;
  before(async () => {
    server = await startServer({ publicUrl: "https://stream.example.org" });
    port = new URL(server.httpUrl).port;
  });
  after(() => server.stop());

  test("a Host that is a foreign name is refused on the API, the pages and socket upgrades, even with a matching Origin", async () => {
    const rebound = { Host: `rebind.evil.example:${port}`, Origin: `http://rebind.evil.example:${port}` };
    for (const path of ["/api/devices", "/", "/api/rtc-config"])
      assert.equal((await rawRequest(`${server.httpUrl}${path}`, { headers: rebound })).status, 403, path);
    assert.equal((await rawRequest(`${server.httpUrl}/whep/test`, { headers: rebound, method: "OPTIONS" })).status, 403);
    assert.equal(await upgrade(server.wsUrl, rebound), "403");
    assert.equal(await upgrade(`ws://127.0.0.1:${port}/ws/stream/test`, rebound), "403");
    assert.match(await server.app.metrics.text(), /tessera_auth_failures_total\{reason="bad_host"\} [1-9]/);
  });

  test("addresses, localhost and the --public-url host are served", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "stream.example.org", `app.localhost:${port}`]) {
      assert.equal((await rawRequest(`${server.httpUrl}/api/devices`, { headers: { Host: host } })).status, 200, host);
    }
    assert.equal(await upgrade(server.wsUrl, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` }), "open");
  });
});

describe("pictures larger than --max-frame-size", () => {
  /** A real 64x48 JPEG from GStreamer, with its frame header changed to claim `width`x`height`. */
  function jpegClaiming(width: number, height: number): Buffer {
    const jpeg = testJpeg(64, 48);
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    assert.ok(sof > 0 && jpeg.readUInt16BE(sof + 5) === 48 && jpeg.readUInt16BE(sof + 7) === 64, "baseline frame header found");
    jpeg.writeUInt16BE(height, sof + 5);
    jpeg.writeUInt16BE(width, sof + 7);
    return jpeg;
  }

  test("a 5 KB JPEG claiming 16000x16000 is refused (413) before anything decodes it; nothing is stored", async () => {
    const server = await startServer();
    try {
      const push = (body: Buffer) => fetch(`${server.httpUrl}/api/devices/liar/frames`, { method: "POST", headers: { "Content-Type": "image/jpeg" }, body });
      for (let i = 0; i < 3; i++) {
        const res = await push(jpegClaiming(16000, 16000));
        assert.equal(res.status, 413);
        assert.equal(
          ((await res.json()) as { error: { code: string; message: string } }).error.message,
          "a 16000x16000 picture is larger than 4096x4096 (--max-frame-size)",
        );
      }
      assert.equal(server.app.registry.get("local", "liar")?.online ?? false, false, "the device never came online");
      assert.equal((await fetch(`${server.httpUrl}/api/devices/liar/frame.jpg`)).status, 404);
      assert.match(await server.app.metrics.text(), /tessera_frames_pushed_total\{result="too_large"\} 3/);
      assert.equal((await push(jpegClaiming(64, 48))).status, 201, "a real one still goes in");
    } finally {
      await server.stop();
    }
  });

  test("a WebRTC device whose VP8 keyframes claim 16000x16000: its fallback decoder never sees them, and takes the stream again once they are honest", async () => {
    const lines: string[] = [];
    const server = await startServer(
      {},
      {
        log: createLogger("warn", "tessera", (line) => {
          lines.push(line);
          return true;
        }),
      },
    );
    let lying = true;
    const device = await WeriftDevice.publish(server.wsUrl, {
      id: "vp8-liar",
      source: { width: 320, height: 180, keyframeInterval: 10 },
      // Rewrites the size fields of each keyframe's first packet (RFC 7741 descriptor, then the frame tag and start code).
      rewriteVideo: (rtp) => {
        const at = 12 + (rtp[0] & 0x0f) * 4 + (rtp[0] & 0x10 ? 4 + rtp.readUInt16BE(14 + (rtp[0] & 0x0f) * 4) * 4 : 0);
        const d = parseVp8Descriptor(rtp.subarray(at));
        const h = at + (d?.length ?? 0);
        if (lying && d?.frameStart && (rtp[h] & 1) === 0 && rtp[h + 3] === 0x9d && rtp[h + 4] === 0x01 && rtp[h + 5] === 0x2a) {
          const out = Buffer.from(rtp);
          out.writeUInt16LE(16000, h + 6);
          out.writeUInt16LE(16000, h + 8);
          return out;
        }
        return rtp;
      },
    });
    const viewer = new FallbackClient(`${server.wsUrl}/stream/vp8-liar?codec=jpeg`);
    try {
      await waitFor(() => lines.find((l) => /announces a picture larger than --max-frame-size/.test(l) && /16000/.test(l)), 15_000, "the refusal logged");
      assert.equal(viewer.stripes.length, 0, "nothing decoded from the lying keyframes");
      lying = false;
      await waitFor(() => viewer.stripes.length > 0, 15_000, "stripes once the keyframes are honest");
      const stream = viewer.texts.find((t) => t.type === "stream");
      assert.deepEqual([stream?.width, stream?.height], [320, 180]);
    } finally {
      viewer.close();
      await device.close();
      await server.stop();
    }
  });

  test("--max-frame-size sets the bound", async () => {
    const server = await startServer({ maxFrameSize: { width: 32, height: 32 } });
    try {
      const res = await fetch(`${server.httpUrl}/api/devices/small/frames`, {
        method: "POST",
        headers: { "Content-Type": "image/jpeg" },
        body: jpegClaiming(64, 48),
      });
      assert.equal(res.status, 413);
    } finally {
      await server.stop();
    }
  });
});
