/**
 * Bench-only page script (bundled to dist/e2e-pages/stamp.js as a classic
 * script, never part of the web app): glass-to-glass delay with the time
 * drawn into the picture. A canvas source draws, every animation frame, a
 * moving picture and the time of drawing (ms on the page's clock, 24 bits,
 * in two copies) as black and white blocks large enough to come through a
 * video encoder whole; a watcher reads the time back from each frame a
 * <video> presents (requestVideoFrameCallback, at the time the browser
 * expects to show it) or, for a <canvas>, from what it holds at each
 * animation frame, and keeps now − stamp. Pages of one browser share the
 * machine's clock (performance.timeOrigin + performance.now()).
 *
 * The bench (bench/latency.ts) calls `window.tesseraStamp.*` with
 * page.evaluate; see e2e/stamp-api.ts for the shape.
 */
import type { StampApi, StampReadings } from "../stamp-api.js";

const BITS = 24;
const MOD = 2 ** BITS;
/** The stamp's layout on a 1280-wide picture (scaled to the picture's width): block size and each copy's top. */
const BLOCK = 40;
const LEFT = 40;
const ROWS = [16, 72];
/** The strip of a 1280×720 picture that holds both copies. */
const STRIP = 128;

const clock = (): number => performance.timeOrigin + performance.now();

/** A canvas drawing the moving picture and the time; its stream at 30 frames/s. */
function stampStream(width: number, height: number): MediaStream {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { alpha: false });
  if (!ctx) throw new Error("no 2D context");
  const k = width / 1280;
  const draw = (): void => {
    const t = clock();
    // Motion for the encoder: a hue that drifts and a box that sweeps.
    ctx.fillStyle = `hsl(${Math.floor(t / 40) % 360} 45% 45%)`;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = "#dddddd";
    ctx.fillRect(((t / 4) % (width + 200)) - 200, height / 2 - 100, 200, 200);
    const value = Math.floor(t) % MOD;
    for (const top of ROWS) {
      for (let i = 0; i < BITS; i++) {
        ctx.fillStyle = (value >> (BITS - 1 - i)) & 1 ? "#ffffff" : "#000000";
        ctx.fillRect((LEFT + i * BLOCK) * k, top * k, BLOCK * k, BLOCK * k);
      }
    }
    requestAnimationFrame(draw);
  };
  draw();
  const stream = canvas.captureStream(30);
  // Keep the size under load (the encoder then drops frames instead): every path is measured at width × height.
  for (const track of stream.getVideoTracks()) track.contentHint = "detail";
  return stream;
}

const readings: StampReadings = { delays: [], frames: 0, unreadable: 0, firstAt: null, pageToFirstFrame: null, width: 0 };

/** Reads the stamp off `el` (a video's current frame or a canvas) and keeps the delay to `at` when it is new. */
function reader(): (el: HTMLVideoElement | HTMLCanvasElement, at: number) => void {
  const strip = document.createElement("canvas");
  strip.width = 1280;
  strip.height = STRIP;
  const ctx = strip.getContext("2d", { willReadFrequently: true, alpha: false });
  if (!ctx) throw new Error("no 2D context");
  let last = -1;
  const row = (data: Uint8ClampedArray, top: number): number => {
    let v = 0;
    for (let i = 0; i < BITS; i++) {
      // The mean of a 3×3 grid inside the block: a single pixel can ride an encoder's ringing.
      let sum = 0;
      for (const dy of [10, 20, 30])
        for (const dx of [10, 20, 30]) {
          const p = ((top + dy) * 1280 + LEFT + i * BLOCK + dx) * 4;
          sum += data[p] + data[p + 1] + data[p + 2];
        }
      v = v * 2 + (sum / 27 > 128 ? 1 : 0);
    }
    return v;
  };
  return (el, at) => {
    const w = el instanceof HTMLVideoElement ? el.videoWidth : el.width;
    const h = el instanceof HTMLVideoElement ? el.videoHeight : el.height;
    if (!w || !h) return;
    ctx.drawImage(el, 0, 0, w, (h * STRIP) / 720, 0, 0, 1280, STRIP);
    const data = ctx.getImageData(0, 0, 1280, STRIP).data;
    const a = row(data, ROWS[0]);
    if (a !== row(data, ROWS[1])) {
      readings.unreadable++;
      return;
    }
    if (a === last) return;
    last = a;
    // The stamp counts ms modulo MOD: the delay is the difference nearest zero, so a frame shown before it was drawn would read negative.
    const wrapped = (((at - a) % MOD) + MOD) % MOD;
    const delay = wrapped >= MOD / 2 ? wrapped - MOD : wrapped;
    if (Math.abs(delay) > 10_000) {
      readings.unreadable++;
      return;
    }
    readings.frames++;
    readings.width = w;
    if (readings.firstAt === null) {
      readings.firstAt = at;
      readings.pageToFirstFrame = at - performance.timeOrigin;
    }
    readings.delays.push(delay);
  };
}

function watchVideo(video: HTMLVideoElement): void {
  const read = reader();
  const next = (_now: number, meta: VideoFrameCallbackMetadata): void => {
    read(video, performance.timeOrigin + meta.expectedDisplayTime);
    video.requestVideoFrameCallback(next);
  };
  video.requestVideoFrameCallback(next);
}

function watchCanvas(canvas: HTMLCanvasElement): void {
  const read = reader();
  const next = (now: number): void => {
    read(canvas, performance.timeOrigin + now);
    requestAnimationFrame(next);
  };
  requestAnimationFrame(next);
}

/** Resolves once `pc` has gathered its candidates (they are then in its local description: no trickling). */
function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}

const api: StampApi = {
  replaceCamera(width, height) {
    const media = navigator.mediaDevices;
    const original = media.getUserMedia.bind(media);
    media.getUserMedia = async (constraints) => (constraints?.video ? stampStream(width, height) : original(constraints));
  },

  watch(selector) {
    // Called from an init script, before the page has its elements: looks again every animation frame.
    const el = document.querySelector(selector);
    if (el instanceof HTMLVideoElement) watchVideo(el);
    else if (el instanceof HTMLCanvasElement) watchCanvas(el);
    else if (el === null) requestAnimationFrame(() => api.watch(selector));
    else throw new Error(`${selector}: no video or canvas`);
  },

  async offer(width, height) {
    const stream = stampStream(width, height);
    const pc = new RTCPeerConnection();
    const transceiver = pc.addTransceiver(stream.getVideoTracks()[0], { direction: "sendonly", streams: [stream] });
    // VP8, as the device page publishes through the server.
    const codecs = RTCRtpSender.getCapabilities("video")?.codecs ?? [];
    transceiver.setCodecPreferences(codecs.filter((c) => c.mimeType === "video/VP8"));
    (window as unknown as { tessera: { pc: RTCPeerConnection } }).tessera = { pc };
    await pc.setLocalDescription();
    await gathered(pc);
    return (pc.localDescription as RTCSessionDescription).sdp;
  },

  async answer(offer) {
    const pc = new RTCPeerConnection();
    // Where the bench reads getStats, as on the viewer page.
    (window as unknown as { tessera: { pc: RTCPeerConnection } }).tessera = { pc };
    const video = document.createElement("video");
    video.muted = video.autoplay = video.playsInline = true;
    video.style.width = "640px";
    document.body.append(video);
    pc.ontrack = (e) => {
      video.srcObject = new MediaStream([e.track]);
      void video.play();
    };
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    await pc.setLocalDescription();
    await gathered(pc);
    watchVideo(video);
    return (pc.localDescription as RTCSessionDescription).sdp;
  },

  async accept(answer) {
    const pc = (window as unknown as { tessera: { pc: RTCPeerConnection } }).tessera.pc;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  },

  readings(reset) {
    const copy = { ...readings, delays: [...readings.delays] };
    if (reset) {
      readings.delays = [];
      readings.frames = readings.unreadable = 0;
    }
    return copy;
  },
};

(window as unknown as { tesseraStamp: StampApi }).tesseraStamp = api;
