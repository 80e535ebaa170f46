/**
 * Every parser that takes bytes or text from outside, fuzzed: each gets
 * FUZZ_RUNS seeded cases (structure-aware where it has a structure) and must
 * answer with a value or a clear refusal, never anything else.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { UsersFile } from "../auth/users-file.js";
import { parseBasic } from "../auth/basic.js";
import { hostServedWithoutAuth, originAllowed } from "../auth/origin.js";
import { DeviceRegistry } from "../devices/registry.js";
import { parseClientMessage as parseFallbackMessage } from "../fallback/wire.js";
import { FrameDevices } from "../frames/frame-devices.js";
import { inspectJpeg } from "../frames/jpeg.js";
import { parseFrameTimestamp } from "../frames/routes.js";
import { checkInputLine } from "../input/lines.js";
import { createLogger } from "../log.js";
import { MAX_MESSAGE_BYTES } from "../protocol/messages.js";
import { nullObserver } from "../relay/observer.js";
import { checkRemoteSdp } from "../rtc/limits.js";
import { parseClientMessage } from "../signaling/parse.js";
import { parseSdpFragment } from "../whip/sdpfrag.js";
import { readIceServersFile } from "../../turn/file-source.js";
import { testJpeg } from "../../e2e/lib/jpeg-fixture.js";
import { assertClearRefusal, fuzz, MAX_MESSAGE_CHARS, mutatedBytes, mutatedLines, RUNS, refusedClearly } from "./fuzz.js";
import { KNOWN_TYPES, wsMessage } from "./arbitraries.js";
import { weriftOffer } from "../../e2e/lib/werift-peers.js";

describe(`fuzz: parsers (${RUNS} cases each)`, () => {
  test("/ws signaling messages: a valid message or bad_request naming what is wrong", () => {
    fuzz(wsMessage, (text) => {
      const m = refusedClearly(() => parseClientMessage(text), ["bad_request"]);
      if (m) assert.ok(KNOWN_TYPES.includes(m.type));
    });
    // Past the size cap: refused before JSON.parse.
    assert.throws(
      () => parseClientMessage(JSON.stringify({ type: "offer", sdp: "v".repeat(MAX_MESSAGE_BYTES) })),
      (e) => (assertClearRefusal(e), true),
    );
  });

  test("SDP offers and answers: within the bounds or bad_request, before werift sees them", async () => {
    const offer = await weriftOffer();
    fuzz(fc.oneof(mutatedLines(offer), fc.string({ maxLength: 300 })), (sdp) => {
      refusedClearly(() => checkRemoteSdp(sdp, "offer"), ["bad_request"]);
    });
  });

  test("trickle-ICE fragments (WHIP/WHEP PATCH): parsed or bad_request", () => {
    const fragment =
      "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n";
    fuzz(fc.oneof(mutatedLines(fragment), fc.string({ maxLength: 300 })), (text) => {
      const f = refusedClearly(() => parseSdpFragment(text), ["bad_request"]);
      if (f) for (const c of f.candidates) assert.ok(c.candidate.startsWith("candidate:"));
    });
  });

  test("input lines: a kind or a bounded refusal reason, never a throw", () => {
    const commands = ["m", "m2", "kd", "ku", "kr", "cw", "ci", "r", "t", "_arg_fps", "vb", "p", "x", ""];
    const token = fc.oneof(
      fc.integer({ min: -5, max: 70_000 }).map(String),
      fc.constantFrom("start", "move", "end", "1280x720", "aGk=", "NaN", "1e3", "-0", "0x10", " 1"),
      fc.string({ maxLength: 12 }),
    );
    const line = fc.oneof(
      fc.tuple(fc.constantFrom(...commands), fc.array(token, { maxLength: 7 })).map(([c, args]) => [c, ...args].join(",")),
      fc.string({ maxLength: 100 }),
    );
    const reasons = new Set(["too_long", "unknown_command", "field_count", "not_a_number", "out_of_range", "bad_base64", "bad_phase"]);
    fuzz(
      fc.tuple(line, fc.option(fc.record({ width: fc.integer({ min: 1, max: 8000 }), height: fc.integer({ min: 1, max: 8000 }) }), { nil: undefined })),
      ([text, size]) => {
        const verdict = checkInputLine(text, size);
        if (!verdict.ok) assert.ok(reasons.has(verdict.reason), verdict.reason);
      },
    );
  });

  test("fallback socket messages: ack, keyframe, settings, input or a short error, never a throw", () => {
    const text = fc.oneof(
      fc
        .tuple(
          fc.constantFrom("ACK", "ACK ", "kf", "SETTINGS,", "SETTINGS, "),
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.jsonValue().map((v) => JSON.stringify(v)),
          ),
        )
        .map(([a, b]) => a + b),
      fc.string({ maxLength: 100 }),
    );
    fuzz(text, (t) => {
      const m = parseFallbackMessage(t);
      if (m.kind === "error") assert.ok(m.message.length <= MAX_MESSAGE_CHARS);
      if (m.kind === "ack") assert.ok(Number.isInteger(m.frameId) && m.frameId >= 0 && m.frameId <= 0xffff);
    });
  });

  test("JPEG ingest bodies: stored, or refused as unsupported/bad_request/too_large before any decoder runs", () => {
    const jpeg = testJpeg(64, 48);
    const registry = new DeviceRegistry(60_000);
    const frames = new FrameDevices({ registry, observer: nullObserver, log: createLogger("silent"), maxSize: { width: 4096, height: 4096 } });
    try {
      fuzz(
        fc.oneof(
          mutatedBytes(jpeg),
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        ),
        (body) => {
          const verdict = inspectJpeg(body);
          if (verdict.ok) assert.ok(verdict.width > 0 && verdict.height > 0);
          const stored = refusedClearly(() => frames.push("fuzz", "cam", body, undefined), ["unsupported", "bad_request", "too_large"]);
          assert.equal(stored !== undefined, verdict.ok && verdict.width <= 4096 && verdict.height <= 4096);
        },
      );
    } finally {
      frames.close();
    }
  });

  test("HTTP headers: Basic credentials, Origin and Host checks, frame timestamps never throw", () => {
    const header = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString("base64")}`),
      fc.constantFrom(
        "Basic ",
        "Basic ===",
        "basic YTpi",
        "http://localhost:8080",
        "http://[::1]:80",
        "null",
        "http://a.localhost.evil.example",
        "1.5e9",
        "-1",
        "99999999999999999999",
      ),
    );
    fuzz(fc.tuple(header, header), ([a, b]) => {
      const basic = parseBasic(a);
      if (basic) assert.equal(typeof basic.password, "string");
      assert.equal(typeof originAllowed(a, b, ["https://app.example"]), "boolean");
      assert.equal(typeof hostServedWithoutAuth(a, ["stream.example"]), "boolean");
      const ts = refusedClearly(() => parseFrameTimestamp(a), ["bad_request"]);
      if (ts !== undefined) assert.ok(Number.isFinite(ts));
    });
  });

  describe("files an operator edits", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-fuzz-files-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    /** A read of `path` either works or throws an Error that names the file (no other kind of failure). */
    const namesTheFile = (path: string, read: () => unknown) => {
      try {
        read();
      } catch (err) {
        assert.ok(err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError), String(err));
        assert.ok(err.message.includes(path), `the error names ${path}: ${err.message}`);
        assert.ok(err.message.length <= path.length + MAX_MESSAGE_CHARS, `a short message: ${err.message.length} chars`);
      }
    };
    const jsonish = (template: object) =>
      fc.oneof(
        mutatedLines(JSON.stringify(template, null, 2), "\n"),
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 100 }),
      );

    test("the users file: read, or an error naming it", () => {
      const users = { version: 1, users: { alice: { hash: "scrypt$x", created: "2026-01-01T00:00:00.000Z" } } };
      let n = 0;
      fuzz(jsonish(users), (text) => {
        // A new directory each time: UsersFile caches by inode, size and mtime.
        const sub = join(dir, `u${n++}`);
        mkdirSync(sub);
        writeFileSync(join(sub, "users.json"), text);
        const file = new UsersFile(sub);
        namesTheFile(file.path, () => file.list());
        rmSync(sub, { recursive: true, force: true });
      });
    });

    test("found by the fuzzer: a users or iceServers file that is not JSON is named, and none of its text is shown", () => {
      const users = join(dir, "found");
      mkdirSync(users);
      const ice = join(dir, "found-ice.json");
      for (const text of ["", 'TURN-SECRET-x {"credential": 1}', '{"users": {"alice": {"hash": "scrypt$SECRET-HASH"} x']) {
        writeFileSync(join(users, "users.json"), text);
        writeFileSync(ice, text, { mode: 0o600 });
        for (const [path, read] of [
          [join(users, "users.json"), () => new UsersFile(users).list()],
          [ice, () => readIceServersFile(ice)],
        ] as const) {
          assert.throws(read, (err: Error) => {
            assert.ok(err.message.startsWith(`${path}: not JSON`), err.message);
            assert.ok(!/SECRET/.test(err.message), err.message);
            return true;
          });
        }
      }
    });

    test("the iceServers file: read, or an error naming it", () => {
      const servers = { iceServers: [{ urls: ["turn:turn.example:3478?transport=udp", "stun:stun.example"], username: "u", credential: "c" }] };
      const path = join(dir, "ice.json");
      fuzz(jsonish(servers), (text) => {
        writeFileSync(path, text, { mode: 0o600 });
        namesTheFile(path, () => readIceServersFile(path));
      });
    });
  });
});
