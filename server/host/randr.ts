/**
 * Changes an X screen's size through RandR 1.2 on the desktop's own X
 * connection, the way `xrandr --fb WxH --output OUT --mode M` does: a mode of
 * the size (found, or created as `tessera-WxH`), then the screen size and
 * the CRTC in an order that works both when growing and when shrinking.
 */
import type {
  XCallback,
  XClient,
  XError,
  XGeometry,
  XRandr,
  XRandrCrtcInfo,
  XRandrModeInfo,
  XRandrOutputInfo,
  XRandrScreenResources,
  XRandrSizeRange,
} from "x11";
import type { Logger } from "../log.js";

export interface ScreenSize {
  width: number;
  height: number;
}

/** Name prefix of the modes we create; the ones no CRTC uses are destroyed after each resize. */
export const MODE_PREFIX = "tessera-";
/** How long one resize may take before it is given up (a server that stopped answering). */
export const RESIZE_TIMEOUT_MS = 10_000;

const CONNECTED = 0;
const ROTATE_0 = 1;
const INTERLACE_OR_DOUBLESCAN = 16 | 32;
const STATUS_SUCCESS = 0;
const MM_PER_INCH = 25.4;
const DPI = 96;
const REFRESH_HZ = 60;

/** A reply request as a promise; the error is handled here, so the client emits no 'error' for it. */
function ask<T>(send: (cb: XCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    send((err, result) => {
      if (err) reject(err);
      else resolve(result);
      return true;
    }),
  );
}

/**
 * Sends one request that has no reply and resolves with its X error, or with undefined once a later packet shows the
 * server got past it (a round trip is sent to make sure one comes). The package's RandR void requests register no
 * handler, so their errors would otherwise only reach the client's 'error' event.
 */
function check(X: XClient, send: () => void): Promise<XError | undefined> {
  return new Promise((resolve) => {
    const before = X.seq_num;
    send();
    if (X.seq_num !== before + 1) throw new Error("expected exactly one request");
    X.replies[X.seq_num] = [
      null,
      (err) => {
        resolve(err ?? undefined);
        return true;
      },
    ];
    X.sync().catch(() => undefined);
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A resize that cannot go on; `level` says how loudly to log it. */
class Refused extends Error {
  constructor(
    message: string,
    readonly level: "debug" | "warn" = "warn",
  ) {
    super(message);
  }
}

/** Clamps to [min, max] and down to an even number (up when that falls under min). */
export function clampEven(value: number, min: number, max: number): number {
  let v = Math.min(Math.max(Math.floor(value), min), max);
  if (v % 2) v = v - 1 >= min ? v - 1 : v + 1 <= max ? v + 1 : v;
  return v;
}

/** Minimal timings for a WxH mode at ~60 Hz, like `xrandr --newmode NAME 60 W W+1 W+2 W+3 H H+1 H+2 H+3`. */
export function modeInfo(width: number, height: number, name: string): Omit<XRandrModeInfo, "id"> {
  const hTotal = width + 3;
  const vTotal = height + 3;
  return {
    width,
    height,
    dot_clock: hTotal * vTotal * REFRESH_HZ,
    h_sync_start: width + 1,
    h_sync_end: width + 2,
    h_total: hTotal,
    h_skew: 0,
    v_sync_start: height + 1,
    v_sync_end: height + 2,
    v_total: vTotal,
    modeflags: 0,
    name,
  };
}

const mm = (px: number): number => Math.max(1, Math.round((px * MM_PER_INCH) / DPI));

/** Resizes one screen; calls are served one at a time. */
export class RandrResizer {
  private extension?: Promise<XRandr>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly X: XClient,
    private readonly root: number,
    private readonly log: Logger,
  ) {}

  /** The size in effect after the change, or undefined when RandR is missing, too old, or the server refuses; never rejects. */
  resize(width: number, height: number): Promise<ScreenSize | undefined> {
    const run = this.queue.then(() => this.bounded(width, height));
    this.queue = run;
    return run;
  }

  private async bounded(width: number, height: number): Promise<ScreenSize | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.apply(width, height),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Refused(`no answer from the X server within ${RESIZE_TIMEOUT_MS} ms`)), RESIZE_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      const level = err instanceof Refused ? err.level : "warn";
      this.log[level]("screen not resized", { width, height, reason: describe(err) });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private randr(): Promise<XRandr> {
    this.extension ??= new Promise<XRandr>((resolve, reject) => {
      try {
        this.X.require<XRandr>("randr", (err, ext) => {
          if (err) reject(new Refused(`no RANDR extension (${err.message})`, "debug"));
          else if (ext.major_version < 1 || (ext.major_version === 1 && ext.minor_version < 2))
            reject(new Refused(`RANDR ${ext.major_version}.${ext.minor_version} is older than 1.2`, "debug"));
          else resolve(ext);
        });
      } catch (err) {
        reject(new Refused(`no RANDR extension (${describe(err)})`, "debug"));
      }
    });
    return this.extension;
  }

  private async apply(width: number, height: number): Promise<ScreenSize> {
    if (!Number.isFinite(width) || !Number.isFinite(height)) throw new Refused(`not a size: ${width}x${height}`);
    const { X, root } = this;
    const rr = await this.randr();
    const range = await ask<XRandrSizeRange>((cb) => rr.GetScreenSizeRange(root, cb));
    const w = clampEven(width, range.minWidth, range.maxWidth);
    const h = clampEven(height, range.minHeight, range.maxHeight);

    const res = await ask<XRandrScreenResources>((cb) => rr.GetScreenResources(root, cb));
    const ts = res.config_timestamp;
    const outputs = await Promise.all(res.outputs.map(async (id) => ({ id, info: await ask<XRandrOutputInfo>((cb) => rr.GetOutputInfo(id, ts, cb)) })));
    const crtcs = await Promise.all(res.crtcs.map(async (id) => ({ id, info: await ask<XRandrCrtcInfo>((cb) => rr.GetCrtcInfo(id, ts, cb)) })));
    const output =
      outputs.find((o) => o.info.connection === CONNECTED && o.info.crtc !== 0) ??
      outputs.find((o) => o.info.crtc !== 0) ??
      outputs.find((o) => o.info.connection === CONNECTED && o.info.crtcs.length > 0);
    if (!output) throw new Refused("no output with a CRTC");
    const crtcId = output.info.crtc || output.info.crtcs[0];
    const crtc = crtcs.find((c) => c.id === crtcId);
    if (!crtc) throw new Refused(`CRTC ${crtcId} of output ${output.info.name} is not among the screen's`);

    const current = await ask<XGeometry>((cb) => X.GetGeometry(root, cb));
    const usable = (m: XRandrModeInfo) => m.width === w && m.height === h && !(m.modeflags & INTERLACE_OR_DOUBLESCAN);
    const active = res.modeinfos.find((m) => m.id === crtc.info.mode);
    if (current.width === w && current.height === h && active && usable(active) && crtc.info.x === 0 && crtc.info.y === 0) return { width: w, height: h };

    // A mode of the size: the output's own first, then any the server knows, else a new one.
    let mode =
      res.modeinfos.find((m) => usable(m) && output.info.modes.includes(m.id))?.id ??
      res.modeinfos.find((m) => usable(m) && !m.name.startsWith(MODE_PREFIX))?.id ??
      res.modeinfos.find((m) => usable(m))?.id;
    let created = false;
    if (mode === undefined) {
      const name = `${MODE_PREFIX}${w}x${h}`;
      mode = await ask<number>((cb) => rr.CreateMode(root, modeInfo(w, h, name), cb)).catch((err: unknown) => {
        throw new Refused(`CreateMode ${name} refused (${describe(err)})`);
      });
      created = true;
    }
    const modeId = mode;
    if (!output.info.modes.includes(modeId)) {
      const err = await check(X, () => rr.AddOutputMode(output.id, modeId));
      if (err) {
        if (created) await check(X, () => rr.DestroyMode(modeId));
        throw new Refused(`AddOutputMode refused on ${output.info.name} (${err.message})`);
      }
    }

    // Like xrandr: CRTCs that would not fit the new screen are switched off before it changes size.
    const disabled: typeof crtcs = [];
    const restore = async (): Promise<void> => {
      await check(X, () => rr.SetScreenSize(root, current.width, current.height, mm(current.width), mm(current.height)));
      for (const c of disabled) {
        const { x, y, mode: m, rotation, output: outs } = c.info;
        await ask((cb) => rr.SetCrtcConfig(c.id, 0, ts, x, y, m, rotation, outs, cb)).catch(() => undefined);
      }
    };
    for (const c of crtcs) {
      if (c.info.mode === 0 || (c.info.x + c.info.width <= w && c.info.y + c.info.height <= h)) continue;
      const off = await ask<{ status: number }>((cb) => rr.SetCrtcConfig(c.id, 0, ts, 0, 0, 0, ROTATE_0, [], cb)).catch((err: unknown) => ({
        status: -1,
        err,
      }));
      if (off.status !== STATUS_SUCCESS) {
        await restore();
        throw new Refused(`CRTC ${c.id} could not be switched off (status ${off.status})`);
      }
      disabled.push(c);
    }
    const sizeErr = await check(X, () => rr.SetScreenSize(root, w, h, mm(w), mm(h)));
    if (sizeErr) {
      await restore();
      throw new Refused(`SetScreenSize ${w}x${h} refused (${sizeErr.message})`);
    }
    const set = await ask<{ status: number }>((cb) => rr.SetCrtcConfig(crtc.id, 0, ts, 0, 0, modeId, ROTATE_0, [output.id], cb)).catch((err: unknown) => ({
      status: -1,
      err,
    }));
    if (set.status !== STATUS_SUCCESS) {
      await restore();
      throw new Refused(`SetCrtcConfig ${w}x${h} on ${output.info.name} refused (status ${set.status})`);
    }

    await this.dropOurModes(rr, res.modeinfos, outputs, new Set([modeId, ...crtcs.filter((c) => c.id !== crtc.id).map((c) => c.info.mode)]));
    const now = await ask<XGeometry>((cb) => X.GetGeometry(root, cb));
    this.log.debug("screen resized", { width: now.width, height: now.height, output: output.info.name, mode: modeId, created });
    return { width: now.width, height: now.height };
  }

  /** Deletes from every output, then destroys, the `tessera-*` modes no CRTC uses any more. */
  private async dropOurModes(rr: XRandr, modes: XRandrModeInfo[], outputs: { id: number; info: XRandrOutputInfo }[], inUse: Set<number>): Promise<void> {
    for (const m of modes) {
      if (!m.name.startsWith(MODE_PREFIX) || inUse.has(m.id)) continue;
      for (const o of outputs) {
        if (!o.info.modes.includes(m.id)) continue;
        const err = await check(this.X, () => rr.DeleteOutputMode(o.id, m.id));
        if (err) this.log.debug("old mode not taken off its output", { mode: m.name, output: o.info.name, err: err.message });
      }
      const err = await check(this.X, () => rr.DestroyMode(m.id));
      if (err) this.log.debug("old mode not destroyed", { mode: m.name, err: err.message });
    }
  }
}
