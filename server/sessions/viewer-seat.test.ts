import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Metrics } from "../../metrics/metrics.js";
import { Device } from "../devices/device.js";
import { TesseraError } from "../errors.js";
import { inputBucket } from "../input/rate-limiter.js";
import { ViewerSeat } from "./viewer-seat.js";

/** A seat on `device` that records what it was told. */
function seat(device: Device, metrics: Metrics, peerId: string) {
  const heard = { control: [] as (string | null)[], messages: [] as string[] };
  const s = new ViewerSeat({
    device,
    peerId,
    metrics,
    inputBucket: inputBucket(100),
    listener: { onControl: (h) => heard.control.push(h), onDeviceMessage: (t) => heard.messages.push(t) },
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
    assert.throws(() => b.s.control("request"), /closed/);
    metrics.close();
  });
});
