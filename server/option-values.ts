/**
 * The schemas of option values that take more than a type: integers with a
 * range, origins, ICE URIs, picture sizes, port ranges and `--source`
 * specs. The option table (options.ts) names them.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { invalidIceUri } from "../turn/ice-config.js";
import { LIMIT_NAMES, type LimitName, type LimitValues } from "./limits.js";

/** An integer option within [min, max], with `unit` in its error messages. */
export const integer = (unit: string, min: number, max: number) =>
  z.coerce
    .number({ error: `expected ${unit}` })
    .int(`expected whole ${unit}`)
    .min(min, `expected ${min}-${max}`)
    .max(max, `expected ${min}-${max}`);

export const iceUri = z.string().superRefine((s, ctx) => {
  const why = invalidIceUri(s);
  if (why) ctx.addIssue({ code: "custom", message: why });
});
export const flag = z
  .union([z.boolean(), z.enum(["1", "true", "yes", "0", "false", "no"])], { error: "expected true or false" })
  .transform((v) => v === true || v === "1" || v === "true" || v === "yes");
/** An origin (scheme, host, optional port); with `allowEmpty`, "" too (the option unset). */
export const originSchema = (allowEmpty: boolean) =>
  z.string().transform((s, ctx) => {
    if (allowEmpty && s === "") return "";
    let url: URL | undefined;
    try {
      url = new URL(s);
    } catch {
      // reported below
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== s.replace(/\/$/, "").toLowerCase()) {
      ctx.addIssue({ code: "custom", message: "expected an origin such as https://app.example.org (scheme, host, optional port; no path)" });
      return z.NEVER;
    }
    return url.origin;
  });
export const ipv4 = z.string().refine((s) => isIP(s) === 4, "expected an IPv4 address");
/** A picture size WxH (or {width, height} in a config file), each side 16-16384. */
export const pictureSize = z.union([z.string(), z.object({ width: z.number(), height: z.number() })]).transform((v, ctx) => {
  const m = typeof v === "string" ? /^(\d+)x(\d+)$/.exec(v) : ["", String(v.width), String(v.height)];
  const [width, height] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 16 && height >= 16 && width <= 16384 && height <= 16384)) {
    ctx.addIssue({ code: "custom", message: "expected WIDTHxHEIGHT, each 16-16384, e.g. 4096x4096" });
    return z.NEVER;
  }
  return Object.freeze({ width, height });
});
export const portRange = z
  .union([z.string(), z.tuple([z.number(), z.number()])])
  .transform((v, ctx) => {
    const m = typeof v === "string" ? /^(\d+)-(\d+)$/.exec(v) : ["", String(v[0]), String(v[1])];
    const [min, max] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
    if (!(min >= 1024 && max <= 65535 && min <= max && Number.isInteger(min) && Number.isInteger(max))) {
      ctx.addIssue({ code: "custom", message: "expected MIN-MAX with 1024 <= MIN <= MAX <= 65535" });
      return z.NEVER;
    }
    return Object.freeze([min, max] as const);
  })
  .optional();

/** What one `--source` names. */
export type SourceSpec =
  { kind: "test" } | { kind: "none" } | { kind: "x11"; display: string; deviceId: string } | { kind: "v4l2"; camera: string; deviceId: string };

/** `test`, `none`, `x11`, `x11:N`, `x11::N`, `x11:N.S` (an X display on this host); a parsed spec passes as itself. */
function parseSource(s: string, ctx: z.RefinementCtx): SourceSpec {
  if (s === "test" || s === "none") return { kind: s };
  const cam = /^v4l2(?::(\/dev\/video(\d{1,3})))?$/.exec(s);
  if (cam) return { kind: "v4l2", camera: cam[1] ?? "/dev/video0", deviceId: `v4l2-${cam[2] ?? "0"}` };
  const m = /^x11(?::(:?\d{1,4}(?:\.\d{1,2})?))?$/.exec(s);
  if (!m) {
    ctx.addIssue({ code: "custom", message: "expected test, none, x11[:DISPLAY] such as x11:0, or v4l2[:/dev/videoN]" });
    return z.NEVER;
  }
  const given = m[1] ?? process.env.DISPLAY ?? ":0";
  const display = given.startsWith(":") ? given : `:${given}`;
  if (!/^:\d{1,4}(\.\d{1,2})?$/.test(display)) {
    ctx.addIssue({ code: "custom", message: `x11 needs a local display such as :0, and $DISPLAY is ${JSON.stringify(given)}` });
    return z.NEVER;
  }
  return { kind: "x11", display, deviceId: `x11-${display.slice(1).replace(".", "-")}` };
}
export const sourceSpec = z
  .union([z.string(), z.object({ kind: z.enum(["test", "none", "x11", "v4l2"]), display: z.string().optional(), camera: z.string().optional() })])
  .transform((v, ctx) =>
    parseSource(
      typeof v === "string" ? v : v.kind === "x11" && v.display ? `x11:${v.display}` : v.kind === "v4l2" && v.camera ? `v4l2:${v.camera}` : v.kind,
      ctx,
    ),
  );
export const sourceList = z.array(sourceSpec).superRefine((list, ctx) => {
  if (list.length > 1 && list.some((s) => s.kind === "none")) ctx.addIssue({ code: "custom", message: "none cannot be given with other sources" });
  const ids = list.map((s) => (s.kind === "x11" || s.kind === "v4l2" ? s.deviceId : s.kind));
  if (new Set(ids).size !== ids.length) ctx.addIssue({ code: "custom", message: "a source is given twice" });
});

/** `NAME=N` limits (or {NAME: N} in a config file) over `defaults`; N is 0 (no limit) to 1,000,000. */
export const limitList = (defaults: LimitValues) =>
  z.union([z.array(z.string()), z.record(z.string(), z.number())]).transform((v, ctx): LimitValues => {
    const out: Record<LimitName, number> = { ...defaults };
    const pairs = Array.isArray(v) ? v.map((s) => s.split("=")) : Object.entries(v).map(([k, n]) => [k, String(n)]);
    for (const [name, value, ...rest] of pairs) {
      const n = Number(value);
      if (!(LIMIT_NAMES as readonly string[]).includes(name) || rest.length > 0 || value === undefined || !/^\d{1,7}$/.test(value) || n > 1_000_000) {
        ctx.addIssue({
          code: "custom",
          message: `expected NAME=N with NAME one of ${LIMIT_NAMES.join(", ")} and N 0-1000000 (0: no limit), got ${JSON.stringify(pairs.length ? [name, value, ...rest].join("=") : "").slice(0, 60)}`,
        });
        return z.NEVER;
      }
      out[name as LimitName] = n;
    }
    return Object.freeze(out);
  });
