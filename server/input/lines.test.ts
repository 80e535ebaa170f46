import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkInputLine, MAX_LINE_BYTES, type InputRejection } from "./lines.js";

const SIZE = { width: 1280, height: 720 };
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("checkInputLine", () => {
  const valid: Array<[string, string]> = [
    ["m,0,0,0,0", "pointer"],
    ["m,1279,719,1,0", "pointer"],
    ["m,640,360,5,-3", "pointer"],
    ["m,640,360,0,0,0", "pointer"],
    ["m,640,360,1,0,4294967296", "pointer"],
    ["m2,-12,7,1,0", "pointer"],
    ["m2,4096,-4096,0,-3", "pointer"],
    ["kd,65", "key"],
    ["ku,65307", "key"],
    ["kd,16777216", "key"],
    ["kr", "release_all"],
    [`cw,${b64("héllo, wörld")}`, "clipboard"],
    ["cw,", "clipboard"],
    ["ci,1,1,iVBORw0KGgo=", "clipboard"],
    [`ci,2,5,${"A".repeat(64_000)}`, "clipboard"],
    ["r,1920x1080", "resize"],
    ["t,start,0,10,10", "touch"],
    ["t,move,3,1279,0", "touch"],
    ["t,end,3,5,5", "touch"],
    ["t,cancel,9,0,0", "touch"],
    ["_arg_fps,15", "settings"],
    ["vb,2500", "settings"],
    ["p,0", "ping"],
    ["p,2147483647", "ping"],
  ];
  for (const [line, kind] of valid) {
    test(`accepts ${line.slice(0, 40)} as ${kind}`, () => assert.deepEqual(checkInputLine(line, SIZE), { ok: true, kind }));
  }

  const invalid: Array<[string, InputRejection]> = [
    ["", "unknown_command"],
    ["x,1,2", "unknown_command"],
    ["M,1,2,0,0", "unknown_command"],
    ["m,1,2,0", "field_count"],
    ["m,1,2,0,0,0,0", "field_count"],
    ["m,1,2,0,0,x", "not_a_number"],
    ["m,1,2,0,0,-1", "out_of_range"],
    ["m,a,2,0,0", "not_a_number"],
    ["m,1.5,2,0,0", "not_a_number"],
    ["m, 1,2,0,0", "not_a_number"],
    ["m,1280,0,0,0", "out_of_range"],
    ["m,0,720,0,0", "out_of_range"],
    ["m,-1,0,0,0", "out_of_range"],
    ["m,0,0,256,0", "out_of_range"],
    ["m,0,0,0,5000", "out_of_range"],
    ["m2,1,1,0", "field_count"],
    ["m2,1.5,1,0,0", "not_a_number"],
    ["m2,4097,0,0,0", "out_of_range"],
    ["kd", "field_count"],
    ["kd,65,66", "field_count"],
    ["kd,abc", "not_a_number"],
    ["kd,0", "out_of_range"],
    ["kd,-5", "out_of_range"],
    ["ku,9999999999", "out_of_range"],
    ["kr,1", "field_count"],
    ["cw,***", "bad_base64"],
    ["cw,abc", "bad_base64"],
    [`cw,${"A".repeat(80_000)}`, "too_long"],
    ["cw,a,b", "field_count"],
    ["ci,1,1", "field_count"],
    ["ci,x,1,AAAA", "not_a_number"],
    ["ci,0,1,AAAA", "out_of_range"],
    ["ci,3,2,AAAA", "out_of_range"],
    ["ci,1,6,AAAA", "out_of_range"],
    ["ci,1,1,", "bad_base64"],
    ["ci,1,1,AAA", "bad_base64"],
    [`ci,1,2,${"A".repeat(64_004)}`, "too_long"],
    ["r,1920", "not_a_number"],
    ["r,0x1080", "out_of_range"],
    ["r,99999x10", "out_of_range"],
    ["t,hover,0,1,1", "bad_phase"],
    ["t,start,0,1", "field_count"],
    ["t,start,x,1,1", "not_a_number"],
    ["t,start,300,1,1", "out_of_range"],
    ["t,start,0,2000,1", "out_of_range"],
    ["m".padEnd(MAX_LINE_BYTES + 1, "0"), "too_long"],
    ["_arg_fps,0", "out_of_range"],
    ["p,2147483648", "out_of_range"],
    ["p,-1", "out_of_range"],
    ["p", "field_count"],
    ["_arg_fps,500", "out_of_range"],
    ["_arg_fps,30,1", "field_count"],
    ["vb,fast", "not_a_number"],
    ["vb,2000000", "out_of_range"],
  ];
  for (const [line, reason] of invalid) {
    test(`refuses ${JSON.stringify(line.slice(0, 30))} (${reason})`, () => assert.deepEqual(checkInputLine(line, SIZE), { ok: false, reason }));
  }

  test("without a known stream size, coordinates are bounded generically", () => {
    assert.equal(checkInputLine("m,5000,5000,0,0").ok, true);
    assert.equal(checkInputLine("m,20000,5,0,0").ok, false);
  });
});
