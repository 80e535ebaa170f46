import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { GstPipeline, idlePipelines } from "./pipeline.js";

// appsrc into appsink: nothing moves unless the test pushes, so the bus and the sink go quiet.
const QUIET = "appsrc name=src caps=application/x-tessera-test format=time ! appsink name=sink sync=false";

/** Resolves with the next buffer out of `sink`, while `p` pulls from it. */
function puller(p: GstPipeline): () => Promise<Buffer> {
  const got: Buffer[] = [];
  const waiting: Array<(b: Buffer) => void> = [];
  p.pullFrom("sink", (buf) => {
    const w = waiting.shift();
    if (w) w(Buffer.from(buf));
    else got.push(Buffer.from(buf));
  });
  return () => {
    const b = got.shift();
    return b ? Promise.resolve(b) : new Promise((resolve) => waiting.push(resolve));
  };
}

test("a pull that found nothing within its timeout asks again: a buffer pushed later still arrives, and close() ends the loop", async () => {
  const before = idlePipelines();
  const p = new GstPipeline(QUIET, { reuse: true, kind: "test" });
  p.start();
  const next = puller(p);
  p.pushTo("src", Buffer.from("first"));
  assert.equal((await next()).toString(), "first");
  // Longer than the 250 ms a pull waits in its thread (scripts/addon-fixes.mjs): at least two pulls time out.
  await delay(700);
  p.pushTo("src", Buffer.from("second"));
  assert.equal((await next()).toString(), "second");
  p.close();
  // The pipeline goes back to the pool only once its poll and pull have ended.
  const deadline = Date.now() + 5000;
  while (idlePipelines() === before && Date.now() < deadline) await delay(20);
  assert.equal(idlePipelines(), before + 1, "the closed pipeline was kept for reuse (its pull loop and bus poll ended)");
});

test("pullFrom with reuse copies buffers into a ring of that many: the same memory comes back every n buffers, each with its own bytes", async () => {
  const p = new GstPipeline(QUIET, { kind: "test" });
  p.start();
  const got: Array<{ text: string; memory: ArrayBufferLike; offset: number }> = [];
  let wake: (() => void) | undefined;
  p.pullFrom(
    "sink",
    (buf) => {
      got.push({ text: buf.toString(), memory: buf.buffer, offset: buf.byteOffset });
      wake?.();
    },
    { reuse: 2 },
  );
  try {
    // Sizes go up and down: a buffer that does not fit its slot takes the slot's place; a smaller one is copied in.
    const sent = ["aaaa", "bbbb", "cc", "dddddd", "eeee", "ffffff", "g"];
    for (const text of sent) {
      const arrived = new Promise<void>((resolve) => (wake = resolve));
      p.pushTo("src", Buffer.from(text));
      await Promise.race([arrived, delay(5000).then(() => assert.fail(`${text} never came out`))]);
    }
    assert.deepEqual(
      got.map((g) => g.text),
      sent,
      "each buffer as it was pushed, not what a later one wrote over it",
    );
    const same = (i: number, j: number) => got[i].memory === got[j].memory && got[i].offset === got[j].offset;
    // Slot 0: aaaa (new), cc (copied in), eeee (copied in), g; slot 1: bbbb (new), dddddd (too big: new), ffffff (copied in).
    assert.ok(same(0, 2) && same(2, 4) && same(4, 6), "slot 0 reused");
    assert.ok(!same(1, 3) && same(3, 5), "slot 1 replaced by a larger buffer, then reused");
    assert.ok(!same(0, 1), "two slots");
  } finally {
    p.close();
  }
});

/** Runs `body` (after `p` is made from `description`) in a child process and returns how long its exit took after it said "exiting". */
async function exitTime(description: string, body: string): Promise<number> {
  const pipelineModule = new URL("./pipeline.js", import.meta.url).href;
  const script = `
    const { GstPipeline } = await import(${JSON.stringify(pipelineModule)});
    const p = new GstPipeline(${JSON.stringify(description)});
    const exit = () => { process.stdout.write("exiting\\n"); process.exit(0); };
    ${body}
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  try {
    let exitingAt = 0;
    child.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("exiting")) exitingAt = Date.now();
    });
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, null, "the process ended by itself (it was killed after hanging 15 s in exit)");
    assert.equal(code, 0);
    assert.ok(exitingAt > 0, "the child got as far as exiting");
    return Date.now() - exitingAt;
  } finally {
    clearTimeout(killer);
    child.kill("SIGKILL");
  }
}

// process.exit() joins every libuv threadpool thread; a bus poll or appsink pull waiting with no timeout would hang it for good.
test("process.exit() with a running pipeline whose bus poll waits in a threadpool thread ends the process at once", { timeout: 30_000 }, async () => {
  // The child waits 300 ms after start() for the bus to go quiet (its state changes read); without the fix, exit then hangs nearly every time.
  const took = await exitTime(QUIET.replace("appsink name=sink", "fakesink"), "p.start(); setTimeout(exit, 300);");
  assert.ok(took < 3000, `exit took ${took} ms`);
});

test("process.exit() with a quiet pipeline whose appsink pull waits in a threadpool thread ends the process at once", { timeout: 30_000 }, async () => {
  // Once a buffer went through, the pipeline plays; after the callback returns, the next pull waits on nothing.
  const took = await exitTime(QUIET, 'p.start(); p.pullFrom("sink", () => setImmediate(exit)); p.pushTo("src", Buffer.from("x"));');
  assert.ok(took < 3000, `exit took ${took} ms`);
});

test("setting a caps property keeps no copy behind: 200,000 sets leave memory about flat", () => {
  const p = new GstPipeline(QUIET, { kind: "test" });
  try {
    const set = (i: number) => p.setProperty("src", "caps", `video/x-raw,format=I420,width=${640 + (i % 1000)},height=64,framerate=30/1`);
    // Warm up the allocator and the caps' interned strings first.
    for (let i = 0; i < 2000; i++) set(i);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200_000; i++) set(i);
    const grown = (process.memoryUsage().rss - before) / 1e6;
    // Without the addon fix each set kept about 540 bytes (+108 MB here).
    assert.ok(grown < 40, `RSS grew ${grown.toFixed(1)} MB`);
  } finally {
    p.close();
  }
});
