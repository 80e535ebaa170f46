import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection, type RTCRtpSender } from "werift";
import { viewerPeerConfig } from "../../e2e/lib/werift-peers.js";
import { MEANWHILE_EVERY_MS, sentKeyed, whenPeerKeyed } from "./peer-keyed.js";

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

const called = (sender: RTCRtpSender, fallbackMs: number, meanwhile?: () => void) =>
  new Promise<number>((resolve) => whenPeerKeyed(sender, () => resolve(performance.now()), meanwhile, fallbackMs));
const waitMs = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));

test(
  "as the DTLS server, media waits for the peer's first keyed datagram, not for the handshake alone; meanwhile is called until then",
  { timeout: 30_000 },
  async () => {
    const p = await peers();
    try {
      let meanwhile = 0;
      const at = called(p.serverSender, 10_000, () => meanwhile++);
      assert.equal(meanwhile, 1, "meanwhile is called at once");
      // Nothing keyed has come from the peer yet: not called within 400 ms.
      const early = await Promise.race([at, waitMs(400)]);
      assert.equal(early, undefined, "called before the peer showed it holds the keys");
      assert.ok(meanwhile >= 3, `meanwhile called ${meanwhile} times in 400 ms, every ${MEANWHILE_EVERY_MS} ms meant`);
      const lettingGoAt = performance.now();
      await p.letGo();
      const calledAt = await at;
      assert.ok(calledAt >= lettingGoAt, "called before the peer's datagram was let go");
      assert.ok(calledAt - p.readyAt < 10_000, "called only at the fallback");
      const calls = meanwhile;
      await waitMs(5 * MEANWHILE_EVERY_MS);
      assert.equal(meanwhile, calls, "meanwhile stops once the peer is keyed");
    } finally {
      await p.close();
    }
  },
);

test("as the DTLS server without a sign from the peer, media goes after the fallback; as the DTLS client, at once", { timeout: 30_000 }, async () => {
  const p = await peers();
  try {
    const start = performance.now();
    const calledAt = await called(p.serverSender, 300);
    assert.ok(calledAt - start >= 295, `called after ${(calledAt - start).toFixed(0)} ms`);
    // The answerer is the DTLS client: its handshake ended with the peer's last flight.
    let now = false;
    let meanwhile = 0;
    whenPeerKeyed(
      p.clientSender,
      () => (now = true),
      () => meanwhile++,
    );
    assert.equal(now, true);
    assert.equal(meanwhile, 0, "nothing to wait for, so nothing meanwhile");
  } finally {
    await p.close();
  }
});
