/**
 * Property-based fuzzing with fast-check, seeded so a failure is
 * reproducible: every surface runs FUZZ_RUNS cases (10,000 in `npm test`,
 * more with `npm run fuzz`) from FUZZ_SEED. A failing case is printed with
 * its seed and path; it then becomes a regression test next to the surface.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { TesseraError } from "../errors.js";
import { ERROR_CODES } from "../protocol/messages.js";

/** Cases per surface. */
export const RUNS = positive(process.env.FUZZ_RUNS) ?? 10_000;
/** The seed every surface starts from. */
export const SEED = Number.isInteger(Number(process.env.FUZZ_SEED)) && process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x7e55e7a;

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Runs `check` on `RUNS` (or `runs`) values of `arb`; throws with the seed and the shrunk case on the first failure. */
export function fuzz<T>(arb: fc.Arbitrary<T>, check: (value: T) => void, runs = RUNS): void {
  fc.assert(fc.property(arb, check), { seed: SEED, numRuns: runs, endOnFailure: false });
}

/** The same for an asynchronous check. */
export async function fuzzAsync<T>(arb: fc.Arbitrary<T>, check: (value: T) => Promise<void>, runs = RUNS): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, check), { seed: SEED, numRuns: runs, endOnFailure: false });
}

const KNOWN_CODES = new Set<string>(ERROR_CODES);
/** Longest refusal message a client is shown. */
export const MAX_MESSAGE_CHARS = 400;

/** Asserts that `err` is a refusal a client can act on: a TesseraError with a known code and a short message. */
export function assertClearRefusal(err: unknown, codes: readonly string[] = [...KNOWN_CODES]): void {
  assert.ok(err instanceof TesseraError, `not a TesseraError: ${String(err)}`);
  assert.ok(codes.includes(err.code), `code ${err.code}`);
  assert.ok(err.message.length > 0 && err.message.length <= MAX_MESSAGE_CHARS, `message of ${err.message.length} chars`);
}

/** Calls `fn`; a throw must be a clear refusal. Returns what `fn` returned, or undefined when it refused. */
export function refusedClearly<T>(fn: () => T, codes?: readonly string[]): T | undefined {
  try {
    return fn();
  } catch (err) {
    assertClearRefusal(err, codes);
    return undefined;
  }
}

/** Mutations of a text made of lines (SDP, fragments, files): lines dropped, repeated, swapped, cut or filled with noise. */
export function mutatedLines(template: string, eol = "\r\n"): fc.Arbitrary<string> {
  const lines = template.split(/\r?\n/).filter((l) => l.length > 0);
  const noise = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom(
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "a=rtpmap:96 VP8/90000",
      "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
      "a=ssrc:1 cname:x",
      "a=rid:h send",
      "a=simulcast:send h;m;l",
      "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
      "c=IN IP4 0.0.0.0",
      "a=fingerprint:sha-256 00",
      "a=setup:actpass",
      "a=mid:",
      "a=fmtp:96 x",
      "a=rtcp-fb:96 nack",
    ),
  );
  const edit = fc.oneof(
    fc.record({ op: fc.constant("drop" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("repeat" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("swap" as const), at: fc.nat(), to: fc.nat() }),
    fc.record({ op: fc.constant("cut" as const), at: fc.nat(), keep: fc.nat() }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(), line: noise }),
    fc.record({ op: fc.constant("replace" as const), at: fc.nat(), line: noise }),
  );
  return fc.array(edit, { maxLength: 8 }).map((edits) => {
    const out = [...lines];
    for (const e of edits) {
      const i = out.length === 0 ? 0 : e.at % out.length;
      if (e.op === "drop") out.splice(i, 1);
      else if (e.op === "repeat" && out.length) out.splice(i, 0, out[i]);
      else if (e.op === "swap" && out.length) [out[i], out[e.to % out.length]] = [out[e.to % out.length], out[i]];
      else if (e.op === "cut" && out.length) out[i] = out[i].slice(0, e.keep % (out[i].length + 1));
      else if (e.op === "insert") out.splice(i, 0, e.line);
      else if (e.op === "replace" && out.length) out[i] = e.line;
    }
    return out.join(eol) + eol;
  });
}

/** Byte-level mutations of a buffer: flips, cuts, insertions, splices of noise. */
export function mutatedBytes(template: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant("cut" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ op: fc.constant("marker" as const), at: fc.nat(), marker: fc.integer({ min: 0xc0, max: 0xff }), length: fc.integer({ min: 0, max: 0xffff }) }),
  );
  return fc.array(edit, { maxLength: 6 }).map((edits) => {
    let b = Buffer.from(template);
    for (const e of edits) {
      const i = b.length === 0 ? 0 : e.at % b.length;
      if (e.op === "set" && b.length) b[i] = e.byte;
      else if (e.op === "cut") b = b.subarray(0, i);
      else if (e.op === "insert") b = Buffer.concat([b.subarray(0, i), Buffer.from(e.bytes), b.subarray(i)]);
      else if (e.op === "marker") {
        const seg = Buffer.from([0xff, e.marker, e.length >> 8, e.length & 0xff]);
        b = Buffer.concat([b.subarray(0, i), seg, b.subarray(i)]);
      }
    }
    return b;
  });
}
