import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkInputLine } from "../input/lines.js";
import { base64Bytes, clipboardImageLines, clipboardImageMessages, ImageAssembler, isPng, MAX_CLIPBOARD_IMAGE_BYTES, PART_CHARS } from "./clipboard-image.js";

/** `n` bytes that start like a PNG, as base64. */
function picture(n: number): string {
  const bytes = Buffer.alloc(n, 7);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  for (let i = 8; i < n; i++) bytes[i] = (i * 31) & 0xff;
  return bytes.toString("base64");
}

describe("clipboard images in parts", () => {
  for (const n of [9, 48_000, 48_001, 150_000, MAX_CLIPBOARD_IMAGE_BYTES]) {
    test(`${n} bytes: lines the server accepts, joined back exactly, each part whole base64`, () => {
      const b64 = picture(n);
      const lines = clipboardImageLines(b64);
      assert.ok(lines);
      assert.equal(lines.length, Math.ceil(b64.length / PART_CHARS));
      const assembler = new ImageAssembler();
      let whole: string | undefined;
      for (const line of lines) {
        assert.deepEqual(checkInputLine(line), { ok: true, kind: "clipboard" });
        const [, part, parts, data] = line.split(",");
        assert.equal(Buffer.from(data, "base64").toString("base64"), data, "a part decodes on its own");
        assert.equal(whole, undefined, "nothing before the last part");
        whole = assembler.add(Number(part), Number(parts), data);
      }
      assert.equal(whole, b64);
      assert.ok(isPng(Buffer.from(whole, "base64")));
      const messages = clipboardImageMessages(b64);
      assert.ok(messages && messages.every((m) => Buffer.byteLength(JSON.stringify(m)) < 64 * 1024));
    });
  }

  test("a picture over the bound is not cut at all", () => {
    assert.equal(clipboardImageLines(picture(MAX_CLIPBOARD_IMAGE_BYTES + 1)), undefined);
    assert.equal(clipboardImageMessages(""), undefined);
  });

  test("a part out of turn drops the picture; a first part starts over", () => {
    const parts = clipboardImageLines(picture(120_000))!.map((l) => l.split(","));
    const add = (a: ImageAssembler, p: string[]) => a.add(Number(p[1]), Number(p[2]), p[3]);
    const a = new ImageAssembler();
    add(a, parts[0]);
    assert.equal(add(a, parts[2]), undefined, "part 3 after part 1");
    assert.equal(add(a, parts[1]), undefined, "and nothing resumes");
    add(a, parts[0]);
    add(a, parts[1]);
    add(a, parts[0]);
    add(a, parts[1]);
    assert.equal(add(a, parts[2]), parts.map((p) => p[3]).join(""), "the second start wins");
    const b = new ImageAssembler();
    b.add(1, 3, parts[0][3]);
    assert.equal(b.add(2, 2, parts[1][3]), undefined, "a count that changes");
    const c = new ImageAssembler();
    assert.equal(c.add(1, 2, "AAAA"), undefined);
    assert.equal(c.add(2, 2, "AAAA"), undefined, "a short part that is not the last");
  });

  test("isPng looks at the signature", () => {
    assert.ok(isPng(Buffer.from(picture(20), "base64")));
    assert.ok(!isPng(Buffer.from("GIF89a-not-a-png")));
    assert.ok(!isPng(new Uint8Array(0)));
  });
});

test("base64Bytes: a picture's bytes from its base64 (the viewer copies them to the clipboard as a Blob); undefined for what is no base64", () => {
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
  const bytes = base64Bytes(Buffer.from(png).toString("base64"));
  assert.deepEqual(bytes && [...bytes], [...png]);
  assert.ok(bytes && isPng(bytes));
  assert.equal(base64Bytes("not base64!"), undefined);
});
