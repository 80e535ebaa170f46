#!/usr/bin/env node
// Builds the server (tsc, incremental) and the web app (esbuild) when their sources changed.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

// web/src too: tests under e2e/ import its pure modules.
const serverDirs = ["server", "pipelines", "turn", "metrics", "e2e", "bench", "web/src"].map((d) => join(root, d)).filter(existsSync);
// Our own stamp, written after an emitting tsc: `tsc --noEmit` also writes dist/.tsbuildinfo, which then read as built.
const serverStamp = join(root, "dist/.tsc-stamp");
if (Math.max(...serverDirs.map(newest), mtime(join(root, "tsconfig.json"))) > mtime(serverStamp)) {
  process.stdout.write("[build] tsc\n");
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", root], { stdio: "inherit" });
  writeFileSync(serverStamp, "");
}

// The relay fast path's native part (server/rtc/native/*.c): C files against Node's own headers and the
// OpenSSL Node exports, so gcc is all it needs. Optional at run time: if it cannot be built, the relay
// uses its TypeScript path (and the test that expects it here fails).
const nativeDir = join(root, "server/rtc/native");
const nativeFiles = existsSync(nativeDir) ? readdirSync(nativeDir).filter((f) => f.endsWith(".c") || f.endsWith(".h")) : [];
const nativeSrc = nativeFiles.filter((f) => f.endsWith(".c")).map((f) => join(nativeDir, f));
const nativeOut = join(root, "dist/server/rtc/native/fastpath.node");
const nativeNewest = Math.max(0, ...nativeFiles.map((f) => mtime(join(nativeDir, f))));
if (nativeSrc.length > 0 && Math.max(nativeNewest, mtime(fileURLToPath(import.meta.url))) > mtime(nativeOut)) {
  process.stdout.write("[build] native fast path\n");
  const headers = join(dirname(process.execPath), "../include/node");
  mkdirSync(dirname(nativeOut), { recursive: true });
  try {
    if (!existsSync(join(headers, "node_api.h"))) throw new Error(`Node's headers are not in ${headers}`);
    const flags = ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-DNODE_GYP_MODULE_NAME=fastpath", `-I${headers}`];
    execFileSync("gcc", [...flags, ...nativeSrc, "-o", nativeOut], { stdio: ["ignore", "inherit", "inherit"] });
  } catch (err) {
    process.stdout.write(`[build] native fast path not built (${err.message.split("\n")[0]}); the relay uses its TypeScript path\n`);
  }
}

// The tests' and benches' link emulator (e2e/lib/delay-line.c): delay, jitter and loss between two network
// namespaces, as `tc netem` would on a kernel that has it. The tests that need it say so when it is missing.
const delaySrc = join(root, "e2e/lib/delay-line.c");
const delayOut = join(root, "dist/e2e/lib/delay-line");
if (existsSync(delaySrc) && Math.max(mtime(delaySrc), mtime(fileURLToPath(import.meta.url))) > mtime(delayOut)) {
  process.stdout.write("[build] delay line\n");
  mkdirSync(dirname(delayOut), { recursive: true });
  try {
    execFileSync("gcc", ["-O2", "-Wall", "-Wextra", delaySrc, "-o", delayOut], { stdio: ["ignore", "inherit", "inherit"] });
  } catch (err) {
    process.stdout.write(`[build] delay line not built (${err.message.split("\n")[0]}); the jitter test and profile cannot run\n`);
  }
}

const webOut = join(root, "dist/web");
const webStamp = join(webOut, "viewer.js");
if (Math.max(newest(join(root, "web")), newest(join(root, "server/protocol")), mtime(fileURLToPath(import.meta.url))) > mtime(webStamp)) {
  process.stdout.write("[build] web\n");
  // esbuild only strips types; check them first.
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "web")], { stdio: "inherit" });
  mkdirSync(webOut, { recursive: true });
  // Minified (the source maps keep it readable): over a real network the bundle's bytes are most of a page's load.
  await esbuild.build({
    entryPoints: { viewer: join(root, "web/src/viewer.ts"), device: join(root, "web/src/device.ts"), grid: join(root, "web/src/grid.ts") },
    bundle: true,
    format: "esm",
    target: ["chrome110", "firefox115"],
    minify: true,
    sourcemap: true,
    outdir: webOut,
    logLevel: "warning",
  });
  // The Firebase SDK sign-in, a bundle of its own: the pages import it only when the server serves a
  // Firebase web config. Minified, as it is nearly all the SDK's code, not ours.
  await esbuild.build({
    entryPoints: { "firebase-sign-in": join(root, "web/src/firebase-sign-in.ts") },
    bundle: true,
    format: "esm",
    target: ["chrome110", "firefox115"],
    minify: true,
    sourcemap: true,
    outdir: webOut,
    logLevel: "warning",
  });
  for (const name of readdirSync(join(root, "web"))) {
    if (/\.(html|css|svg|ico)$/.test(name)) cpSync(join(root, "web", name), join(webOut, name));
  }
  // Each page file also compressed, next to it: the server sends `.br` or `.gz` to a browser that takes it
  // (koa-send), so a page loads in fewer round trips. Written from scratch each build, never stale.
  // (The old ones go first: removing them in the same pass could remove one this build just wrote.)
  for (const name of readdirSync(webOut)) if (/\.(br|gz)$/.test(name)) rmSync(join(webOut, name));
  for (const name of readdirSync(webOut)) {
    const path = join(webOut, name);
    if (/\.(html|js|css|svg)$/.test(name)) {
      const bytes = readFileSync(path);
      writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
      writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
    }
  }
}

// E2e- and bench-only pages, never served by the app: third-party WHIP/WHEP client libraries driven by
// e2e/whip.test.ts, and the time-stamped picture bench/latency.ts injects into pages (a classic script).
const pagesSrc = join(root, "e2e/pages");
const pagesOut = join(root, "dist/e2e-pages");
const pagesNewest = Math.max(newest(pagesSrc), mtime(join(root, "e2e/interop-api.ts")), mtime(join(root, "e2e/stamp-api.ts")));
if (existsSync(pagesSrc) && pagesNewest > Math.min(mtime(join(pagesOut, "interop.js")), mtime(join(pagesOut, "stamp.js")))) {
  process.stdout.write("[build] e2e pages\n");
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", pagesSrc], { stdio: "inherit" });
  mkdirSync(pagesOut, { recursive: true });
  await esbuild.build({
    entryPoints: { interop: join(pagesSrc, "interop.ts") },
    bundle: true,
    format: "esm",
    target: ["chrome110"],
    sourcemap: true,
    outdir: pagesOut,
    logLevel: "warning",
  });
  await esbuild.build({
    entryPoints: { stamp: join(pagesSrc, "stamp.ts") },
    bundle: true,
    format: "iife",
    target: ["chrome110"],
    outdir: pagesOut,
    logLevel: "warning",
  });
  for (const name of readdirSync(pagesSrc)) {
    if (name.endsWith(".html")) cpSync(join(pagesSrc, name), join(pagesOut, name));
  }
}
