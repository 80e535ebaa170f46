import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { IceServersFile, readIceServersFile } from "./file-source.js";

const dir = mkdtempSync(join(tmpdir(), "tessera-ice-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, body: unknown, mode = 0o644): string {
  const path = join(dir, name);
  writeFileSync(path, typeof body === "string" ? body : JSON.stringify(body));
  chmodSync(path, mode);
  return path;
}

/** Polls `cond` every 10 ms until it holds or `ms` pass. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("readIceServersFile", () => {
  test("a list or {iceServers}, urls normalised to arrays", () => {
    const entries = [{ urls: "stun:127.0.0.1:3478" }, { urls: ["turn:t.example.org:3478?transport=tcp"], username: "u", credential: "c" }];
    const expected = [{ urls: ["stun:127.0.0.1:3478"] }, { urls: ["turn:t.example.org:3478?transport=tcp"], username: "u", credential: "c" }];
    assert.deepEqual(readIceServersFile(file("list.json", entries)), expected);
    assert.deepEqual(readIceServersFile(file("object.json", { iceServers: entries })), expected);
  });

  const refusals: Array<[string, () => string, RegExp]> = [
    ["a world-writable file", () => file("ww.json", [], 0o666), /world-writable/],
    [
      "a symlink",
      () => {
        const link = join(dir, "link.json");
        symlinkSync(file("target.json", []), link);
        return link;
      },
      /symlink/,
    ],
    ["a missing file", () => join(dir, "missing.json"), /no such file/],
    ["not JSON", () => file("bad.json", "{nope"), /not JSON/],
    ["a bad URI", () => file("uri.json", [{ urls: "http://x" }]), /0\.urls/],
    ["an unknown key", () => file("key.json", [{ urls: "stun:h", password: "x" }]), /expected \[/],
  ];
  for (const [what, make, message] of refusals) {
    test(`refuses ${what}`, () => assert.throws(() => readIceServersFile(make()), message));
  }
});

describe("IceServersFile", () => {
  test("reloads a replaced file and keeps the last good list on a bad edit", async () => {
    const path = file("live.json", [{ urls: "stun:a.example.org" }]);
    const errors: string[] = [];
    const source = new IceServersFile(path, (m) => errors.push(m));
    try {
      assert.deepEqual(source.servers, [{ urls: ["stun:a.example.org"] }]);
      // Replace by rename, as editors and config managers do.
      const tmp = file("live.json.tmp", [{ urls: "stun:b.example.org" }]);
      renameSync(tmp, path);
      await until(() => source.servers[0]?.urls[0] === "stun:b.example.org", 5000, "the reload");
      writeFileSync(path, "{broken");
      await until(() => errors.length > 0, 5000, "the error report");
      assert.match(errors[0], /not JSON.*keeping the previous 1 server/);
      assert.deepEqual(source.servers, [{ urls: ["stun:b.example.org"] }]);
      chmodSync(path, 0o666);
      writeFileSync(path, JSON.stringify([{ urls: "stun:c.example.org" }]));
      await until(() => errors.some((e) => /world-writable/.test(e)), 5000, "the permission refusal");
      assert.deepEqual(source.servers, [{ urls: ["stun:b.example.org"] }], "a world-writable file is never used");
    } finally {
      source.close();
    }
  });
});
