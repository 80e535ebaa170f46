import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceField, deviceValue, heldKey, mergeHolders, parseDevice, parseNode, type DeviceEntry, type NodeEntry } from "./directory.js";

const node = (id: string): NodeEntry => ({ id, url: `http://${id}:8080`, devices: 0, viewers: 0, startedAt: 1 });
const cam = (since: number, account = "alice", id = "cam"): DeviceEntry => ({ account, id, name: "Cam", kind: "camera", since });

test("a device entry survives its round trip through Redis, whatever its account and id hold", () => {
  const d = cam(5, 'a"b\u0000c', "x\ny");
  assert.deepEqual(parseDevice(deviceField(d.account, d.id), deviceValue(d)), d);
});

test("malformed entries are skipped, not thrown", () => {
  assert.equal(parseDevice("not json", "{}"), undefined);
  assert.equal(parseDevice('["a"]', deviceValue(cam(1))), undefined);
  assert.equal(parseDevice(deviceField("a", "b"), '{"name":"x"}'), undefined);
  assert.equal(parseNode("{"), undefined);
  assert.equal(parseNode(null), undefined);
  assert.equal(parseNode('{"id":"n"}'), undefined);
  assert.deepEqual(parseNode(JSON.stringify(node("n"))), node("n"));
});

test("what another node wrote is checked: a url no node can be reached at, a time no Date holds", () => {
  for (const url of ["10.0.0.2:8080", "ftp://n:21", "", 5]) assert.equal(parseNode(JSON.stringify({ ...node("n"), url })), undefined, String(url));
  assert.equal(parseNode(JSON.stringify({ ...node("n"), startedAt: 1e300 }))?.startedAt, 0, "a start time no Date holds reads as unknown");
  assert.equal(parseDevice(deviceField("a", "b"), deviceValue(cam(1e300))), undefined);
  assert.equal(parseDevice(deviceField("a", "b"), deviceValue(cam(-1))), undefined);
});

test("a device two nodes claim belongs to the one where it came online last; ties go to the smaller node id", () => {
  const held = mergeHolders([
    { node: node("b"), devices: [cam(10)] },
    { node: node("a"), devices: [cam(20), cam(3, "alice", "other")] },
  ]);
  assert.equal(held.get(heldKey("alice", "cam"))?.node.id, "a");
  assert.equal(held.get(heldKey("alice", "other"))?.node.id, "a");
  const tie = (order: string[]) => mergeHolders(order.map((id) => ({ node: node(id), devices: [cam(7)] }))).get(heldKey("alice", "cam"))?.node.id;
  assert.equal(tie(["b", "a"]), "a");
  assert.equal(tie(["a", "b"]), "a");
});

test("the same id in two accounts is two devices", () => {
  const held = mergeHolders([{ node: node("a"), devices: [cam(1, "alice"), cam(1, "bob")] }]);
  assert.equal(held.size, 2);
});
