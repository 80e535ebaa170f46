/**
 * The fixes the bootstrap makes to native addon sources before building
 * them (scripts/addon-fixes.mjs): each applies once, a changed upstream
 * text is reported and left alone, and this machine's addons were built
 * with every one of them.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

interface Fix {
  file: string;
  why: string;
  from: string;
  to: string;
}
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const { ADDON_FIXES, applyAddonFixes } = (await import(pathToFileURL(join(ROOT, "scripts/addon-fixes.mjs")).href)) as {
  ADDON_FIXES: Record<string, Fix[]>;
  applyAddonFixes: (nodeModules: string, say?: (msg: string) => void) => string[];
};

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A node_modules of its own holding `files` (path under it → text). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tessera-addon-fixes-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Each package's files as their unfixed text: every fix's `from` between lines of its own. */
function unfixed(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [pkg, fixes] of Object.entries(ADDON_FIXES)) {
    for (const fix of fixes) files[`${pkg}/${fix.file}`] = `${files[`${pkg}/${fix.file}`] ?? "// before\n"}${fix.from}// between\n`;
  }
  return files;
}

describe("addon source fixes", () => {
  test("apply once to the unfixed text, and the second run changes nothing", () => {
    const dir = tree(unfixed());
    const said: string[] = [];
    assert.deepEqual(
      applyAddonFixes(dir, (m) => said.push(m)),
      Object.keys(ADDON_FIXES),
    );
    for (const [pkg, fixes] of Object.entries(ADDON_FIXES)) {
      for (const fix of fixes) {
        const text = readFileSync(join(dir, pkg, fix.file), "utf8");
        assert.ok(text.includes(fix.to), `${pkg}/${fix.file}: ${fix.why}`);
        assert.ok(text.startsWith("// before\n") && text.endsWith("// between\n"), "the text around a fix is kept");
      }
    }
    assert.equal(said.join("\n"), "");
    assert.deepEqual(
      applyAddonFixes(dir, (m) => said.push(m)),
      [],
    );
    assert.equal(said.join("\n"), "");
  });

  test("a source whose text changed upstream is left alone and reported", () => {
    const [pkg, fixes] = Object.entries(ADDON_FIXES)[0];
    const dir = tree({ [`${pkg}/${fixes[0].file}`]: "// another release\n" });
    const said: string[] = [];
    const changed = applyAddonFixes(dir, (m) => said.push(m));
    assert.ok(!changed.includes(pkg));
    assert.equal(readFileSync(join(dir, pkg, fixes[0].file), "utf8"), "// another release\n");
    assert.ok(
      said.some((m) => m.includes(`${fixes[0].file} changed upstream`) && m.includes(fixes[0].why)),
      said.join("\n"),
    );
  });

  test("this machine's addons were built from sources carrying every fix", () => {
    // A copy, so the check never writes to node_modules: every fix is found applied, none is new or unmatched.
    const files: Record<string, string> = {};
    for (const [pkg, fixes] of Object.entries(ADDON_FIXES)) {
      for (const fix of fixes) files[`${pkg}/${fix.file}`] = "";
    }
    const dir = tree(files);
    for (const path of Object.keys(files)) copyFileSync(join(ROOT, "node_modules", path), join(dir, path));
    const said: string[] = [];
    assert.deepEqual(
      applyAddonFixes(dir, (m) => said.push(m)),
      [],
    );
    assert.equal(said.join("\n"), "");
    // And built after the last fix was made: the bootstrap rebuilds what it fixed.
    for (const pkg of Object.keys(ADDON_FIXES)) {
      const built = readdirSync(join(ROOT, "node_modules", pkg, "build/Release")).filter((f) => f.endsWith(".node"));
      assert.ok(built.length > 0, `${pkg} has no built addon`);
      const fixedAt = Math.max(...ADDON_FIXES[pkg].map((f) => statSync(join(ROOT, "node_modules", pkg, f.file)).mtimeMs));
      for (const f of built)
        assert.ok(statSync(join(ROOT, "node_modules", pkg, "build/Release", f)).mtimeMs >= fixedAt, `${pkg}/${f} is older than its fixed sources`);
    }
  });
});
