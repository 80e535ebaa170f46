import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection } from "werift";
import { viewerPeerConfig } from "../../e2e/lib/werift-peers.js";
import { keepEarlyDtls } from "./early-dtls.js";
import { helloVerifySkippable } from "./hello-verify.js";

/** DTLS handshake type 3 in a plaintext record: content type 22, epoch 0, the handshake header after the 13-byte record header. */
const isHelloVerifyRequest = (d: Buffer) => d.length > 13 && d[0] === 22 && d.readUInt16BE(3) === 0 && d[13] === 3;

/**
 * Two real werift peers on loopback: the offerer is the DTLS server (as Tessera is to a viewer), with keepEarlyDtls
 * or without; the answerer counts the HelloVerifyRequests it receives. Both ends then exchange a data channel message.
 */
async function handshake(patched: boolean): Promise<{ helloVerifyRequests: number; echoed: string }> {
  const server = new RTCPeerConnection(viewerPeerConfig("127.0.0.1"));
  const client = new RTCPeerConnection(viewerPeerConfig("127.0.0.1"));
  try {
    const channel = server.createDataChannel("check");
    await server.setLocalDescription(await server.createOffer());
    if (patched) keepEarlyDtls(server);
    await client.setRemoteDescription(server.localDescription!);
    await client.setLocalDescription(await client.createAnswer());
    let helloVerifyRequests = 0;
    for (const t of (client as unknown as { dtlsTransports: { iceTransport: { connection: { onData: { subscribe(fn: (d: Buffer) => void): void } } } }[] })
      .dtlsTransports)
      t.iceTransport.connection.onData.subscribe((d) => (helloVerifyRequests += isHelloVerifyRequest(d) ? 1 : 0));
    client.onDataChannel.subscribe((ch) => ch.onMessage.subscribe((m) => ch.send(`echo ${String(m)}`)));
    const echoed = new Promise<string>((resolve) => channel.onMessage.subscribe((m) => resolve(String(m))));
    channel.stateChanged.subscribe((s) => s === "open" && channel.send("hi"));
    await server.setRemoteDescription(client.localDescription!);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no echo within 10 s")), 10_000).unref());
    const reply = await Promise.race([echoed, timeout]);
    return { helloVerifyRequests, echoed: reply };
  } finally {
    await Promise.all([server.close(), client.close()]);
  }
}

test("werift's internals for answering without a HelloVerifyRequest are where they are looked for", () => {
  assert.ok(helloVerifySkippable, "werift's flight 4 and ClientHello parser were not found: the handshake takes one more round trip");
});

test("a DTLS server set up by keepEarlyDtls answers the ClientHello without a HelloVerifyRequest, and the handshake completes", async () => {
  const skipped = await handshake(true);
  assert.equal(skipped.echoed, "echo hi");
  assert.equal(skipped.helloVerifyRequests, 0);
  // The same peers without it: werift's own server sends the request (what the count above would have seen).
  const plain = await handshake(false);
  assert.equal(plain.echoed, "echo hi");
  assert.ok(plain.helloVerifyRequests >= 1, `${plain.helloVerifyRequests} HelloVerifyRequests without it`);
});
