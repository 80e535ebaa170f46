/**
 * `tessera doctor` (`npm run doctor`): for each feature, whether what it
 * needs is on this machine, and the exact command that installs what is not.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { MEDIA_FEATURES, type MediaFeature } from "../../pipelines/requirements.js";
import { nativeFastPathStatus } from "../rtc/native.js";
import { addonProblem, availableElements, missingElements, missingElementsLine, NATIVE_ADDONS } from "./preflight.js";

/** A program a feature runs, and the Debian package that ships it. */
export interface Tool {
  /** The program, by absolute path or by name on PATH. */
  program: string;
  package: string;
}

/** A feature that needs programs rather than GStreamer elements. */
export interface ToolFeature {
  label: string;
  tools: readonly Tool[];
}

/**
 * Programs Tessera or its tests run, by feature. The set-up test checks each
 * package against dpkg and the bootstrap's list, and that every program the
 * code spawns is listed here.
 */
export const TOOL_FEATURES: readonly ToolFeature[] = [
  {
    label: "GStreamer tools (preflight, test fixtures)",
    tools: [
      { program: "gst-inspect-1.0", package: "gstreamer1.0-tools" },
      { program: "gst-launch-1.0", package: "gstreamer1.0-tools" },
    ],
  },
  {
    label: "e2e browsers",
    tools: [
      { program: "/usr/bin/chromium", package: "chromium" },
      { program: "/usr/bin/firefox-esr", package: "firefox-esr" },
    ],
  },
  {
    label: "network namespaces (Firefox, interop and lossy-link tests, bench:network)",
    tools: [
      { program: "ip", package: "iproute2" },
      { program: "/usr/sbin/tc", package: "iproute2" },
      { program: "/usr/sbin/nft", package: "nftables" },
    ],
  },
  { label: "coturn (TURN tests)", tools: [{ program: "/usr/bin/turnserver", package: "coturn" }] },
  { label: "Redis (cluster tests)", tools: [{ program: "/usr/bin/redis-server", package: "redis-server" }] },
  {
    label: "Prometheus (metrics tests)",
    tools: [
      { program: "/usr/bin/prometheus", package: "prometheus" },
      { program: "/usr/bin/promtool", package: "prometheus" },
    ],
  },
  { label: "openssl (TLS test certificates)", tools: [{ program: "openssl", package: "openssl" }] },
  { label: "Janus (bench:versus-janus only)", tools: [{ program: "/usr/bin/janus", package: "janus" }] },
  {
    label: "tmpfs mounts (storage fault tests)",
    tools: [
      { program: "mount", package: "mount" },
      { program: "umount", package: "mount" },
    ],
  },
  {
    label: "X displays and clients (host mode tests)",
    tools: [
      { program: "Xvfb", package: "xvfb" },
      { program: "Xvnc", package: "tigervnc-standalone-server" },
      { program: "xsetroot", package: "x11-xserver-utils" },
      { program: "xrandr", package: "x11-xserver-utils" },
      { program: "xclip", package: "xclip" },
      { program: "xev", package: "x11-utils" },
      { program: "pulseaudio", package: "pulseaudio" },
      { program: "xwininfo", package: "x11-utils" },
    ],
  },
];

/** Where a program is: its own path when absolute, else the first match on PATH (sbin included, as root's is). */
export function locate(program: string, path = process.env.PATH ?? ""): string | undefined {
  if (program.startsWith("/")) return existsSync(program) ? program : undefined;
  const dirs = [...path.split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"].filter(Boolean);
  return dirs.map((d) => join(d, program)).find((p) => existsSync(p));
}

/** One doctor line. */
export interface Finding {
  label: string;
  ok: boolean;
  /** What is wrong and the command that fixes it; empty when ok. */
  fix: string;
}

function installLine(packages: readonly string[]): string {
  const unique = [...new Set(packages)];
  return `apt-get install ${unique.join(" ")}`;
}

/** Everything doctor checks, in the order it prints them. */
export function examine(): Finding[] {
  const findings: Finding[] = [];
  const [major] = process.versions.node.split(".").map(Number);
  findings.push({ label: `Node.js ${process.versions.node}`, ok: major >= 20, fix: major >= 20 ? "" : "Tessera needs Node.js 20 or newer" });
  let addonsOk = true;
  for (const addon of NATIVE_ADDONS) {
    const problem = addonProblem(addon);
    addonsOk &&= problem === undefined;
    findings.push({ label: `native addon ${addon.name}`, ok: problem === undefined, fix: problem ?? "" });
  }
  const found = availableElements();
  for (const [feature, label] of Object.entries(MEDIA_FEATURES) as [MediaFeature, string][]) {
    if ("problem" in found) {
      findings.push({ label, ok: false, fix: found.problem });
      continue;
    }
    const missing = missingElements([feature], found.elements);
    findings.push({ label, ok: missing.length === 0, fix: missing.length === 0 ? "" : missingElementsLine(missing) });
  }
  for (const { label, tools } of TOOL_FEATURES) {
    const missing = tools.filter((t) => locate(t.program) === undefined);
    findings.push({
      label,
      ok: missing.length === 0,
      fix: missing.length === 0 ? "" : `${missing.map((t) => t.program).join(", ")} missing: ${installLine(missing.map((t) => t.package))}`,
    });
  }
  // Optional: without it the relay does the same work in TypeScript, at about twice the CPU per packet.
  const native = nativeFastPathStatus === "native";
  findings.push({
    label: "relay fast path, native part (optional)",
    ok: native,
    fix: native ? "" : `${nativeFastPathStatus}; the relay uses its TypeScript path (node scripts/build.mjs builds it; it needs gcc: apt-get install g++)`,
  });
  return findings;
}

/** Prints the findings; the exit status is 1 when anything the server itself needs is missing. */
export function doctorCommand(out: NodeJS.WritableStream = process.stdout): number {
  const findings = examine();
  const width = Math.max(...findings.map((f) => f.label.length));
  for (const f of findings) out.write(`${f.ok ? "ok     " : "MISSING"}  ${f.fix ? `${f.label.padEnd(width)}  ${f.fix}` : f.label}\n`);
  const serverNeeds = findings.slice(0, 1 + NATIVE_ADDONS.length + Object.keys(MEDIA_FEATURES).length);
  const bad = findings.filter((f) => !f.ok);
  out.write(
    bad.length === 0
      ? "everything Tessera and its tests use is here\n"
      : `${bad.length} missing; as root, npm start installs what the server needs and npm test the rest\n`,
  );
  return serverNeeds.every((f) => f.ok) ? 0 : 1;
}
