#!/usr/bin/env node
// Idempotent set-up for `npm start` (--runtime), `npm test` (--test) and the benches that need more (--bench):
// system packages, npm packages, then a build when sources changed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyAddonFixes } from "./addon-fixes.mjs";
import { BENCH_PACKAGES, BUILD_PACKAGES, RUNTIME_PACKAGES, TEST_PACKAGES, missingDebianPackages } from "./system-packages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const forBench = process.argv.includes("--bench");
const forTests = forBench || process.argv.includes("--test");

/** Native addons npm builds from source here (allowScripts in package.json), and the file each build leaves. */
const NATIVE_ADDONS = {
  "gstreamer-superficial": "build/Release/gstreamer-superficial.node",
  "better-sqlite3": "build/Release/better_sqlite3.node",
};

function say(msg) {
  process.stdout.write(`[bootstrap] ${msg}\n`);
}

function ensurePackages(pkgs) {
  const missing = missingDebianPackages(pkgs);
  if (missing === undefined) {
    say(`not a Debian/Ubuntu system: install these yourself: ${pkgs.join(" ")}`);
    return;
  }
  if (missing.length === 0) return;
  const cmd = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`[bootstrap] missing system packages: ${missing.join(" ")}\n[bootstrap] run as root:\n  sudo sh -c '${cmd}'\n`);
    process.exit(1);
  }
  say(`installing ${missing.join(" ")}`);
  execFileSync("sh", ["-c", cmd], { stdio: "inherit" });
}

function hashOf(file) {
  return createHash("sha256")
    .update(readFileSync(join(root, file)))
    .digest("hex");
}

function ensureNodeModules() {
  const stamp = join(root, "node_modules", ".tessera-lock-hash");
  // What npm ci installs depends on the lock file and these fields, not on package.json's scripts.
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const fields = JSON.stringify([pkg.dependencies, pkg.devDependencies, pkg.allowScripts, pkg.overrides]);
  const want = hashOf("package-lock.json") + createHash("sha256").update(fields).digest("hex");
  const missingAddons = () => Object.keys(NATIVE_ADDONS).filter((pkg) => !existsSync(join(root, "node_modules", pkg, NATIVE_ADDONS[pkg])));
  const installed = existsSync(stamp) && readFileSync(stamp, "utf8") === want && missingAddons().length === 0;
  if (!installed) {
    say("installing npm packages (npm ci)");
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  }
  // Addon sources with a fix not yet in them (scripts/addon-fixes.mjs) are rebuilt, like any addon npm left unbuilt.
  const fixed = applyAddonFixes(join(root, "node_modules"), (msg) => say(msg));
  for (const pkg of new Set([...fixed, ...missingAddons()])) {
    say(`building ${pkg}${fixed.includes(pkg) ? " (with Tessera's fixes)" : ""}`);
    execFileSync("npm", ["rebuild", pkg], { cwd: root, stdio: "inherit" });
  }
  if (!installed) {
    mkdirSync(dirname(stamp), { recursive: true });
    writeFileSync(stamp, want);
  }
}

const systemPackages = [...BUILD_PACKAGES, ...RUNTIME_PACKAGES];
ensurePackages(forTests ? [...systemPackages, ...TEST_PACKAGES, ...(forBench ? BENCH_PACKAGES : [])] : systemPackages);
ensureNodeModules();
execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
