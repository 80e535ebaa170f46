import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DUMMY_HASH, hashPassword, verifyPassword } from "./passwords.js";

describe("password hashes", () => {
  test("scrypt with a random salt and its parameters stored alongside", async () => {
    const a = await hashPassword("correct horse");
    const b = await hashPassword("correct horse");
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    assert.notEqual(a, b, "salted");
    assert.equal(await verifyPassword("correct horse", a), true);
    assert.equal(await verifyPassword("correct horsE", a), false);
    assert.equal(await verifyPassword("", a), false);
  });

  test("older parameters still verify", async () => {
    const cheap = await hashPassword("pw", { N: 1024, r: 8, p: 1 });
    assert.equal(await verifyPassword("pw", cheap), true);
  });

  test("malformed or absurd stored entries never match and never throw", async () => {
    const [, , , , salt, key] = (await hashPassword("pw")).split("$");
    for (const stored of [
      "",
      "plain",
      `scrypt$16385$8$1$${salt}$${key}`,
      `scrypt$${2 ** 24}$8$1$${salt}$${key}`,
      `scrypt$16384$8$1$${salt}$AAAA`,
      DUMMY_HASH,
    ]) {
      assert.equal(await verifyPassword("pw", stored), false, stored);
    }
  });
});
