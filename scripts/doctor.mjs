#!/usr/bin/env node
// `npm run doctor`: `tessera doctor` once the npm packages are in; before that, what the
// bootstrap would install, so a fresh clone gets an answer too.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILD_PACKAGES, RUNTIME_PACKAGES, TEST_PACKAGES, missingDebianPackages } from "./system-packages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

if (!existsSync(join(root, "node_modules/typescript"))) {
  const missing = missingDebianPackages([...BUILD_PACKAGES, ...RUNTIME_PACKAGES, ...TEST_PACKAGES]);
  process.stdout.write("MISSING  npm packages  run npm start (as root it installs everything the server needs) or npm ci\n");
  if (missing === undefined) process.stdout.write(`not a Debian system: install the equivalents of ${[...BUILD_PACKAGES, ...RUNTIME_PACKAGES].join(" ")}\n`);
  else if (missing.length > 0)
    process.stdout.write(`MISSING  Debian packages  apt-get update && apt-get install --no-install-recommends ${missing.join(" ")}\n`);
  process.exit(1);
}
const build = spawnSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const doctor = spawnSync(process.execPath, [join(root, "dist/server/main.js"), "doctor"], { cwd: root, stdio: "inherit" });
process.exit(doctor.status ?? 1);
