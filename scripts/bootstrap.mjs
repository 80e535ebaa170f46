#!/usr/bin/env node
// Idempotent set-up for `npm start` (--runtime) and `npm test` (--test):
// system packages, npm packages, then a build when sources changed.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const forTests = process.argv.includes("--test");

const RUNTIME_PACKAGES = [
  // node-gyp builds the native addons (gstreamer-superficial, better-sqlite3) with these.
  "g++",
  "make",
  "python3",
  "libgstreamer1.0-dev",
  "libgstreamer-plugins-base1.0-dev",
  "gstreamer1.0-plugins-base",
  "gstreamer1.0-plugins-good",
  "gstreamer1.0-plugins-bad",
  "gstreamer1.0-plugins-ugly",
  "gstreamer1.0-libav",
  "gstreamer1.0-tools",
];
const TEST_PACKAGES = ["chromium", "firefox-esr", "iproute2", "coturn", "prometheus"];

/** Native addons npm builds from source here (allowScripts in package.json), and the file each build leaves. */
const NATIVE_ADDONS = {
  "gstreamer-superficial": "build/Release/gstreamer-superficial.node",
  "better-sqlite3": "build/Release/better_sqlite3.node",
};

function say(msg) {
  process.stdout.write(`[bootstrap] ${msg}\n`);
}

function installed(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

function ensurePackages(pkgs) {
  if (!existsSync("/usr/bin/dpkg-query")) {
    say(`not a Debian/Ubuntu system: install these yourself: ${pkgs.join(" ")}`);
    return;
  }
  const missing = pkgs.filter((p) => !installed(p));
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
  return createHash("sha256").update(readFileSync(join(root, file))).digest("hex");
}

function ensureNodeModules() {
  const stamp = join(root, "node_modules", ".tessera-lock-hash");
  const want = hashOf("package-lock.json") + hashOf("package.json");
  const missingAddons = () => Object.keys(NATIVE_ADDONS).filter((pkg) => !existsSync(join(root, "node_modules", pkg, NATIVE_ADDONS[pkg])));
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want && missingAddons().length === 0) return;
  say("installing npm packages (npm ci)");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  for (const pkg of missingAddons()) {
    say(`building ${pkg}`);
    execFileSync("npm", ["rebuild", pkg], { cwd: root, stdio: "inherit" });
  }
  mkdirSync(dirname(stamp), { recursive: true });
  writeFileSync(stamp, want);
}

ensurePackages(forTests ? [...RUNTIME_PACKAGES, ...TEST_PACKAGES] : RUNTIME_PACKAGES);
ensureNodeModules();
execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
