import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaStreamTrack, RTCPeerConnection } from "werift";
import { createLogger } from "../log.js";
import { nullObserver } from "../relay/observer.js";
import type { TrackCodec } from "../relay/up-track.js";
import { peerConfig, publishCodecs } from "./peer-config.js";
import { Publisher } from "./publisher.js";
import { Subscriber } from "./subscriber.js";
import { PeerClosedError, whileOpen } from "./while-open.js";

const rtc = { iceHosts: ["127.0.0.1"], iceServers: [] };
const VP8: TrackCodec = { kind: "video", mimeType: "video/vp8", clockRate: 90000 };

/** How `work` settled, or "pending" if it had not within `ms` (werift's description calls on a closed peer never do). */
async function settled(work: Promise<unknown>, ms = 5000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  const outcome = work.then(
    () => "resolved",
    (err: unknown) => (err instanceof PeerClosedError ? "closed" : `rejected: ${String(err)}`),
  );
  try {
    return await Promise.race([outcome, pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** A werift device's offer of one VP8 video section; the device closes when the test ends. */
async function deviceOffer(t: { after(fn: () => unknown): void }): Promise<string> {
  const device = new RTCPeerConnection(peerConfig(rtc, publishCodecs()));
  t.after(() => device.close());
  device.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
  await device.setLocalDescription(await device.createOffer());
  return device.localDescription!.sdp;
}

const publisherEvents = { onTrack: () => undefined, onClosed: () => undefined, onInputChannel: () => undefined, onDeviceMessage: () => undefined };

test("a publisher closed right after it was given an offer settles its answer with PeerClosedError", async (t) => {
  const offer = await deviceOffer(t);
  const publisher = new Publisher(rtc, publisherEvents, nullObserver, createLogger("error"));
  const answer = publisher.answer(offer);
  publisher.close("device left");
  assert.equal(await settled(answer), "closed");
});

test("a publisher closed while it answers settles its answer either way, never pending", async (t) => {
  const offer = await deviceOffer(t);
  for (const turns of [1, 2, 3, 5, 8]) {
    const publisher = new Publisher(rtc, publisherEvents, nullObserver, createLogger("error"));
    const answer = publisher.answer(offer);
    for (let i = 0; i < turns; i++) await Promise.resolve();
    publisher.close("device left");
    assert.notEqual(await settled(answer), "pending", `closed after ${turns} turns`);
  }
});

test("a subscriber closed right after it began its offer settles the offer with PeerClosedError", async () => {
  const subscriber = new Subscriber(
    rtc,
    [VP8],
    {
      onConnectionState: () => undefined,
      onClosed: () => undefined,
      onInputOpen: () => undefined,
      onInput: () => undefined,
      onTalkTrack: () => undefined,
      onFeedback: () => undefined,
    },
    nullObserver,
    createLogger("error"),
  );
  const offer = subscriber.offer();
  subscriber.close("viewer left");
  assert.equal(await settled(offer), "closed");
});

test("whileOpen: a call pending when its peer closes settles with PeerClosedError; one on a closed peer is refused", async () => {
  const pc = new RTCPeerConnection(peerConfig(rtc, publishCodecs()));
  const never = whileOpen(pc, () => new Promise<void>(() => undefined));
  const quick = whileOpen(pc, () => Promise.resolve(7));
  assert.equal(await quick, 7);
  await pc.close();
  assert.equal(await settled(never), "closed");
  assert.equal(await settled(whileOpen(pc, () => Promise.resolve(7))), "closed");
});
