import Router from "@koa/router";
import type { Context } from "koa";
import type { WebSocket } from "ws";
import { z } from "zod";
import type { DeviceRegistry } from "../devices/registry.js";
import { badRequest, closeCodeFor, closeCodeForEviction, notFound, TesseraError, toClientError, tooLarge } from "../errors.js";
import { checkDeviceId, readBody, requireContentType } from "../http/body.js";
import { CLOSE_CODES, HELLO_TIMEOUT_MS, ID_PATTERN, ID_RULE } from "../protocol/messages.js";
import type { DeviceCredentials, DeviceGrant, KeyHolder } from "../keys/device-keys.js";
import type { FrameDevices } from "./frame-devices.js";
import type { StoredFrame } from "./stored-frame.js";

/** What the frame routes need. */
export interface FrameRouteDeps {
  frames: FrameDevices;
  registry: DeviceRegistry;
  /** Largest JPEG accepted, bytes. */
  maxFrameBytes: number;
  accountOf(ctx: Context): string;
  /** The latest frame of an RTP device as JPEG (decoded from its stream), or undefined when it has none yet. */
  /** `here`: only what this node has, never asked of another node (the request came from one). */
  latestJpegOf(account: string, deviceId: string, here?: boolean): Promise<{ jpeg: Buffer; etag: string } | undefined>;
}

/** `X-Frame-Timestamp`: ms since the epoch, or an ISO 8601 date; absent is fine. */
export function parseFrameTimestamp(header: string): number | undefined {
  if (header === "") return undefined;
  const n = /^\d{1,16}$/.test(header) ? Number(header) : Date.parse(header);
  if (!Number.isFinite(n)) throw badRequest("X-Frame-Timestamp must be ms since the epoch or an ISO 8601 date");
  return n;
}

const frameJson = (f: StoredFrame) => ({
  seq: f.seq,
  width: f.width,
  height: f.height,
  bytes: f.jpeg.length,
  receivedAt: f.receivedAt,
  deviceTimestamp: f.deviceTimestamp ?? null,
});

/** `POST /api/devices/:id/frames` (push) and `GET /api/devices/:id/frame.jpg` (pull). */
export function framesRouter(deps: FrameRouteDeps): Router {
  const router = new Router();
  router.post("/api/devices/:id/frames", async (ctx) => {
    const id = ctx.params.id;
    checkDeviceId(id);
    requireContentType(ctx, "image/jpeg");
    const deviceTimestamp = parseFrameTimestamp(ctx.get("X-Frame-Timestamp"));
    const body = await readBody(ctx, deps.maxFrameBytes, "a frame").catch((err: unknown) => {
      if (err instanceof TesseraError && err.code === "too_large") deps.frames.count("too_large");
      throw err;
    });
    const stored = deps.frames.push(deps.accountOf(ctx), id, body, deviceTimestamp);
    ctx.status = 201;
    ctx.body = frameJson(stored);
  });
  router.get("/api/devices/:id/frame.jpg", async (ctx) => {
    const account = deps.accountOf(ctx);
    const id = ctx.params.id;
    const pushed = deps.frames.get(account, id)?.latest;
    const latest = pushed
      ? { jpeg: pushed.jpeg, etag: `"f${pushed.seq}"` }
      : deps.registry.get(account, id)?.listedOnline
        ? await deps.latestJpegOf(account, id, ctx.state.fromNode === true)
        : undefined;
    if (!latest) throw notFound(`no frame of device '${id}'`);
    ctx.set("Cache-Control", "no-cache");
    ctx.set("ETag", latest.etag);
    if (ctx.get("If-None-Match") === latest.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = "image/jpeg";
    ctx.body = latest.jpeg;
  });
  return router;
}

const helloSchema = z.strictObject({ type: z.literal("hello"), token: z.string().max(8192).optional(), key: z.string().max(256).optional() });

/**
 * `/ws/ingest/{id}`: after a `hello` text message, every binary message is
 * one JPEG frame. Each gets `{"type":"ack","seq"}` or an `error`; a bad
 * frame is refused without closing.
 */
export function ingestSocket(
  ws: WebSocket,
  deviceId: string,
  deps: { frames: FrameDevices; maxFrameBytes: number; authenticate(creds: DeviceCredentials, deviceId: string, holder: KeyHolder): Promise<DeviceGrant> },
): void {
  let account: string | undefined;
  let helloSaid = false;
  let release = () => {};
  ws.on("close", () => release());
  const send = (msg: object) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(msg));
  const fail = (err: unknown) => {
    const { code, message } = toClientError(err);
    send({ type: "error", code, message });
  };
  const helloTimer = setTimeout(() => ws.close(CLOSE_CODES.helloTimeout, "no hello"), HELLO_TIMEOUT_MS);
  /** Anything but a hello first: an error, and the socket closes (as on /ws). */
  const refuseBeforeHello = (message: string) => {
    fail(badRequest(message));
    ws.close(CLOSE_CODES.protocolError, "hello first");
  };
  ws.on("close", () => clearTimeout(helloTimer));
  if (!ID_PATTERN.test(deviceId)) {
    fail(badRequest(`device ${ID_RULE}`));
    ws.close(CLOSE_CODES.protocolError, "bad device id");
    return;
  }
  ws.on("message", (data, isBinary) => {
    const buf = data as Buffer;
    if (!isBinary) {
      let parsed;
      try {
        parsed = helloSchema.safeParse(JSON.parse(buf.toString("utf8")));
      } catch {
        parsed = undefined;
      }
      if (helloSaid) return fail(badRequest("hello was already said"));
      if (!parsed?.success) return refuseBeforeHello('the first message is {"type":"hello"}');
      helloSaid = true;
      clearTimeout(helloTimer);
      const holder: KeyHolder = {
        evict: (reason) => ws.close(closeCodeForEviction(reason), `device key ${reason}`),
      };
      deps
        .authenticate(parsed.data, deviceId, holder)
        .then((r) => {
          if (ws.readyState !== ws.OPEN) return r.release();
          release = r.release;
          account = r.account;
          send({ type: "ready", deviceId });
        })
        .catch((err: unknown) => {
          fail(err);
          ws.close(closeCodeFor(toClientError(err).code), "hello refused");
        });
      return;
    }
    if (!helloSaid) return refuseBeforeHello("say hello before sending frames");
    if (account === undefined) return fail(badRequest("wait for ready before sending frames"));
    if (buf.length > deps.maxFrameBytes) {
      deps.frames.count("too_large");
      return fail(tooLarge(`a frame may be at most ${deps.maxFrameBytes} bytes`));
    }
    try {
      const stored = deps.frames.push(account, deviceId, Buffer.from(buf), undefined);
      send({ type: "ack", seq: stored.seq });
    } catch (err) {
      fail(err);
    }
  });
}
