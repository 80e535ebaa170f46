import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DeviceInput } from "./device-input.js";

describe("DeviceInput: device messages", () => {
  test("the replayed cursor keeps only the cursor's own fields: new field names in every message do not pile up", () => {
    const input = new DeviceInput(60_000);
    const filler = "x".repeat(60_000);
    for (let i = 0; i < 50; i++) assert.equal(input.fromDevice(JSON.stringify({ type: "cursor", x: i, y: 1, [`junk${i}`]: filler })), undefined);
    const cursor = input.replay().find((t) => t.includes('"cursor"'));
    assert.deepEqual(JSON.parse(cursor ?? "null"), { type: "cursor", x: 49, y: 1 });
    input.close();
  });

  test("a late viewer gets the latest state and resolution, and the cursor's shape and position merged", () => {
    const input = new DeviceInput(60_000);
    const forwarded: string[] = [];
    input.on("message", (text) => forwarded.push(text));
    assert.equal(input.fromDevice(JSON.stringify({ type: "cursor", png: "iVBORw0KGgo=", hotspotX: 1, hotspotY: 2 })), undefined);
    assert.equal(input.fromDevice(JSON.stringify({ type: "cursor", x: 10, y: 20 })), undefined);
    assert.equal(input.fromDevice(JSON.stringify({ type: "resolution", width: 640, height: 480 })), undefined);
    assert.equal(input.fromDevice(JSON.stringify({ type: "clipboard", text: "not replayed" })), undefined);
    assert.equal(forwarded.length, 4, "each message goes to the viewers as it came");
    assert.deepEqual(forwarded[1], JSON.stringify({ type: "cursor", x: 10, y: 20 }));
    const replay = input.replay().map((t) => JSON.parse(t) as Record<string, unknown>);
    assert.deepEqual(
      replay.find((m) => m.type === "cursor"),
      { type: "cursor", png: "iVBORw0KGgo=", hotspotX: 1, hotspotY: 2, x: 10, y: 20 },
    );
    assert.deepEqual(
      replay.find((m) => m.type === "resolution"),
      { type: "resolution", width: 640, height: 480 },
    );
    assert.equal(
      replay.some((m) => m.type === "clipboard"),
      false,
    );
    assert.deepEqual(input.streamSize, { width: 640, height: 480 });
    input.close();
  });
});

describe("DeviceInput: control decided by the node that holds the device", () => {
  /** A DeviceInput following a home node that records what it was asked. */
  function remote() {
    let now = 0;
    const input = new DeviceInput(1000, () => now);
    const toDevice: string[] = [];
    input.setChannel((line) => toDevice.push(line) > 0);
    const asked: string[] = [];
    input.setRemote({ control: (peerId, name, action, to) => asked.push([peerId, name ?? "", action, to ?? ""].join(" ")) });
    const heard: string[] = [];
    input.on("control", (h) => heard.push(`control ${h}`));
    input.on("ask", (from, holder) => heard.push(`ask ${from} ${holder}`));
    input.on("busy", (to, message) => heard.push(`busy ${to} ${message}`));
    return { input, asked, heard, toDevice, advance: (ms: number) => (now += ms) };
  }

  test("a request goes to the home node and grants nothing here until it says so", () => {
    const { input, asked, heard } = remote();
    input.setName("v1", "Vera");
    assert.equal(input.request("v1"), true, "not refused here: the answer comes from the home node");
    assert.deepEqual(asked, ["v1 Vera request "]);
    assert.equal(input.holder, null);
    assert.equal(input.use("v1"), false);
    input.follow("v1");
    assert.equal(input.holder, "v1");
    assert.equal(input.use("v1"), true);
    assert.deepEqual(heard, ["control v1"]);
  });

  test("the home node's holder is followed (with its name); idleness is timed there, and nothing is released here", () => {
    const { input, heard, toDevice, advance } = remote();
    input.follow("far", "Faye");
    assert.equal(input.nameOf("far"), "Faye");
    input.follow("v1");
    advance(10_000);
    assert.equal(input.use("v1"), true, "no idle expiry on a follower");
    input.follow(null);
    assert.deepEqual(heard, ["control far", "control v1", "control null"]);
    assert.deepEqual(toDevice, [], "the home node sends kr and button-ups, not this node");
  });

  test("asks, hand-overs, refusals and releases travel to the home node; its refusals come back as busy", () => {
    const { input, asked, heard } = remote();
    input.follow("v1");
    input.askFrom("far", "v1", "Faye");
    assert.equal(input.nameOf("far"), "Faye");
    assert.ok(heard.includes("ask far v1"));
    assert.equal(input.handOver("v1", "nobody"), false, "only an ask that came can be answered");
    assert.equal(input.handOver("v1", "far"), true);
    input.askFrom("far2", "v1");
    assert.equal(input.refuse("v1", "far2"), true);
    input.release("v1");
    input.refusedThere("v2", "kept");
    assert.deepEqual(asked, ["v1  hand_over far", "v1  refuse far2", "v1  release "]);
    assert.ok(heard.includes("busy v2 kept"));
  });

  test("back to deciding here (the leg ended): control is free, and a request is granted here", () => {
    const { input, heard } = remote();
    input.follow("v1");
    input.setRemote(undefined);
    assert.equal(input.holder, null);
    assert.equal(input.request("v2"), true);
    assert.equal(input.holder, "v2");
    assert.deepEqual(heard.slice(-2), ["control null", "control v2"]);
    input.close();
  });
});
