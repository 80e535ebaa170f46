/**
 * The web app in Firefox ESR: the viewer plays the built-in VP8 test device,
 * and the device page publishes Firefox's fake camera (VP8, and VP9 when asked) to a Firefox viewer.
 *
 * Firefox never gathers loopback ICE candidates, so the server and Firefox run
 * inside a network namespace this file creates (e2e/lib/netns.ts); the test
 * itself stays in the root namespace and drives Firefox through a driver
 * process inside the namespace (e2e/lib/firefox.ts). Needs root, iproute2 and
 * firefox-esr; without them the tests fail with the reason.
 */
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { startServer, sumMetric, waitFor, type TestServer } from "./harness.js";
import { Firefox, type FirefoxPage } from "./lib/firefox.js";
import { createNetns, describeNetns, type Netns } from "./lib/netns.js";
import { readDevice, readProbe, readViewer, type DeviceView, type ProbeOptions, type ProbeState } from "./probes.js";

const VIEWER_PROBE: ProbeOptions = {
  video: "#video",
  watch: ["#player", "body"],
  attributes: ["data-device-state", "data-connection-state", "data-signaling"],
};
const DEVICE_PROBE: ProbeOptions = { video: "#preview", watch: ["body"], attributes: ["data-state", "data-connection-state"] };
const LOG_TAIL_LINES = 40;

let netns: Netns | undefined;
let server: TestServer | undefined;
let firefox: Firefox | undefined;

async function teardown(): Promise<void> {
  const ff = firefox;
  const srv = server;
  firefox = undefined;
  server = undefined;
  await ff?.close().catch(() => undefined);
  await srv?.close().catch(() => undefined);
  await netns?.destroy(); // also kills anything still running in the namespace
}

before(async () => {
  try {
    netns = await createNetns("ff");
    const wrap = [...netns.exec];
    // The server and Firefox start at the same time: each takes a few seconds.
    const [srv, ff] = await Promise.allSettled([
      startServer({ wrap, iceHost: netns.address, args: ["--host", netns.address, "--insecure-no-auth"] /* a namespace only this test reaches */ }),
      Firefox.launch(wrap),
    ]);
    if (srv.status === "fulfilled") server = srv.value;
    if (ff.status === "fulfilled") firefox = ff.value;
    if (srv.status === "rejected") throw srv.reason;
    if (ff.status === "rejected") throw ff.reason;
  } catch (err) {
    await teardown();
    throw err;
  }
});

after(teardown);

function env(): { server: TestServer; firefox: Firefox } {
  if (!server || !firefox) throw new Error("the Firefox e2e environment did not start (see the before hook's error)");
  return { server, firefox };
}

/** Runs a test body; closes its pages afterwards; on failure reports consoles, driver and server logs. */
async function withFirefox(
  t: TestContext,
  body: (open: (path: string, label: string, probe: ProbeOptions) => Promise<FirefoxPage>) => Promise<void>,
  srv: TestServer = env().server,
): Promise<void> {
  const { firefox: ff } = env();
  const opened: FirefoxPage[] = [];
  const open = async (path: string, label: string, probe: ProbeOptions) => {
    const page = await ff.open(srv.url + path, label, probe);
    opened.push(page);
    return page;
  };
  try {
    await body(open);
  } catch (err) {
    const consoles = await ff.consoleLines().catch((e: unknown) => [`(cannot read consoles: ${String(e)})`]);
    const report = [
      `firefox ${ff.version}`,
      "--- page consoles ---",
      ...consoles.slice(-LOG_TAIL_LINES),
      "--- firefox driver ---",
      ...ff.logs.slice(-LOG_TAIL_LINES),
      "--- server log (tail) ---",
      ...srv.logs.slice(-LOG_TAIL_LINES),
      "--- namespace ---",
      ...(netns ? describeNetns(netns.name).split("\n") : []),
    ];
    for (const line of report) t.diagnostic(line);
    throw err;
  } finally {
    await Promise.all(opened.map((p) => p.close().catch(() => undefined)));
  }
}

async function probe(page: FirefoxPage): Promise<ProbeState> {
  const state = await page.evaluate(readProbe);
  if (!state) throw new Error("the frame probe is not installed on this page");
  return state;
}

/** Waits until the page's <video> presents `count` more frames (requestVideoFrameCallback) than when called. */
async function framesAdvance(page: FirefoxPage, count: number, timeoutMs = 10_000): Promise<{ ms: number; width: number; height: number }> {
  const start = (await probe(page)).frames;
  const t0 = Date.now();
  const state = await waitFor(
    `${count} new video frames on ${page.label} (had ${start})`,
    async () => {
      const p = await probe(page);
      return p.frames >= start + count ? p : undefined;
    },
    { timeoutMs },
  );
  return { ms: Date.now() - t0, width: state.width, height: state.height };
}

/** What the page's peer connection sends or receives, from getStats(). */
interface RtpSummary {
  mimeType: string | null;
  frames: number;
  bytes: number;
}

/** The bits of the DOM the page functions below use (the root tsconfig has no DOM lib). */
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
}
type PageDocument = { querySelector(selector: string): PageElement | null };

/** In the page: `selector`'s attributes (or its text with attr "#text"), null when absent. */
function readElement({ selector, attrs }: { selector: string; attrs: string[] }): Record<string, string | null> | null {
  const el = (globalThis as unknown as { document: PageDocument }).document.querySelector(selector);
  if (!el) return null;
  return Object.fromEntries(attrs.map((a) => [a, a === "#text" ? el.textContent : el.getAttribute(a)]));
}

/** In the page: the server's listing of device `id` (GET /api/devices, same origin), null when not listed. */
async function apiDevice(id: string): Promise<{ id: string; name: string; online: boolean; kind: string; tracks: { kind: string; codec: string }[] } | null> {
  const res = await fetch("/api/devices");
  const body = (await res.json()) as { devices: { id: string; name: string; online: boolean; kind: string; tracks: { kind: string; codec: string }[] }[] };
  return body.devices.find((x) => x.id === id) ?? null;
}

/** In the page: the first video RTP stream of `window.tessera.pc` in `direction`, from getStats(). */
function videoRtp(direction: "outbound-rtp" | "inbound-rtp" | "remote-outbound-rtp"): Promise<RtpSummary | null> {
  const pc = (globalThis as unknown as { tessera?: { pc?: { getStats(): Promise<Map<string, Record<string, unknown>>> } } }).tessera?.pc;
  if (!pc) return Promise.resolve(null);
  return pc.getStats().then((report) => {
    for (const s of report.values()) {
      if (s.type !== direction || s.kind !== "video") continue;
      const codec = typeof s.codecId === "string" ? report.get(s.codecId) : undefined;
      return {
        mimeType: (codec?.mimeType as string | undefined) ?? null,
        frames: Number(s.framesEncoded ?? s.framesDecoded ?? 0),
        bytes: Number(s.bytesSent ?? s.bytesReceived ?? 0),
      };
    }
    return null;
  });
}

test("Firefox plays the built-in test device (VP8) at /?device=test", { timeout: 30_000 }, (t) =>
  withFirefox(t, async (open) => {
    const t0 = Date.now();
    const page = await open("?device=test", "viewer", VIEWER_PROBE);
    // 30 new frames is one second of the 30 fps test pattern: the picture moves.
    const { ms, width, height } = await framesAdvance(page, 30, 15_000);
    // Firefox's track is steady after its first keyframe: what it plays from here on comes through the native fan-out.
    const fannedOut = async () =>
      sumMetric(await page.evaluate(async () => (await fetch("/metrics")).text()), "tessera_rtp_fanout_packets_total", { kind: "video" });
    const fanoutBefore = await fannedOut();
    await framesAdvance(page, 30, 15_000);
    const fanned = (await fannedOut()) - fanoutBefore;
    assert.ok(fanned >= 30, `${fanned} video packets went through the fan-out over 30 frames`);
    const { timeline } = await page.evaluate(readViewer);
    t.diagnostic(
      `Firefox ${env().firefox.version} (launched in ${env().firefox.launchMs} ms): 30 frames ${ms} ms after load, ` +
        `${Date.now() - t0} ms after opening; ${width}x${height}; watch→offer ${timeline?.offerAt != null && timeline.watchSentAt != null ? (timeline.offerAt - timeline.watchSentAt).toFixed(0) : "?"} ms`,
    );
    assert.ok(width > 0 && height > 0, "frames have a size");
    const viewer = await page.evaluate(readViewer);
    assert.equal(viewer.deviceId, "test");
    assert.equal(viewer.connectionState, "connected");
    const attrs = await page.evaluate(readElement, { selector: "#player", attrs: ["data-connection-state", "data-device-state"] });
    assert.deepEqual(attrs, { "data-connection-state": "connected", "data-device-state": "online" });
    // The stats overlay is fed from getStats(), which Firefox implements its own way.
    const stats = await waitFor("stats with a codec and a frame rate", async () => {
      const s = (await page.evaluate(readViewer)).stats;
      return s && s.videoCodec && s.fps ? s : undefined;
    });
    assert.equal(stats.videoCodec, "video/VP8");
    const inbound = await page.evaluate(videoRtp, "inbound-rtp");
    assert.equal(inbound?.mimeType, "video/VP8");
    // The relay's own sender reports reach Firefox: what it read from them fills remote-outbound-rtp.
    await waitFor("a sender report counting the video's bytes", async () => ((await page.evaluate(videoRtp, "remote-outbound-rtp"))?.bytes ?? 0) > 0);
    // The device list shows the test device online.
    await waitFor("the test device listed online", () =>
      page.evaluate(readElement, { selector: '#devices button[data-device-id="test"][data-online="true"]', attrs: [] }),
    );
  }),
);

test("fullscreen in Firefox: the button and f fill the screen with the player; no Keyboard Lock API, so nothing is locked", { timeout: 30_000 }, (t) =>
  withFirefox(t, async (open) => {
    const page = await open("?device=test", "fullscreen", VIEWER_PROBE);
    await framesAdvance(page, 5, 15_000);
    const read = () =>
      page.evaluate(() => {
        const d = (globalThis as unknown as { document: PageDocument & { fullscreenElement: { id: string } | null } }).document;
        const player = d.querySelector("#player");
        return {
          element: d.fullscreenElement?.id ?? null,
          fullscreen: player?.getAttribute("data-fullscreen"),
          locked: player?.getAttribute("data-keyboard-locked"),
        };
      });
    const press = (what: "button" | "f") =>
      page.evaluate((w) => {
        const d = (globalThis as unknown as { document: { querySelector(s: string): { click(): void }; dispatchEvent(e: unknown): void } }).document;
        const KeyboardEvent = (globalThis as unknown as { KeyboardEvent: new (type: string, init: object) => unknown }).KeyboardEvent;
        if (w === "button") d.querySelector("#fullscreen").click();
        else d.dispatchEvent(new KeyboardEvent("keydown", { key: "f", bubbles: true }));
      }, what);
    await press("button");
    // The document enters and leaves fullscreen before its fullscreenchange event reaches the page: each wait is for both.
    const on = await waitFor("the player fullscreen", async () => {
      const r = await read();
      return r.element === "player" && r.fullscreen !== "false" && r.fullscreen != null ? r : undefined;
    });
    assert.deepEqual(on, { element: "player", fullscreen: "true", locked: null });
    await press("f");
    const off = await waitFor("out of fullscreen by f", async () => {
      const r = await read();
      return r.element === null && r.fullscreen === "false" ? r : undefined;
    });
    assert.equal(off.fullscreen, "false");
    t.diagnostic(`Firefox ${env().firefox.version}: fullscreen by the button and left by f`);
  }),
);

test("Firefox waits for a device that is not there yet, past the fallback deadline, and plays it over WebRTC when it publishes", { timeout: 60_000 }, (t) =>
  withFirefox(t, async (open) => {
    const viewer = await open("?device=ff-wait", "waiting", VIEWER_PROBE);
    const overlay = () => viewer.evaluate(readElement, { selector: "#overlay", attrs: ["#text"] });
    await waitFor("the waiting message", async () => (await overlay())?.["#text"]?.startsWith("Waiting for ff-wait…"));
    // Longer than the 4 s the page gives WebRTC before falling back: waiting is not failing.
    const t0 = Date.now();
    await waitFor("5 s of waiting", async () => (Date.now() - t0 >= 5000 ? true : undefined), { timeoutMs: 8000, intervalMs: 500 });
    const player = await viewer.evaluate(readElement, { selector: "#player", attrs: ["data-transport", "data-error"] });
    assert.deepEqual(player, { "data-transport": "webrtc", "data-error": null }, "still on WebRTC, no error");
    assert.equal((await viewer.evaluate(readElement, { selector: "#player-state", attrs: ["#text"] }))?.["#text"], "Waiting");

    await open("device.html?id=ff-wait&name=Late%20Firefox&source=camera&autostart=1&simulcast=0", "device", DEVICE_PROBE);
    const t1 = Date.now();
    const start = (await probe(viewer)).frames;
    const outcome = await waitFor(
      "the picture over WebRTC (or the fallback, when connecting takes longer than the page allows)",
      async () => {
        const transport = (await viewer.evaluate(readElement, { selector: "#player", attrs: ["data-transport"] }))?.["data-transport"];
        if (transport !== "webrtc") return "fell back";
        return (await probe(viewer)).frames >= start + 10 ? "played" : undefined;
      },
      { timeoutMs: 20_000 },
    );
    if (outcome === "fell back") {
      // Under a loaded machine two Firefox pages may take longer than the page's 4 s to connect:
      // the fallback is then right, and Try WebRTC again is what a user does next.
      t.diagnostic(`WebRTC did not connect within the page's deadline (${Date.now() - t1} ms after the device page opened); trying it again`);
      await viewer.evaluate(() =>
        (globalThis as unknown as { document: { querySelector(s: string): { click(): void } } }).document.querySelector("#retry-webrtc").click(),
      );
      await framesAdvance(viewer, 10, 20_000);
    }
    t.diagnostic(`the waiting viewer played ${Date.now() - t1} ms after the device page opened (${outcome})`);
    assert.equal((await viewer.evaluate(readElement, { selector: "#player", attrs: ["data-transport"] }))?.["data-transport"], "webrtc");
  }),
);

for (const codec of ["vp8", "vp9"] as const) {
  const mime = codec === "vp8" ? "video/VP8" : "video/VP9";
  const id = codec === "vp8" ? "ff1" : "ff-vp9";
  test(`the device page in Firefox publishes its fake camera as ${mime.slice(6)} and a Firefox viewer plays it`, { timeout: 40_000 }, (t) =>
    withFirefox(t, async (open) => {
      const t0 = Date.now();
      const device = await open(`device.html?id=${id}&name=Firefox&source=camera&autostart=1${codec === "vp9" ? "&codec=vp9" : ""}`, "device", DEVICE_PROBE);
      await waitFor(
        "the device page to publish",
        async () => {
          const d: DeviceView = await device.evaluate(readDevice);
          return d.state === "publishing" && d.connectionState === "connected" ? d : undefined;
        },
        { timeoutMs: 15_000 },
      );
      const publishedMs = Date.now() - t0;
      await framesAdvance(device, 10); // the local preview runs
      // Firefox encodes and sends what the page asked for (it has no H.264 in WebRTC here; the page puts VP8 first unless told).
      const sent = await waitFor("the device page to send video", async () => {
        const s = await device.evaluate(videoRtp, "outbound-rtp");
        return s && s.mimeType && s.bytes > 0 ? s : undefined;
      });
      assert.equal(sent.mimeType, mime);
      // The server lists it (asked from inside the namespace, by the page).
      const listed = await waitFor(
        `${id} listed online`,
        async () => {
          const d = await device.evaluate(apiDevice, id);
          return d?.online ? d : undefined;
        },
        { timeoutMs: 5000 },
      );
      assert.equal(listed.name, "Firefox");
      assert.equal(listed.kind, "camera");
      const videoTrack = listed.tracks.find((tr) => tr.kind === "video");
      assert.equal(videoTrack?.codec.toLowerCase(), mime.toLowerCase(), `the server received ${mime} (listed ${JSON.stringify(listed.tracks)})`);

      const t1 = Date.now();
      const viewer = await open(`?device=${id}`, "viewer", VIEWER_PROBE);
      const { ms, width, height } = await framesAdvance(viewer, 30, 15_000);
      const stats = await waitFor("viewer stats with a codec", async () => (await viewer.evaluate(readViewer)).stats?.videoCodec ?? undefined);
      t.diagnostic(
        `device published ${publishedMs} ms after opening (${sent.mimeType}); viewer: 30 frames ${ms} ms after load, ` +
          `${Date.now() - t1} ms after opening; ${width}x${height}; ${stats}`,
      );
      assert.ok(width > 0 && height > 0);
      assert.equal(stats, mime);
      assert.equal((await viewer.evaluate(readViewer)).connectionState, "connected");
      assert.match((await viewer.evaluate(readElement, { selector: "#player-title", attrs: ["#text"] }))?.["#text"] ?? "", /Firefox/);
      // The device keeps publishing while watched.
      await framesAdvance(device, 10);
    }),
  );
}

for (const transcode of ["on", "off"] as const) {
  test(
    transcode === "on"
      ? "an H.264-only device in Firefox (no H.264 in its WebRTC here): the server transcodes it to VP8 and Firefox plays it over WebRTC"
      : "an H.264-only device in Firefox with --transcode off: the viewer sees it cannot decode it and switches to the WebSocket stream by itself",
    { timeout: 60_000 },
    async (t) => {
      const ns = netns!;
      const h264 = await startServer({
        wrap: [...ns.exec],
        iceHost: ns.address,
        args: ["--host", ns.address, "--insecure-no-auth", "--source-codec", "h264", "--transcode", transcode],
      });
      try {
        await withFirefox(
          t,
          async (open) => {
            const t0 = Date.now();
            const page = await open("?device=test", `viewer-h264-${transcode}`, VIEWER_PROBE);
            if (transcode === "on") {
              const stats = await waitFor(
                "WebRTC frames of the transcoded video",
                async () => {
                  const v = await page.evaluate(readViewer);
                  return v.transport === "webrtc" && v.stats?.framesDecoded && v.stats.framesDecoded >= 30 ? v.stats : undefined;
                },
                { timeoutMs: 30_000 },
              );
              t.diagnostic(
                `Firefox on an H.264 device: ${stats.videoCodec} over WebRTC, ${stats.framesDecoded} frames ${Date.now() - t0} ms after opening, ${stats.width}x${stats.height}`,
              );
              assert.equal(stats.videoCodec?.toLowerCase(), "video/vp8");
              return;
            }
            const v = await waitFor(
              "the WebSocket stream painting",
              async () => {
                const s = await page.evaluate(readViewer);
                return s.fallback && s.fallback.framesPainted >= 10 ? s : undefined;
              },
              { timeoutMs: 20_000 },
            );
            t.diagnostic(`Firefox on an H.264 device: ${v.transport} (reason ${v.fallback?.reason}), 10 pictures painted ${Date.now() - t0} ms after opening`);
            assert.match(v.transport ?? "", /^ws_/);
            assert.equal(v.fallback?.reason, "no_codec", "given up because of the codec, not a timeout");
            assert.equal(v.connectionState, null, "no WebRTC connection is left");
          },
          h264,
        );
      } finally {
        await h264.close();
      }
    },
  );
}
