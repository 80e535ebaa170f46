import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Metrics } from "../../metrics/metrics.js";
import { Device } from "../devices/device.js";
import { TesseraError } from "../errors.js";
import { inputBucket } from "../input/rate-limiter.js";
import { ViewerSeat } from "./viewer-seat.js";

/** A seat on `device` that records what it was told. */
function seat(device: Device, metrics: Metrics, peerId: string) {
  const heard = { control: [] as (string | null)[], messages: [] as string[], asks: [] as string[], refused: [] as string[] };
  const s = new ViewerSeat({
    device,
    peerId,
    metrics,
    inputBucket: inputBucket(100),
    listener: {
      onControl: (h) => heard.control.push(h),
      onDeviceMessage: (t) => heard.messages.push(t),
      onAsk: (from) => heard.asks.push(from),
      onRefused: (holder) => heard.refused.push(holder),
      onBusy: (message) => heard.refused.push(message),
    },
  });
  return { s, heard };
}

const viewersGauge = async (metrics: Metrics, transport: string) =>
  Number(new RegExp(`^tessera_viewers\\{transport="${transport}"\\} (\\d+)$`, "m").exec(await metrics.text())?.[1]);

describe("ViewerSeat", () => {
  test("counts its viewer, arbitrates control, passes device messages on, and gives everything back on close", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const device = new Device("acct", "cam", "Cam", "camera", 60_000);
    const a = seat(device, metrics, "a");
    const b = seat(device, metrics, "b");
    assert.equal(device.viewers, 2);

    a.s.control("request");
    assert.equal(a.s.holder, "a");
    assert.deepEqual(a.heard.control, ["a"]);
    assert.deepEqual(b.heard.control, ["a"], "every seat hears control changes");
    assert.throws(
      () => b.s.control("request"),
      (err: unknown) => err instanceof TesseraError && err.code === "busy",
    );

    assert.equal(device.input.fromDevice(JSON.stringify({ type: "state", state: { led: true } })), undefined);
    assert.equal(a.heard.messages.length, 1);
    assert.equal(b.heard.messages.length, 1);

    a.s.setTransport("ws_jpeg");
    b.s.setTransport("webrtc");
    assert.equal(await viewersGauge(metrics, "ws_jpeg"), 1);
    a.s.close();
    a.s.close();
    assert.equal(device.viewers, 1, "close is idempotent");
    assert.equal(device.input.holder, null, "the holder's seat closing frees control");
    assert.equal(await viewersGauge(metrics, "ws_jpeg"), 0);
    assert.equal(await viewersGauge(metrics, "webrtc"), 1);
    b.s.control("request");
    assert.equal(b.s.holder, "b");
    assert.deepEqual(a.heard.control, ["a"], "a closed seat hears nothing more");
    b.s.close();
    assert.equal(device.viewers, 0);
    assert.equal(await viewersGauge(metrics, "webrtc"), 0);
    assert.throws(
      () => b.s.control("request"),
      (err: unknown) => err instanceof TesseraError && err.code === "bad_request" && /no longer watches/.test(err.message),
    );
    metrics.close();
  });

  test("a seat closed for the same viewer's new seat (a watch again) keeps its control", () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const device = new Device("acct", "cam", "Cam", "camera", 60_000);
    const a = seat(device, metrics, "a");
    a.s.control("request");
    a.s.close(true);
    const again = seat(device, metrics, "a");
    assert.equal(device.input.holder, "a", "control did not change hands");
    assert.deepEqual(again.heard.control, [], "nobody was told of a change");
    assert.doesNotThrow(() => again.s.control("release"));
    assert.equal(device.input.holder, null);
    again.s.close();
    metrics.close();
  });

  test("hand-off: an ask reaches the holder only; the holder hands over (its keys released on the device) or refuses", () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const device = new Device("acct", "cam", "Cam", "camera", 60_000);
    const toDevice: string[] = [];
    device.input.setChannel((line) => toDevice.push(line) > 0);
    const [a, b, c] = ["a", "b", "c"].map((id) => seat(device, metrics, id));
    a.s.control("request");
    a.s.input("kd,65");
    assert.throws(
      () => b.s.control("request"),
      (err: unknown) => err instanceof TesseraError && err.code === "busy",
    );
    assert.deepEqual([a.heard.asks, b.heard.asks, c.heard.asks], [["b"], [], []], "only the holder is asked");

    const bad = (f: () => void) => assert.throws(f, (err: unknown) => err instanceof TesseraError && err.code === "bad_request");
    bad(() => a.s.control("hand_over", "c")); // c did not ask
    bad(() => a.s.control("hand_over")); // no one named
    bad(() => c.s.control("hand_over", "b")); // c does not hold control
    assert.equal(device.input.holder, "a");

    const before = toDevice.length;
    a.s.control("hand_over", "b");
    assert.equal(device.input.holder, "b");
    assert.deepEqual(c.heard.control.at(-1), "b", "every viewer hears the new holder");
    assert.ok(toDevice.slice(before).includes("kr"), "what a held goes up on the device");
    bad(() => b.s.control("hand_over", "b"));

    // a asks back; b keeps it: only a hears the refusal, and the ask is used up.
    assert.throws(() => a.s.control("request"));
    b.s.control("refuse", "a");
    assert.deepEqual(a.heard.refused, ["b"]);
    assert.deepEqual([b.heard.refused, c.heard.refused], [[], []]);
    bad(() => b.s.control("hand_over", "a"));
    // An asker that leaves takes its ask with it.
    assert.throws(() => c.s.control("request"));
    c.s.close();
    bad(() => b.s.control("hand_over", "c"));
    for (const x of [a, b]) x.s.close();
    metrics.close();
  });
});
