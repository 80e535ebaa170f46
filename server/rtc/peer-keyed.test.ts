import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection, type RTCRtpSender } from "werift";
import { viewerPeerConfig } from "../../e2e/lib/werift-peers.js";
import { sentKeyed, whenPeerKeyed } from "./peer-keyed.js";

interface ClientConnection {
  send(d: Buffer): Promise<void>;
}

/**
 * Two real werift peers: the offerer (the DTLS server, as Tessera is to a
 * viewer) sends video and opens a data channel. What the answerer sends
 * that only a peer holding the keys can (SCTP, SRTP, SRTCP) is kept back
 * until `letGo()`. Resolves when the offerer's sender is ready, with the
 * offerer's and answerer's video senders.
 */
async function peers() {
  const server = new RTCPeerConnection(viewerPeerConfig("127.0.0.1"));
  const client = new RTCPeerConnection(viewerPeerConfig("127.0.0.1"));
  const serverSender = server.addTransceiver("video", { direction: "sendrecv" }).sender;
  server.createDataChannel("check");
  await server.setLocalDescription(await server.createOffer());
  await client.setRemoteDescription(server.localDescription!);
  const clientSender = client.getTransceivers()[0].sender;
  client.getTransceivers()[0].setDirection("sendrecv");
  await client.setLocalDescription(await client.createAnswer());
  const [connection] = (client as unknown as { dtlsTransports: { iceTransport: { connection: ClientConnection } }[] }).dtlsTransports.map(
    (t) => t.iceTransport.connection,
  );
  const send = connection.send.bind(connection);
  let kept: Buffer[] | undefined = [];
  connection.send = async (d: Buffer) => {
    if (kept && sentKeyed(d)) kept.push(d);
    else await send(d);
  };
  const letGo = async () => {
    const held = kept ?? [];
    kept = undefined;
    for (const d of held) await send(d);
    return held.length;
  };
  const ready = new Promise<number>((resolve) => serverSender.onReady.subscribe(() => resolve(performance.now())));
  await server.setRemoteDescription(client.localDescription!);
  const readyAt = await ready;
  const close = () => Promise.all([server.close(), client.close()]);
  return { serverSender, clientSender, readyAt, letGo, close };
}

const called = (sender: RTCRtpSender, fallbackMs: number) =>
  new Promise<number>((resolve) => whenPeerKeyed(sender, () => resolve(performance.now()), fallbackMs));

test("as the DTLS server, media waits for the peer's first keyed datagram, not for the handshake alone", { timeout: 30_000 }, async () => {
  const p = await peers();
  try {
    const at = called(p.serverSender, 10_000);
    // Nothing keyed has come from the peer yet: not called within 400 ms.
    const early = await Promise.race([at, new Promise<undefined>((r) => setTimeout(() => r(undefined), 400))]);
    assert.equal(early, undefined, "called before the peer showed it holds the keys");
    const lettingGoAt = performance.now();
    await p.letGo();
    const calledAt = await at;
    assert.ok(calledAt >= lettingGoAt, "called before the peer's datagram was let go");
    assert.ok(calledAt - p.readyAt < 10_000, "called only at the fallback");
  } finally {
    await p.close();
  }
});

test("as the DTLS server without a sign from the peer, media goes after the fallback; as the DTLS client, at once", { timeout: 30_000 }, async () => {
  const p = await peers();
  try {
    const start = performance.now();
    const calledAt = await called(p.serverSender, 300);
    assert.ok(calledAt - start >= 295, `called after ${(calledAt - start).toFixed(0)} ms`);
    // The answerer is the DTLS client: its handshake ended with the peer's last flight.
    let now = false;
    whenPeerKeyed(p.clientSender, () => (now = true));
    assert.equal(now, true);
  } finally {
    await p.close();
  }
});
