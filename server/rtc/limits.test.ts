import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TesseraError } from "../errors.js";
import { CandidateBudget, checkRemoteSdp, MAX_MEDIA_SECTIONS, MAX_SDP_BYTES, MAX_SDP_CANDIDATES } from "./limits.js";

const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
const section = (i: number) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:${i}\r\n`;

/** The code of what `fn` throws, or "ok". */
function outcome(fn: () => void): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    assert.ok(err instanceof TesseraError, String(err));
    return `${err.code}: ${err.message}`;
  }
}

describe("checkRemoteSdp", () => {
  const cases: [string, unknown, string][] = [
    ["a small offer", head + section(0), "ok"],
    ["not SDP", "hello", "bad_request: the offer is not an SDP session description"],
    ["not a string", 42, "bad_request: the offer is not an SDP session description"],
    ["no media section", head, "bad_request: the offer is not an SDP session description"],
    // Found by the fuzzer: werift failed deep in createAnswer (a 500) on a section without its mid.
    [
      "a section without a=mid",
      head + section(0) + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n",
      "bad_request: media section 1 of the offer has no a=mid",
    ],
    [`${MAX_MEDIA_SECTIONS} sections`, head + Array.from({ length: MAX_MEDIA_SECTIONS }, (_, i) => section(i)).join(""), "ok"],
    [
      "one section too many",
      head + Array.from({ length: MAX_MEDIA_SECTIONS + 1 }, (_, i) => section(i)).join(""),
      `bad_request: the offer has ${MAX_MEDIA_SECTIONS + 1} media sections; at most ${MAX_MEDIA_SECTIONS}`,
    ],
    ["too many bytes", head + section(0) + `a=x:${"y".repeat(MAX_SDP_BYTES)}\r\n`, `bad_request: the offer is larger than ${MAX_SDP_BYTES} bytes`],
    [
      "too many candidates",
      head + section(0) + "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n".repeat(MAX_SDP_CANDIDATES + 1),
      `bad_request: the offer has ${MAX_SDP_CANDIDATES + 1} candidates; at most ${MAX_SDP_CANDIDATES}`,
    ],
  ];
  for (const [what, sdp, want] of cases)
    test(what, () =>
      assert.equal(
        outcome(() => checkRemoteSdp(sdp, "offer")),
        want,
      ),
    );
});

describe("CandidateBudget", () => {
  test("a burst, then the sustained rate, then the lifetime total, with an injected clock", () => {
    let now = 0;
    const budget = new CandidateBudget({ total: 10, perSecond: 2, burst: 4, now: () => now });
    for (let i = 0; i < 4; i++)
      assert.equal(
        outcome(() => budget.take()),
        "ok",
        `burst ${i}`,
      );
    assert.equal(
      outcome(() => budget.take()),
      "rate_limited: ICE candidates too fast: at most 2 a second",
    );
    now += 500;
    assert.equal(
      outcome(() => budget.take()),
      "ok",
      "one token back after half a second",
    );
    assert.equal(
      outcome(() => budget.take()),
      "rate_limited: ICE candidates too fast: at most 2 a second",
    );
    now += 10_000;
    assert.equal(
      outcome(() => budget.take(4)),
      "ok",
      "a fragment's four at once",
    );
    assert.equal(
      outcome(() => budget.take()),
      "rate_limited: ICE candidates too fast: at most 2 a second",
    );
    now += 10_000;
    assert.equal(
      outcome(() => budget.take(2)),
      "bad_request: too many ICE candidates: at most 10 per connection",
      "9 used + 2 > 10",
    );
    assert.equal(
      outcome(() => budget.take()),
      "ok",
      "the 10th",
    );
    now += 10_000;
    assert.equal(
      outcome(() => budget.take()),
      "bad_request: too many ICE candidates: at most 10 per connection",
    );
  });

  test("a refused take spends nothing", () => {
    const budget = new CandidateBudget({ total: 3, perSecond: 1, burst: 3, now: () => 0 });
    assert.match(
      outcome(() => budget.take(4)),
      /^bad_request/,
    );
    assert.equal(
      outcome(() => budget.take(3)),
      "ok",
    );
  });
});
