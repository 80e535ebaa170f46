import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

// The Debian packages Tessera's set-up installs (scripts/bootstrap.mjs), in one list the
// set-up test (server/setup.test.ts) and `tessera doctor` read too. `--no-install-recommends`
// is used, so every package a plugin or tool needs is named here, not left to Recommends.

/** What node-gyp needs to build the native addons (gstreamer-superficial, better-sqlite3), and gcc (which g++ brings) for the relay fast path's C part. */
export const BUILD_PACKAGES = ["g++", "make", "python3", "libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev"];

/** What the server's pipelines need (pipelines/requirements.ts names the package of each element). */
export const RUNTIME_PACKAGES = [
  "gstreamer1.0-plugins-base",
  "gstreamer1.0-plugins-good",
  "gstreamer1.0-plugins-bad",
  "gstreamer1.0-plugins-ugly",
  "gstreamer1.0-libav",
  // timeoverlay, clockoverlay, textoverlay (the pango plugin): only Recommended by the others.
  "gstreamer1.0-x",
  // gst-inspect-1.0, which the start-up preflight asks which elements exist.
  "gstreamer1.0-tools",
];

/** What `npm test` needs beyond that: browsers, network namespaces (and nftables to drop packets in them), coturn, Prometheus, redis-server for the cluster tests, openssl for test certificates, X displays and clients for host mode, mount for the storage fault tests' tmpfs. */
export const TEST_PACKAGES = [
  "chromium",
  "firefox-esr",
  "iproute2",
  "nftables",
  "coturn",
  "prometheus",
  "redis-server",
  "openssl",
  "xvfb",
  "tigervnc-standalone-server",
  "x11-xserver-utils",
  "xclip",
  "x11-utils",
  "pulseaudio",
  "mount",
];

/** What the benches need beyond `npm test`'s: Janus, which bench:versus-janus runs beside Tessera. */
export const BENCH_PACKAGES = ["janus"];

/** The packages of `names` dpkg does not have installed, or undefined on a system without dpkg. */
export function missingDebianPackages(names) {
  if (!existsSync("/usr/bin/dpkg-query")) return undefined;
  const installed = (pkg) => {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    return r.status === 0 && r.stdout.includes("install ok installed");
  };
  return names.filter((p) => !installed(p));
}
