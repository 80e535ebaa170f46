import assert from "node:assert/strict";
import { test } from "node:test";
import { RTCPeerConnection } from "werift";
import { waitFor } from "../../e2e/lib/signaling-client.js";
import { peerConfig } from "./peer-config.js";
import { HANDSHAKE_RTO_S, quickSctpHandshake } from "./sctp-handshake.js";

/**
 * Two werift peers on loopback with a data channel; the answerer's SCTP
 * ignores the first `lose` packets it receives (the offerer is ICE's
 * controlling side, so its SCTP is the one that sends the INIT). Resolves
 * to the times the answerer's SCTP saw packets arrive, ms, and whether the
 * channel opened.
 */
async function handshake(lose: number): Promise<{ arrivals: number[]; opened: boolean }> {
  const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };
  const offerer = new RTCPeerConnection(peerConfig(rtc, { video: [], audio: [] }));
  const answerer = new RTCPeerConnection(peerConfig(rtc, { video: [], audio: [] }));
  try {
    const channel = offerer.createDataChannel("input");
    assert.ok(quickSctpHandshake(offerer), "applied through the offerer's association");
    let opened = false;
    channel.stateChanged.subscribe((state) => {
      if (state === "open") opened = true;
    });
    await offerer.setLocalDescription(await offerer.createOffer());
    await answerer.setRemoteDescription(offerer.localDescription!);
    const sctp = (answerer as unknown as { sctpTransport: { sctp: { handleData(data: Buffer): Promise<void> } } }).sctpTransport.sctp;
    const handle = sctp.handleData.bind(sctp);
    const arrivals: number[] = [];
    sctp.handleData = async (data: Buffer) => {
      arrivals.push(performance.now());
      if (arrivals.length > lose) await handle(data);
    };
    await answerer.setLocalDescription(await answerer.createAnswer());
    await offerer.setRemoteDescription(answerer.localDescription!);
    await waitFor(() => opened, 20_000, "the data channel open");
    return { arrivals, opened };
  } finally {
    await Promise.all([offerer.close(), answerer.close()]);
  }
}

test(`a lost SCTP INIT goes again after ${HANDSHAKE_RTO_S} s, not werift's 3 s, and the channel opens`, async (t) => {
  const { arrivals, opened } = await handshake(1);
  assert.ok(opened);
  const gap = arrivals[1] - arrivals[0];
  t.diagnostic(`INIT again after ${gap.toFixed(0)} ms`);
  assert.ok(gap >= HANDSHAKE_RTO_S * 1000 - 50, `not before the timeout (${gap.toFixed(0)} ms)`);
  assert.ok(gap < 2000, `well before werift's 3 s (${gap.toFixed(0)} ms)`);
});

test("each INIT lost again doubles the wait (1 s, then 2 s), as RFC 4960's T1 does", async (t) => {
  const { arrivals, opened } = await handshake(2);
  assert.ok(opened);
  const [first, second] = [arrivals[1] - arrivals[0], arrivals[2] - arrivals[1]];
  t.diagnostic(`INIT again after ${first.toFixed(0)} ms, then ${second.toFixed(0)} ms`);
  assert.ok(first < 2000, `the first resend after about 1 s (${first.toFixed(0)} ms)`);
  assert.ok(second >= 1900 && second > first * 1.5, `the second after about 2 s (${second.toFixed(0)} ms)`);
});
