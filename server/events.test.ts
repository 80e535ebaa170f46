import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SafeEmitter } from "./events.js";

interface Events {
  online: [tracks: number];
  offline: [];
}

describe("SafeEmitter", () => {
  test("a listener that throws is reported as a warning and the others still run, in order", async () => {
    const e = new SafeEmitter<Events>();
    const heard: string[] = [];
    e.on("online", (n) => heard.push(`a${n}`));
    e.on("online", () => {
      throw new Error("listener bug");
    });
    e.on("online", (n) => heard.push(`c${n}`));
    const warned = new Promise<Error>((resolve) => process.once("warning", resolve));
    assert.equal(e.emit("online", 2), true);
    assert.deepEqual(heard, ["a2", "c2"]);
    const warning = (await warned) as Error & { code?: string };
    assert.equal(warning.code, "TESSERA_LISTENER_ERROR");
    assert.match(warning.message, /'online' listener threw: Error: listener bug/);
  });

  test("once, off and emit with no listeners behave as EventEmitter's", () => {
    const e = new SafeEmitter<Events>();
    let n = 0;
    const count = () => n++;
    e.once("offline", count);
    assert.equal(e.emit("offline"), true);
    assert.equal(e.emit("offline"), false, "a once listener is gone after it ran");
    e.on("offline", count);
    e.off("offline", count);
    assert.equal(e.emit("offline"), false);
    assert.equal(n, 1);
    assert.equal(e.listenerCount("offline"), 0);
  });

  test("removeAllListeners() with no event removes every listener; with one, only that event's", () => {
    const e = new SafeEmitter<{ online: []; offline: [] }>();
    let n = 0;
    e.on("online", () => n++);
    e.on("offline", () => n++);
    e.removeAllListeners("online");
    e.emit("online");
    e.emit("offline");
    assert.equal(n, 1);
    e.removeAllListeners();
    e.emit("offline");
    assert.equal(n, 1, "no listener is left");
  });
});
