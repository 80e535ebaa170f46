import assert from "node:assert/strict";
import { test } from "node:test";
import { Event } from "werift";
import { createLogger } from "../log.js";
import { rtcCensus } from "./census.js";
import { Listeners } from "./listeners.js";

test("listeners are counted while subscribed, dropped together, and none is taken once cleared", () => {
  const event = new Event<[number]>();
  const listeners = new Listeners(createLogger("error"));
  const before = rtcCensus().listeners;
  const heard: number[] = [];
  listeners.on(event, (n) => void heard.push(n));
  assert.equal(rtcCensus().listeners, before + 1);
  event.execute(1);
  listeners.clear();
  assert.equal(rtcCensus().listeners, before);
  // A subscription asked for after its owner closed (a late werift event) would never be dropped.
  listeners.on(event, (n) => void heard.push(n * 10));
  event.execute(2);
  assert.equal(rtcCensus().listeners, before, "nothing counted");
  assert.deepEqual(heard, [1], "nothing heard after the clear");
});
