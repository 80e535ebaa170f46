import { execFile, spawn, type ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { promisify } from "node:util";
import { PNG } from "pngjs";
import { noisyPng } from "../../e2e/lib/png-fixture.js";
import { BUTTON_PRESS, BUTTON_RELEASE, KEY_PRESS, KEY_RELEASE, SHIFT_MASK, TestClient } from "../../e2e/lib/x-test-client.js";
import { startXvfb, type TestDisplay } from "../../e2e/lib/xvfb.js";
import { createLogger } from "../log.js";
import { clipboardImageLines } from "../protocol/clipboard-image.js";
import { clipboardMessages, type ClipboardContent } from "./clipboard.js";
import type { XEvent } from "x11";
import { X11Desktop, type CursorShape } from "./x11-desktop.js";

const log = createLogger("silent");
const run = promisify(execFile);

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A program's standard output as bytes. */
async function runBytes(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Buffer> {
  const { stdout } = await run(file, args, { env, timeout: 5000, encoding: "buffer" });
  return stdout;
}

describe("X11Desktop on Xvfb", () => {
  let xvfb: TestDisplay;
  let desktop: X11Desktop;
  let client: TestClient;
  const cursors: CursorShape[] = [];
  const clipboards: ClipboardContent[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    xvfb = await startXvfb({ width: 640, height: 480 });
    client = await TestClient.open(xvfb.display);
    desktop = await X11Desktop.connect(xvfb.display, log);
    desktop.on("cursor", (c) => cursors.push(c));
    desktop.on("clipboard", (t) => clipboards.push(t));
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    desktop?.close();
    client?.close();
    await xvfb?.close();
  });

  test("reports the root window's size", () => {
    assert.deepEqual(desktop.size, { width: 640, height: 480 });
  });

  test("pointer lines move, press and release buttons, and scroll", async () => {
    client.events.length = 0;
    assert.equal(desktop.inject("m,100,200,0,0"), true);
    desktop.inject("m,100,200,1,0");
    desktop.inject("m,100,200,0,0");
    await waitFor("left button press and release", () => client.of(BUTTON_RELEASE).length === 1);
    const [press] = client.of(BUTTON_PRESS);
    assert.equal(press.keycode, 1);
    assert.deepEqual([press.x, press.y], [100, 200]);
    assert.equal(client.of(BUTTON_RELEASE)[0].keycode, 1);

    client.events.length = 0;
    desktop.inject("m,100,200,4,0");
    desktop.inject("m,100,200,0,0");
    await waitFor("right button press and release", () => client.of(BUTTON_RELEASE).length === 1);
    assert.deepEqual(
      client.events.filter((e) => e.type === BUTTON_PRESS || e.type === BUTTON_RELEASE).map((e) => [e.type, e.keycode]),
      [
        [BUTTON_PRESS, 3],
        [BUTTON_RELEASE, 3],
      ],
    );

    client.events.length = 0;
    desktop.inject("m,10,10,0,-2");
    await waitFor("two wheel-up clicks", () => client.of(BUTTON_RELEASE).length === 2);
    assert.deepEqual(
      client.events.filter((e) => e.type === BUTTON_PRESS || e.type === BUTTON_RELEASE).map((e) => [e.type, e.keycode]),
      [
        [BUTTON_PRESS, 4],
        [BUTTON_RELEASE, 4],
        [BUTTON_PRESS, 4],
        [BUTTON_RELEASE, 4],
      ],
    );
    assert.deepEqual([client.of(BUTTON_PRESS)[0].x, client.of(BUTTON_PRESS)[0].y], [10, 10]);
  });

  test("relative pointer lines (m2, a locked pointer) move from where the pointer is", async () => {
    client.events.length = 0;
    desktop.inject("m,100,100,0,0");
    assert.equal(desktop.inject("m2,25,-10,0,0"), true);
    desktop.inject("m2,5,0,1,0");
    desktop.inject("m2,0,0,0,0");
    await waitFor("a press and release", () => client.of(BUTTON_RELEASE).length === 1);
    const [press] = client.of(BUTTON_PRESS);
    assert.deepEqual([press.keycode, press.x, press.y], [1, 130, 90]);
  });

  test("touch: a tap clicks, a drag drags with the left button, two fingers scroll", async () => {
    client.events.length = 0;
    desktop.inject("t,start,0,30,40");
    desktop.inject("t,end,0,30,40");
    desktop.inject("t,start,0,100,100");
    desktop.inject("t,move,0,130,120");
    desktop.inject("t,end,0,130,120");
    await waitFor("two clicks", () => client.of(BUTTON_RELEASE).length === 2);
    assert.deepEqual(
      client.events.filter((e) => e.type === BUTTON_PRESS || e.type === BUTTON_RELEASE).map((e) => [e.type, e.keycode, e.x, e.y]),
      [
        [BUTTON_PRESS, 1, 30, 40],
        [BUTTON_RELEASE, 1, 30, 40],
        [BUTTON_PRESS, 1, 100, 100],
        [BUTTON_RELEASE, 1, 130, 120],
      ],
    );
    client.events.length = 0;
    desktop.inject("t,start,0,200,300");
    desktop.inject("t,start,1,240,300");
    desktop.inject("t,move,0,200,250");
    desktop.inject("t,move,1,240,250");
    desktop.inject("t,end,0,200,250");
    desktop.inject("t,end,1,240,250");
    await waitFor("wheel-down presses", () => client.of(BUTTON_PRESS).length >= 2);
    assert.ok(
      client.of(BUTTON_PRESS).every((e) => e.keycode === 5),
      `fingers moving up scroll down (button 5), no click: ${client
        .of(BUTTON_PRESS)
        .map((e) => e.keycode)
        .join(",")}`,
    );
  });

  test("keys arrive in order as keycodes that map back to the keysyms, Shift and spare keycodes included", async () => {
    client.events.length = 0;
    const keysyms = [0x61, 0x41, 0xff0d, 0x010003bb];
    for (const k of keysyms) {
      assert.equal(desktop.inject(`kd,${k}`), true);
      assert.equal(desktop.inject(`ku,${k}`), true);
    }
    const shiftL = (await keycodesOf(client, 0xffe1))[0];
    const nonShift = () => client.of(KEY_PRESS).filter((e) => e.keycode !== shiftL);
    await waitFor("four key presses", () => nonShift().length === 4 && client.of(KEY_RELEASE).length >= 5);
    const presses = nonShift();
    const rows = await Promise.all(presses.map((e) => client.keysyms(e.keycode ?? 0)));
    assert.equal(rows[0][0], 0x61, "a unshifted");
    assert.equal(rows[1][1], 0x41, "A on the shifted level");
    assert.equal((presses[1] as XEvent & { buttons: number }).buttons & SHIFT_MASK, SHIFT_MASK, "Shift held for A");
    assert.equal((presses[0] as XEvent & { buttons: number }).buttons & SHIFT_MASK, 0, "no Shift for a");
    assert.equal(rows[2][0], 0xff0d, "Return");
    assert.equal(rows[3][0], 0x010003bb, "λ on a borrowed keycode");
    // Every press was released, Shift last after A.
    const order = client.events.filter((e) => e.type === KEY_PRESS || e.type === KEY_RELEASE).map((e) => [e.type, e.keycode]);
    assert.deepEqual(order.slice(2, 6), [
      [KEY_PRESS, shiftL],
      [KEY_PRESS, presses[1].keycode],
      [KEY_RELEASE, presses[1].keycode],
      [KEY_RELEASE, shiftL],
    ]);
  });

  test("releaseAll and kr release held keys and buttons", async () => {
    client.events.length = 0;
    desktop.inject("kd,97");
    await waitFor("key press", () => client.of(KEY_PRESS).length === 1);
    desktop.releaseAll();
    await waitFor("key release", () => client.of(KEY_RELEASE).length === 1);
    assert.equal(client.of(KEY_RELEASE)[0].keycode, client.of(KEY_PRESS)[0].keycode);

    desktop.inject("m,50,50,1,0");
    await waitFor("button press", () => client.of(BUTTON_PRESS).length === 1);
    assert.equal(desktop.inject("kr"), true);
    await waitFor("button release", () => client.of(BUTTON_RELEASE).length === 1);
    assert.equal(client.of(BUTTON_RELEASE)[0].keycode, 1);
  });

  test("lines that are not understood return false", () => {
    for (const line of ["", "x,1", "m,1,2", "m,9999,1,0,0", "kd,abc", "cw,***", "t,hover,0,1,1", "kr,1"]) {
      assert.equal(desktop.inject(line), false, line);
    }
    assert.equal(desktop.inject("r,800x600"), true, "resize is understood, and left to the caller");
  });

  test("clipboard from viewers reaches X clients", async () => {
    assert.equal(desktop.inject("cw," + Buffer.from("héllo").toString("base64")), true);
    const { stdout } = await run("xclip", ["-o", "-selection", "clipboard"], { env: xvfb.env, timeout: 5000 });
    assert.equal(stdout, "héllo");
    const primary = await run("xclip", ["-o", "-selection", "primary", "-target", "STRING"], { env: xvfb.env, timeout: 5000, encoding: "latin1" });
    assert.equal(primary.stdout, "héllo");
    const targets = await run("xclip", ["-o", "-selection", "clipboard", "-target", "TARGETS"], { env: xvfb.env, timeout: 5000 });
    assert.deepEqual(targets.stdout.trim().split("\n").sort(), ["STRING", "TARGETS", "TEXT", "UTF8_STRING"]);
  });

  test("clipboard from X clients reaches viewers, and our own is not echoed", async () => {
    clipboards.length = 0;
    desktop.setClipboard("mine");
    const xclip = spawn("xclip", ["-i", "-selection", "clipboard", "-quiet", "-loops", "1"], { env: xvfb.env, stdio: ["pipe", "ignore", "ignore"] });
    children.push(xclip);
    xclip.stdin.end("wörld");
    await waitFor("clipboard event", () => clipboards.length > 0);
    assert.deepEqual(clipboards, [{ text: "wörld" }]);
  });

  test("clipboard text over 48 KiB from X clients is skipped", async () => {
    clipboards.length = 0;
    const big = spawn("xclip", ["-i", "-selection", "clipboard", "-quiet", "-loops", "1"], { env: xvfb.env, stdio: ["pipe", "ignore", "ignore"] });
    children.push(big);
    big.stdin.end("x".repeat(100_000));
    // xclip serves one request (ours) and exits; then a small one still comes through, and alone.
    await waitFor("the big owner to serve us and exit", () => big.exitCode !== null);
    const small = spawn("xclip", ["-i", "-selection", "clipboard", "-quiet", "-loops", "1"], { env: xvfb.env, stdio: ["pipe", "ignore", "ignore"] });
    children.push(small);
    small.stdin.end("small");
    await waitFor("clipboard event", () => clipboards.length > 0);
    assert.deepEqual(clipboards, [{ text: "small" }]);
  });

  test("a PNG from viewers (ci lines, in parts) reaches X clients as image/png", async () => {
    const png = noisyPng(200, 120);
    assert.ok(png.length > 48_000, "the picture takes more than one part");
    for (const line of clipboardImageLines(png.toString("base64")) ?? []) assert.equal(desktop.inject(line), true);
    const targets = await run("xclip", ["-o", "-selection", "clipboard", "-target", "TARGETS"], { env: xvfb.env, timeout: 5000 });
    assert.deepEqual(targets.stdout.trim().split("\n").sort(), ["TARGETS", "image/png"]);
    const got = await runBytes("xclip", ["-o", "-selection", "clipboard", "-target", "image/png"], xvfb.env);
    assert.ok(got.equals(png), `the same ${png.length} bytes (got ${got.length})`);
    // A part out of turn drops the picture: the clipboard keeps the last whole one.
    const [first] = clipboardImageLines(noisyPng(300, 200).toString("base64")) ?? [];
    desktop.inject(first);
    desktop.inject(first.replace(/^ci,1,/, "ci,3,"));
    assert.ok((await runBytes("xclip", ["-o", "-selection", "clipboard", "-target", "image/png"], xvfb.env)).equals(png));
  });

  test("a PNG copied by an X client reaches viewers; one over the bound is skipped", async () => {
    clipboards.length = 0;
    const big = spawn("xclip", ["-i", "-selection", "clipboard", "-target", "image/png", "-quiet", "-loops", "1"], {
      env: xvfb.env,
      stdio: ["pipe", "ignore", "ignore"],
    });
    children.push(big);
    big.stdin.end(noisyPng(400, 300));
    await waitFor("the big owner to serve us and exit", () => big.exitCode !== null);
    const png = noisyPng(160, 100);
    const xclip = spawn("xclip", ["-i", "-selection", "clipboard", "-target", "image/png", "-quiet", "-loops", "1"], {
      env: xvfb.env,
      stdio: ["pipe", "ignore", "ignore"],
    });
    children.push(xclip);
    xclip.stdin.end(png);
    await waitFor("clipboard event", () => clipboards.length > 0);
    assert.equal(clipboards.length, 1);
    const [got] = clipboards;
    assert.ok("png" in got && got.png.equals(png), `the picture, byte for byte, and only it: ${JSON.stringify(got).slice(0, 100)}`);
    const messages = clipboardMessages(got);
    assert.ok(messages.length >= 2 && messages.every((m) => m.type === "clipboard" && typeof m.png === "string"));
  });

  test("close() releases held keys, gives borrowed keycodes back and emits closed once", async () => {
    const second = await X11Desktop.connect(xvfb.display, log);
    const reasons: string[] = [];
    second.on("closed", (r) => reasons.push(r));
    client.events.length = 0;
    second.inject("kd,16777473"); // U+0101 ā, on no key
    await waitFor("key press", () => client.of(KEY_PRESS).length === 1);
    const keycode = client.of(KEY_PRESS)[0].keycode ?? 0;
    assert.equal((await client.keysyms(keycode))[0], 0x01000101);
    second.close();
    second.close();
    assert.deepEqual(reasons, ["closed"]);
    assert.equal(second.inject("kd,97"), false);
    await waitFor("key release", () => client.of(KEY_RELEASE).length === 1);
    await waitFor("the keycode to be empty again", async () => (await client.keysyms(keycode)).every((k) => k === 0));
  });

  test("cursor: one at connect with a decodable PNG, a new one when the window's cursor differs", async () => {
    await waitFor("first cursor", () => cursors.length > 0);
    const first = cursors[0];
    const png = PNG.sync.read(Buffer.from(first.png, "base64"));
    assert.ok(first.width > 0 && first.height > 0);
    assert.deepEqual([png.width, png.height], [first.width, first.height]);
    assert.ok(first.hotspotX < first.width && first.hotspotY < first.height);

    await client.defineGlyphCursor(60); // "hand2"
    desktop.inject("m,300,300,0,0");
    await waitFor("a different cursor", () => cursors.some((c) => c.serial !== first.serial));
    const next = cursors.find((c) => c.serial !== first.serial)!;
    const nextPng = PNG.sync.read(Buffer.from(next.png, "base64"));
    assert.deepEqual([nextPng.width, nextPng.height], [next.width, next.height]);
    assert.ok(
      nextPng.data.some((v, i) => i % 4 === 3 && v === 255),
      "some opaque pixels",
    );
  });
});

/** Keycodes whose unshifted keysym is `keysym`, from `client`'s view of the mapping. */
async function keycodesOf(client: TestClient, keysym: number): Promise<number[]> {
  const { min_keycode: min, max_keycode: max } = client.d;
  const rows = await new Promise<number[][]>((resolve, reject) =>
    client.X.GetKeyboardMapping(min, max - min + 1, (err, r) => {
      if (err) reject(err);
      else resolve(r);
      return true;
    }),
  );
  return rows.flatMap((row, i) => (row[0] === keysym ? [i + min] : []));
}

/** The root window's size as xwininfo reports it. */
async function rootSize(d: TestDisplay): Promise<{ width: number; height: number }> {
  const { stdout } = await run("xwininfo", ["-root"], { env: d.env, timeout: 5000 });
  return { width: Number(/Width: (\d+)/.exec(stdout)?.[1]), height: Number(/Height: (\d+)/.exec(stdout)?.[1]) };
}

/** The names of the `tessera-*` modes the server knows (xrandr lists the ones on no output too). */
async function tesseraModes(d: TestDisplay): Promise<string[]> {
  const { stdout } = await run("xrandr", [], { env: d.env, timeout: 5000 });
  return [...new Set([...stdout.matchAll(/^\s+(tessera-\S+)/gm)].map((m) => m[1]))];
}

describe("X11Desktop.resize on Xvfb", () => {
  let xvfb: TestDisplay;
  let bare: TestDisplay;

  before(async () => {
    [xvfb, bare] = await Promise.all([startXvfb({ width: 640, height: 480 }), startXvfb({ width: 640, height: 480, randr: false })]);
  });

  after(async () => {
    await Promise.all([xvfb?.close(), bare?.close()]);
  });

  test("shrinks below its starting size, and its starting size is its largest", async () => {
    const desktop = await X11Desktop.connect(xvfb.display, log);
    const resized: { width: number; height: number }[] = [];
    desktop.on("resized", (size) => resized.push(size));
    try {
      assert.deepEqual(await desktop.resize(320, 240), { width: 320, height: 240 });
      assert.deepEqual(await rootSize(xvfb), { width: 320, height: 240 });
      assert.deepEqual(await desktop.resize(1000, 600), { width: 640, height: 480 });
      assert.deepEqual(await rootSize(xvfb), { width: 640, height: 480 });
      assert.deepEqual(resized, [
        { width: 320, height: 240 },
        { width: 640, height: 480 },
      ]);
      assert.deepEqual(await tesseraModes(xvfb), [], "Xvfb's own 640x480 mode was used, and ours is gone");
    } finally {
      desktop.close();
    }
  });

  test("without RandR, resize resolves undefined, changes nothing and throws nothing", async () => {
    const desktop = await X11Desktop.connect(bare.display, log);
    const resized: unknown[] = [];
    desktop.on("resized", (size) => resized.push(size));
    try {
      assert.equal(await desktop.resize(320, 240), undefined);
      assert.equal(await desktop.resize(Number.NaN, 240), undefined);
      assert.deepEqual(desktop.size, { width: 640, height: 480 });
      assert.deepEqual(await rootSize(bare), { width: 640, height: 480 });
      assert.deepEqual(resized, []);
      assert.equal(desktop.closed, false);
      assert.equal(desktop.inject("m,600,400,0,0"), true);
    } finally {
      desktop.close();
    }
  });
});

describe("X11Desktop.resize on Xvnc", () => {
  let xvnc: TestDisplay;
  let desktop: X11Desktop;
  const resized: { width: number; height: number }[] = [];

  before(async () => {
    xvnc = await startXvfb({ server: "Xvnc", width: 1280, height: 720 });
    desktop = await X11Desktop.connect(xvnc.display, log);
    desktop.on("resized", (size) => resized.push(size));
  });

  after(async () => {
    desktop?.close();
    await xvnc?.close();
  });

  /** Resizes, and checks the answer, the one 'resized' event, desktop.size and the root window all agree on `expected`. */
  async function resizeTo(width: number, height: number, expected = { width, height }): Promise<void> {
    resized.length = 0;
    assert.deepEqual(await desktop.resize(width, height), expected);
    await waitFor("the resized event", () => resized.length > 0);
    assert.deepEqual(resized, [expected]);
    assert.deepEqual(desktop.size, expected);
    assert.deepEqual(await rootSize(xvnc), expected);
  }

  test("shrinks to 1000x600 with a mode of its own", async () => {
    await resizeTo(1000, 600);
    assert.deepEqual(await tesseraModes(xvnc), ["tessera-1000x600"]);
  });

  test("grows to 1600x900", async () => {
    await resizeTo(1600, 900);
  });

  test("an odd size is made even", async () => {
    await resizeTo(801, 601, { width: 800, height: 600 });
  });

  test("a size below the server's range is clamped to it", async () => {
    // Xvnc's range is 32x32 to 32768x32768; the top is not tried, that would be a 4 GiB screen.
    await resizeTo(1, 7, { width: 32, height: 32 });
  });

  test("the size it already has resolves at once, without an event", async () => {
    resized.length = 0;
    assert.deepEqual(await desktop.resize(32, 32), { width: 32, height: 32 });
    assert.deepEqual(resized, []);
  });

  test("ten resizes in a row (and two at once) leave at most one tessera mode", async () => {
    for (let i = 0; i < 10; i++) assert.deepEqual(await desktop.resize(900 + 2 * i, 500 + 2 * i), { width: 900 + 2 * i, height: 500 + 2 * i });
    assert.deepEqual(await tesseraModes(xvnc), ["tessera-918x518"]);
    const both = await Promise.all([desktop.resize(700, 400), desktop.resize(702, 402)]);
    assert.deepEqual(both, [
      { width: 700, height: 400 },
      { width: 702, height: 402 },
    ]);
    assert.deepEqual(await tesseraModes(xvnc), ["tessera-702x402"]);
    assert.deepEqual(await rootSize(xvnc), { width: 702, height: 402 });
  });

  test("a change made by another client (xrandr --fb) emits resized; a mode the server has is used as it is", async () => {
    resized.length = 0;
    await run("xrandr", ["--fb", "1100x700"], { env: xvnc.env, timeout: 5000 });
    await waitFor("the resized event", () => resized.length > 0);
    assert.deepEqual(resized, [{ width: 1100, height: 700 }]);
    assert.deepEqual(desktop.size, { width: 1100, height: 700 });

    await resizeTo(1024, 768);
    assert.deepEqual(await tesseraModes(xvnc), [], "Xvnc's own 1024x768 mode was used, and ours is gone");
  });
});

describe("X11Desktop when the X server goes away", () => {
  let xvfb: TestDisplay;

  before(async () => {
    xvfb = await startXvfb({ width: 320, height: 240 });
  });

  after(async () => {
    await xvfb.close();
  });

  test("emits closed once, then every method is a no-op", async () => {
    const desktop = await X11Desktop.connect(xvfb.display, log);
    const reasons: string[] = [];
    desktop.on("closed", (r) => reasons.push(r));
    await xvfb.close();
    await waitFor("closed", () => reasons.length > 0);
    assert.equal(desktop.closed, true);
    assert.equal(desktop.inject("m,1,1,1,0"), false);
    assert.equal(desktop.inject("kd,97"), false);
    desktop.releaseAll();
    desktop.setClipboard("gone");
    assert.equal(await desktop.resize(100, 100), undefined);
    desktop.close();
    assert.equal(reasons.length, 1);
  });
});

test("connect to a display that does not exist rejects, naming the display", async () => {
  await assert.rejects(X11Desktop.connect(":987", log), (err: Error) => err instanceof Error && err.message.includes(":987"));
});
