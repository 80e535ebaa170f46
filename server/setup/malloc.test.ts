import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { serverMallocTunables } from "./malloc.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** glibc's dynamic loader, which lists the tunables this glibc knows. */
const LOADERS = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"];

describe("the server's malloc settings", () => {
  test("npm start passes them, unless GLIBC_TUNABLES is already set", () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.start, /GLIBC_TUNABLES=\$\{GLIBC_TUNABLES:-\$npm_package_config_glibcTunables\} node dist\/server\/main\.js/);
  });

  test("each is a malloc tunable this machine's glibc knows, within its range", () => {
    const loader = LOADERS.find((l) => existsSync(l));
    assert.ok(loader, `no glibc loader at ${LOADERS.join(" or ")}`);
    const listed = spawnSync(loader, ["--list-tunables"], { encoding: "utf8" });
    assert.equal(listed.status, 0, listed.stderr);
    const known = new Map<string, { min: bigint; max: bigint }>();
    for (const m of listed.stdout.matchAll(/^(glibc\.malloc\.\w+): \S+ \(min: (0x[0-9a-f]+), max: (0x[0-9a-f]+)\)/gm)) {
      known.set(m[1], { min: BigInt(m[2]), max: BigInt(m[3]) });
    }
    const settings = serverMallocTunables().split(":");
    assert.ok(settings.length > 0);
    for (const setting of settings) {
      const [name, value] = setting.split("=");
      const range = known.get(name);
      assert.ok(range, `${name} is not a malloc tunable of this glibc`);
      assert.match(value ?? "", /^\d+$/, `${name} wants a number`);
      const v = BigInt(value);
      assert.ok(v >= range.min && v <= range.max, `${name}=${value} is outside ${range.min}..${range.max}`);
    }
  });
});
