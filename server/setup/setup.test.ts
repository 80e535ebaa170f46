/**
 * The set-up list is complete: every GStreamer element the code names and
 * every program it runs comes from a Debian package the bootstrap installs.
 * Derived from the code and asked of this machine's GStreamer and dpkg, so
 * it fails on any machine, even one that happens to have the package.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import { elementsOf } from "../../pipelines/elements.js";
import { ELEMENT_PACKAGES, featureElements, GSTREAMER_CORE_PACKAGE, MEDIA_FEATURES, type MediaFeature } from "../../pipelines/requirements.js";
import { locate, TOOL_FEATURES } from "./doctor.js";
import { NATIVE_ADDONS } from "./preflight.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

interface SystemPackages {
  BUILD_PACKAGES: string[];
  RUNTIME_PACKAGES: string[];
  TEST_PACKAGES: string[];
  BENCH_PACKAGES: string[];
}
const lists = (await import(pathToFileURL(join(ROOT, "scripts/system-packages.mjs")).href)) as SystemPackages;
const serverPackages = new Set([...lists.BUILD_PACKAGES, ...lists.RUNTIME_PACKAGES, GSTREAMER_CORE_PACKAGE]);
const testPackages = new Set([...serverPackages, ...lists.TEST_PACKAGES, ...lists.BENCH_PACKAGES]);

/** Every .ts source file of the project (not node_modules, dist or the browser bundle's pages). */
function sources(dir = ROOT, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The string literals in a stretch of source, each `${…}` (nested ones too) left out. */
function literals(code: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < code.length; i++) {
    const quote = code[i];
    if (quote !== '"' && quote !== "`") continue;
    let text = "";
    for (i++; i < code.length && code[i] !== quote; i++) {
      if (code[i] === "\\") text += code[++i];
      else if (quote === "`" && code.startsWith("${", i)) {
        let depth = 0;
        for (; i < code.length; i++) {
          if (code[i] === "{") depth++;
          else if (code[i] === "}" && --depth === 0) break;
        }
        text += " ";
      } else text += code[i];
    }
    out.push(text);
  }
  return out;
}

/** The code from `start` to the bracket that closes the one opened there. */
function balanced(code: string, start: number): string {
  let depth = 0;
  for (let i = start; i < code.length; i++) {
    if (code[i] === "(" || code[i] === "[") depth++;
    else if (code[i] === ")" || code[i] === "]") {
      depth--;
      if (depth === 0) return code.slice(start, i + 1);
    }
  }
  return code.slice(start);
}

/** The first argument of a call's source `(a, b)`: up to the first comma outside brackets and literals. */
function firstArgument(call: string): string {
  let depth = 0;
  let quote = "";
  for (let i = 1; i < call.length; i++) {
    const c = call[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "`" || c === "'") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) return call.slice(1, i);
  }
  return call.slice(1, -1);
}

/** Pipelines written outside pipelines/descriptions.ts: gst-launch-1.0 argument lists and literal GstPipeline descriptions. */
function pipelinesInSources(): { file: string; description: string }[] {
  const found: { file: string; description: string }[] = [];
  for (const file of sources()) {
    const code = readFileSync(file, "utf8");
    for (const m of code.matchAll(/"gst-launch-1\.0",\s*\[/g)) {
      const args = literals(balanced(code, m.index + m[0].length - 1)).filter((a) => !a.startsWith("-"));
      found.push({ file: relative(ROOT, file), description: args.join(" ") });
    }
    for (const m of code.matchAll(/new GstPipeline\(\s*(?=["`])/g)) {
      found.push({ file: relative(ROOT, file), description: literals(firstArgument(balanced(code, m.index + m[0].indexOf("(")))).join(" ") });
    }
  }
  return found;
}

/**
 * The Debian package of each file (merged /usr: tried as given and on the other side; an alternatives link such as
 * /usr/bin/Xvnc → /etc/alternatives/Xvnc → /usr/bin/Xtigervnc: also as the file it resolves to), asked of dpkg once.
 */
function packagesOfFiles(paths: readonly string[]): Map<string, string | undefined> {
  const other = (p: string) => (p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`);
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const candidates = (p: string) => [...new Set([p, other(p), real(p), other(real(p))])];
  const r = spawnSync("dpkg", ["-S", ...paths.flatMap(candidates)], { encoding: "utf8" });
  const owner = new Map<string, string>();
  // Lines read "package[:arch]: /path" (diversions and several owners aside).
  for (const m of r.stdout.matchAll(/^([^:\s,]+)(?::[\w-]+)?: (\S+)$/gm)) owner.set(m[2], m[1]);
  return new Map(
    paths.map((p) => [
      p,
      candidates(p)
        .map((c) => owner.get(c))
        .find((o) => o !== undefined),
    ]),
  );
}

/** The plugin file of an element, as GStreamer reports it. */
function pluginFileOf(element: string): string | undefined {
  const r = spawnSync("gst-inspect-1.0", [element], { encoding: "utf8" });
  return /^\s+Filename\s+(\S+)/m.exec(r.stdout)?.[1];
}

describe("set-up: the bootstrap installs everything the code uses", () => {
  const featureSet = new Set((Object.keys(MEDIA_FEATURES) as MediaFeature[]).flatMap((f) => featureElements(f)));
  const written = pipelinesInSources();

  test("every description in pipelines/ belongs to a feature the preflight checks", () => {
    const descriptions = ["descriptions.ts", "desktop.ts"].map((f) => readFileSync(join(ROOT, "pipelines", f), "utf8")).join("\n");
    const exported = [...descriptions.matchAll(/^export function (\w+Description)\(/gm)].map((m) => m[1]);
    assert.ok(exported.length >= 7, `found ${exported.join(", ")}`);
    const requirements = readFileSync(join(ROOT, "pipelines/requirements.ts"), "utf8");
    const calls = (code: string, name: string) => code.match(new RegExp(`\\b${name}\\(`, "g"))?.length ?? 0;
    for (const name of exported) {
      // Used by a feature, or part of another description (beyond its own definition).
      assert.ok(calls(requirements, name) > 0 || calls(descriptions, name) > 1, `${name} is used by no feature in pipelines/requirements.ts`);
    }
  });

  test("pipelines written outside descriptions.ts are found too (tests' fixtures)", () => {
    const files = new Set(written.map((w) => w.file));
    for (const f of ["server/integration/frames.test.ts", "pipelines/stripe-encoders.test.ts"])
      assert.ok(files.has(f), `no pipeline found in ${f}: ${[...files].join(", ")}`);
    for (const w of written) assert.ok(elementsOf(w.description).length > 0, `${w.file}: ${w.description}`);
  });

  test("each element comes from the package pipelines/requirements.ts names, and the bootstrap installs it", () => {
    const testOnly = new Set(written.flatMap((w) => elementsOf(w.description)).filter((e) => !featureSet.has(e)));
    const problems: string[] = [];
    const files = new Map([...featureSet, ...testOnly].map((e) => [e, pluginFileOf(e)]));
    const owners = packagesOfFiles([...files.values()].filter((f): f is string => f !== undefined));
    for (const [element, file] of files) {
      if (!file) {
        problems.push(`${element}: GStreamer does not have it here (named package: ${ELEMENT_PACKAGES[element] ?? "none"})`);
        continue;
      }
      const pkg = owners.get(file);
      if (!pkg) problems.push(`${element}: ${file} belongs to no Debian package`);
      else if (ELEMENT_PACKAGES[element] !== pkg)
        problems.push(`${element}: ELEMENT_PACKAGES says ${ELEMENT_PACKAGES[element] ?? "nothing"}, dpkg says ${pkg}`);
      else if (!(testOnly.has(element) ? testPackages : serverPackages).has(pkg)) problems.push(`${element}: ${pkg} is not in scripts/system-packages.mjs`);
    }
    assert.deepEqual(problems, []);
  });

  test("each program the code spawns is in doctor's list, from the package it names, which the bootstrap installs", () => {
    const listed = new Map(TOOL_FEATURES.flatMap((f) => f.tools).map((t) => [basename(t.program), t]));
    // Part of every Debian system (stdbuf: coreutils, taskset: util-linux) or of Node itself, or optional (xdg-open only opens a dashboard when there is a desktop).
    const base = new Set(["sh", "npm", "node", "dpkg", "dpkg-query", "getconf", "xdg-open", "stdbuf", "taskset"]);
    const spawned = new Set<string>();
    for (const file of sources()) {
      const code = readFileSync(file, "utf8");
      for (const m of code.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*"([^"]+)"/g)) spawned.add(basename(m[1]));
      for (const m of code.matchAll(/"(\/usr\/s?bin\/[\w.+-]+)"/g)) spawned.add(basename(m[1]));
    }
    assert.ok(spawned.has("gst-launch-1.0") && spawned.has("chromium"), [...spawned].join(" "));
    const problems: string[] = [];
    for (const program of spawned) {
      if (base.has(program)) continue;
      if (!listed.has(program)) problems.push(`${program} is run by the code but not listed in TOOL_FEATURES (server/setup/doctor.ts)`);
    }
    const paths = new Map([...listed.values()].map((t) => [t, locate(t.program)]));
    const owners = packagesOfFiles([...paths.values()].filter((p): p is string => p !== undefined));
    for (const [tool, path] of paths) {
      const pkg = path ? owners.get(path) : undefined;
      // The benches' own packages are installed by their bootstrap (--bench), not by npm test's.
      if (!path && lists.BENCH_PACKAGES.includes(tool.package)) continue;
      if (!path) problems.push(`${tool.program} is not on this machine (package ${tool.package})`);
      else if (pkg !== tool.package) problems.push(`${tool.program}: listed as ${tool.package}, dpkg says ${pkg ?? "no package"}`);
      else if (!testPackages.has(pkg)) problems.push(`${tool.program}: ${pkg} is not in scripts/system-packages.mjs`);
    }
    assert.deepEqual(problems, []);
  });

  test("the packages the native addons build with are in the bootstrap's build list", () => {
    for (const addon of NATIVE_ADDONS) {
      for (const pkg of addon.buildPackages) assert.ok(lists.BUILD_PACKAGES.includes(pkg), `${addon.name} builds with ${pkg}`);
    }
  });
});
