import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RTCPeerConnection } from "werift";
import { waitFor, waitForAsync } from "../../e2e/lib/signaling-client.js";
import { WeriftDevice, WeriftViewer } from "../../e2e/lib/werift-peers.js";
import { iceFragment, iceUfragOf, localIceParameters, startRenewedTransports, withNewIceCredentials } from "../rtc/ice-restart.js";
import { peerConfig, publishCodecs } from "../rtc/peer-config.js";
import { parseSdpFragment } from "../whip/sdpfrag.js";
import { startServer, type Running } from "./fixture.js";

const SECRET = "whip-test-secret";

/**
 * The client side of an ICE restart over PATCH (RFC 9725 §4.3.2): a new
 * offer's credentials and candidates go out as a fragment with `If-Match: *`,
 * the server's new ones come back and become the remote side. Resolves once
 * ICE is connected again; returns the answer's ETag and both ufrags.
 */
async function restartOverPatch(pc: RTCPeerConnection, resource: string, etag: string): Promise<{ etag: string; before: string; after: string }> {
  const before = iceUfragOf(pc.remoteDescription!.sdp)!;
  const states: string[] = [];
  const sub = pc.iceConnectionStateChange.subscribe((s) => states.push(s));
  await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
  const res = await fetch(resource, {
    method: "PATCH",
    headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" },
    body: iceFragment(localIceParameters(pc.localDescription!.sdp)),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/trickle-ice-sdpfrag");
  const newEtag = res.headers.get("etag")!;
  assert.ok(newEtag && newEtag !== etag, "a restart changes the ETag");
  const frag = parseSdpFragment(await res.text());
  assert.ok(frag.ufrag && frag.pwd && frag.candidates.length > 0 && frag.end, "the server's new credentials and every candidate");
  await pc.setRemoteDescription({ type: "answer", sdp: withNewIceCredentials(pc.remoteDescription!.sdp, { ufrag: frag.ufrag, pwd: frag.pwd }) });
  for (const c of frag.candidates) await pc.addIceCandidate(c);
  startRenewedTransports(pc); // werift as offerer has the same gap as on the server; browsers start checks themselves
  await waitFor(() => states.includes("connected"), 10_000, "ICE connected again after the restart");
  sub.unSubscribe();
  return { etag: newEtag, before, after: frag.ufrag };
}

describe("WHIP ingest", () => {
  let server: Running;
  const closers: Array<() => unknown> = [];

  before(async () => {
    server = await startServer({ source: [{ kind: "none" }] });
  });
  after(async () => {
    for (const c of closers) await c();
    await server?.stop();
  });

  const whip = (id: string) => `${server.httpUrl}/whip/${id}`;

  test("a werift publisher POSTs its offer, gets 201 with Location and ETag, and is watched like any device", async () => {
    const device = await WeriftDevice.publish(server.wsUrl, { id: "whipcam", whip: whip("whipcam") });
    closers.push(() => device.close());
    assert.match(device.whipResource ?? "", /\/whip\/whipcam\/[\w-]+$/);
    const list = async () => ((await (await fetch(`${server.httpUrl}/api/devices`)).json()) as { devices: Array<{ id: string; online: boolean }> }).devices;
    await waitForAsync(async () => (await list()).find((d) => d.id === "whipcam" && d.online), 10_000, "the device online");
    const viewer = await WeriftViewer.connect(server.wsUrl, { decode: true });
    closers.push(() => viewer.close());
    viewer.watch("whipcam");
    const stream = await waitFor(() => viewer.streams.get("whipcam"), 5000, "offer");
    await waitFor(() => stream.decodedFrames >= 5, 15_000, "decoded frames from the WHIP publisher");
    assert.match(await server.app.metrics.text(), /tessera_wish_sessions\{protocol="whip"\} 1/);
    // A second publisher for the same id is refused while the first one is live.
    const second = await fetch(whip("whipcam"), { method: "POST", headers: { "Content-Type": "application/sdp" }, body: device.pc.localDescription!.sdp });
    assert.equal(second.status, 409);
    // Trickle: a PATCH with a candidate (and the current credentials) is accepted; a stale ETag is refused.
    const { ufrag, pwd } = localIceParameters(device.pc.localDescription!.sdp);
    const frag = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host\r\n`;
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(device.whipResource!, { method: "PATCH", headers: { "Content-Type": "application/trickle-ice-sdpfrag", ...headers }, body });
    assert.equal((await patch(frag)).status, 204);
    assert.equal((await patch(frag, { "If-Match": '"stale"' })).status, 412);
    assert.equal((await patch(frag, { "If-Match": `"stale", ${device.whipEtag!}` })).status, 204, "a list naming the ETag");
    assert.equal((await patch(frag, { "If-Match": `W/${device.whipEtag!}` })).status, 412, "a weak tag never matches (strong comparison)");
    assert.equal((await patch("a=ice-ufrag:new1\r\n")).status, 400, "new credentials without a password");
    assert.equal((await patch(frag, { "Content-Type": "text/plain" })).status, 415);
    // A restart with a candidate the server cannot take is 400 before anything is applied: a trickle under the old credentials still fits.
    const restartWith = (candidate: string, mid = "0") =>
      patch(`a=ice-ufrag:new1\r\na=ice-pwd:0123456789abcdefghijklmn\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\na=${candidate}\r\n`);
    const garbage = await restartWith("candidate:garbage");
    assert.equal(garbage.status, 400);
    assert.match(await garbage.text(), /candidate rejected: 'candidate:garbage' is no ICE candidate/);
    const elsewhere = await restartWith("candidate:1 1 udp 2122260223 127.0.0.1 61764 typ host", "zz");
    assert.equal(elsewhere.status, 400);
    assert.match(await elsewhere.text(), /no media section with mid 'zz'/);
    assert.equal((await patch(frag)).status, 204, "the refused restarts left the session's credentials as they were");
    // An ICE restart: the publisher's media reaches the viewer over the new ICE session.
    const restarted = await restartOverPatch(device.pc, device.whipResource!, device.whipEtag!);
    assert.notEqual(restarted.after, restarted.before);
    const at = stream.videoPackets;
    await waitFor(() => stream.videoPackets > at + 30, 10_000, "the viewer's video after the publisher's restart");
    // DELETE ends the session: the device goes offline.
    assert.equal((await fetch(device.whipResource!, { method: "DELETE" })).status, 200);
    await waitForAsync(async () => !(await list()).find((d) => d.id === "whipcam")?.online, 10_000, "the device offline");
    assert.equal((await fetch(device.whipResource!, { method: "DELETE" })).status, 404);
    device.whipResource = undefined;
  });

  test("OPTIONS advertises ICE servers with TURN credentials, the accepted type and CORS", async () => {
    // Only the answer's headers are looked at: the servers need not exist (nor any peer be made with them).
    const withTurn = await startServer({
      source: [{ kind: "none" }],
      turnUris: ["turn:127.0.0.1:3478?transport=udp"],
      turnSecret: SECRET,
      stunUris: ["stun:127.0.0.1:3478"],
      allowedOrigins: ["http://app.example"],
    });
    closers.push(() => withTurn.stop());
    const res = await fetch(`${withTurn.httpUrl}/whip/cam`, { method: "OPTIONS", headers: { Origin: "http://app.example" } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("accept-post"), "application/sdp");
    assert.equal(res.headers.get("access-control-allow-origin"), "http://app.example");
    assert.match(res.headers.get("access-control-expose-headers") ?? "", /Location/);
    const link = res.headers.get("link") ?? "";
    assert.match(link, /<stun:127\.0\.0\.1:3478>; rel="ice-server"/);
    assert.match(link, /<turn:127\.0\.0\.1:3478\?transport=udp>; rel="ice-server"; username="\d+:local"; credential="[^"]+"; credential-type="password"/);
  });

  test("errors follow the RFC: 415, 400, 422, 404", async () => {
    const post = (body: string, type = "application/sdp") => fetch(whip("bad"), { method: "POST", headers: { "Content-Type": type }, body });
    assert.equal((await post("v=0", "text/plain")).status, 415);
    assert.equal((await post("not sdp")).status, 400);
    const av1Only = [
      "v=0",
      "o=- 1 1 IN IP4 127.0.0.1",
      "s=-",
      "t=0 0",
      "a=group:BUNDLE 0",
      "m=video 9 UDP/TLS/RTP/SAVPF 45",
      "c=IN IP4 0.0.0.0",
      "a=mid:0",
      "a=sendonly",
      "a=rtpmap:45 AV1/90000",
      "a=ice-ufrag:abcd",
      "a=ice-pwd:efghijklmnopqrstuvwxyz12",
      "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
      "a=setup:actpass",
      "a=rtcp-mux",
      "",
    ].join("\r\n");
    const res = await post(av1Only);
    assert.equal(res.status, 422, await res.text());
    assert.equal((await fetch(`${whip("nope")}/nosuchsession`, { method: "DELETE" })).status, 404);
  });
});

describe("WHEP playback", () => {
  let server: Running;
  let pc: RTCPeerConnection | undefined;

  before(async () => {
    server = await startServer({ source: [{ kind: "test" }] });
  });
  after(async () => {
    await pc?.close();
    await server?.stop();
  });

  test("an ICE restart over PATCH: 200 with the server's new credentials, a new ETag, and the video carries on", async () => {
    const player = new RTCPeerConnection(peerConfig({ iceHosts: ["127.0.0.1"], iceServers: [] }, publishCodecs()));
    try {
      player.addTransceiver("video", { direction: "recvonly" });
      let video = 0;
      player.onTrack.subscribe((track) => track.kind === "video" && track.onReceiveRtp.subscribe(() => video++));
      await player.setLocalDescription(await player.createOffer());
      const res = await fetch(`${server.httpUrl}/whep/test`, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: player.localDescription!.sdp,
      });
      assert.equal(res.status, 201);
      const location = new URL(res.headers.get("location")!, server.httpUrl).toString();
      await player.setRemoteDescription({ type: "answer", sdp: await res.text() });
      await waitFor(() => video > 30, 15_000, "video before the restart");
      const restarted = await restartOverPatch(player, location, res.headers.get("etag")!);
      assert.notEqual(restarted.after, restarted.before, "the server has new ICE credentials");
      const at = video;
      await waitFor(() => video > at + 30, 10_000, "video after the restart");
      const stale = await fetch(location, {
        method: "PATCH",
        headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": res.headers.get("etag")! },
        body: "a=end-of-candidates\r\n",
      });
      assert.equal(stale.status, 412, "the old ETag no longer matches");
      assert.equal((await fetch(location, { method: "DELETE" })).status, 200);
    } finally {
      await player.close();
    }
  });

  test("a werift player POSTs a recvonly offer and receives the test device's video and audio; DELETE ends it", async () => {
    pc = new RTCPeerConnection(peerConfig({ iceHosts: ["127.0.0.1"], iceServers: [] }, publishCodecs()));
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const got = { video: 0, audio: 0 };
    pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => got[track.kind as "video" | "audio"]++));
    await pc.setLocalDescription(await pc.createOffer());
    const res = await fetch(`${server.httpUrl}/whep/test`, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription!.sdp });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("content-type"), "application/sdp");
    const location = new URL(res.headers.get("location")!, server.httpUrl).toString();
    assert.match(location, /\/whep\/test\/[\w-]+$/);
    assert.ok(res.headers.get("etag"));
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    await waitFor(() => got.video > 30 && got.audio > 10, 15_000, "video and audio packets");
    const viewers = async () =>
      ((await (await fetch(`${server.httpUrl}/api/devices`)).json()) as { devices: Array<{ id: string; viewers: number }> }).devices.find(
        (d) => d.id === "test",
      )?.viewers;
    assert.equal(await viewers(), 1, "the player counts as a viewer");
    assert.equal((await fetch(location, { method: "DELETE" })).status, 200);
    await waitForAsync(async () => (await viewers()) === 0, 5000, "the viewer gone");
    assert.equal(
      (await fetch(`${server.httpUrl}/whep/nope`, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription!.sdp })).status,
      404,
    );
  });
});

describe("WHIP and WHEP at shutdown", () => {
  test("closing the app ends every WHIP and WHEP session: nothing is relayed to the player any more", async () => {
    const server = await startServer({ source: [{ kind: "none" }] });
    const device = await WeriftDevice.publish(server.wsUrl, { id: "shutcam", whip: `${server.httpUrl}/whip/shutcam` });
    const player = new RTCPeerConnection(peerConfig({ iceHosts: ["127.0.0.1"], iceServers: [] }, publishCodecs()));
    try {
      let video = 0;
      let lastVideoAt = performance.now();
      player.addTransceiver("video", { direction: "recvonly" });
      player.onTrack.subscribe((track) =>
        track.onReceiveRtp.subscribe(() => {
          video++;
          lastVideoAt = performance.now();
        }),
      );
      const online = async () => ((await (await fetch(`${server.httpUrl}/api/devices`)).json()) as { devices: Array<{ id: string; online: boolean }> }).devices;
      await waitForAsync(async () => (await online()).find((d) => d.id === "shutcam" && d.online), 10_000, "the WHIP device online");
      await player.setLocalDescription(await player.createOffer());
      const res = await fetch(`${server.httpUrl}/whep/shutcam`, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: player.localDescription!.sdp,
      });
      assert.equal(res.status, 201, await res.clone().text());
      await player.setRemoteDescription({ type: "answer", sdp: await res.text() });
      await waitFor(() => video > 10, 15_000, "the player's video");
      await server.stop();
      // werift's clients notice a closed peer only when ICE consent runs out (30 s); what shows at once is that
      // the server relays nothing more: the publisher's packets (it keeps sending) no longer reach the player.
      await waitFor(() => performance.now() - lastVideoAt > 1500, 10_000, `the player's video to stop (${video} packets so far)`);
      assert.ok(device.packetsSent > 0);
    } finally {
      await player.close();
      device.whipResource = undefined;
      await device.close();
    }
  });
});
