import assert from "node:assert/strict";
import { test } from "node:test";
import { Backoff } from "./backoff.js";

test("a backoff doubles up to its bound and starts over after a reset", () => {
  const b = new Backoff(250, 2000);
  assert.deepEqual([b.take(), b.take(), b.take(), b.take(), b.take()], [250, 500, 1000, 2000, 2000]);
  assert.equal(b.peek(), 2000);
  b.reset();
  assert.equal(b.take(), 250);
});
