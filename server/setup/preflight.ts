/**
 * Start-up preflight: before anything listens, check that the native addons
 * load and that GStreamer has every element the configured features run, so
 * a missing package stops start-up with one line naming what to install
 * instead of a stack trace from the first pipeline built.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import type { SourceSpec } from "../options.js";
import { featureElements, packageOfElement, type MediaFeature } from "../../pipelines/requirements.js";
import type { RtpVideoCodec } from "../../pipelines/descriptions.js";

const require = createRequire(import.meta.url);

/** A native addon Tessera loads, how to prove it loads, and what building it needs. */
interface NativeAddon {
  name: string;
  /** Loads the addon for real (some packages load their binary only on first use). */
  load: () => void;
  /** Debian packages its build needs. */
  buildPackages: string[];
}

/** The native addons, in the order they are checked. */
export const NATIVE_ADDONS: readonly NativeAddon[] = [
  {
    name: "gstreamer-superficial",
    load: () => void require("gstreamer-superficial"),
    buildPackages: ["g++", "make", "python3", "libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev"],
  },
  {
    name: "better-sqlite3",
    load: () => {
      const Database = require("better-sqlite3") as new (file: string) => { close(): void };
      new Database(":memory:").close();
    },
    buildPackages: ["g++", "make", "python3"],
  },
];

/** The first line of an error, cut short: enough to tell "not built" from "wrong Node version". */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split("\n")[0];
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** Why an addon cannot be used, with the command that fixes it; undefined when it loads. */
export function addonProblem(addon: Pick<NativeAddon, "name" | "load" | "buildPackages">): string | undefined {
  try {
    addon.load();
    return undefined;
  } catch (err) {
    return (
      `native addon "${addon.name}" cannot be loaded (${firstLine(err)}): ` +
      `run npm rebuild ${addon.name} (it builds with apt-get install ${addon.buildPackages.join(" ")}; npm start does both)`
    );
  }
}

/** What gst-inspect-1.0 says exists: element names, or a problem when it cannot be asked. */
export function availableElements(env: NodeJS.ProcessEnv = process.env): { elements: Set<string> } | { problem: string } {
  const r = spawnSync("gst-inspect-1.0", [], { encoding: "utf8", env, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { problem: "gst-inspect-1.0 is missing: install gstreamer1.0-tools (apt-get install gstreamer1.0-tools)" };
    return { problem: `gst-inspect-1.0 failed: ${firstLine(r.error)}` };
  }
  const elements = new Set<string>();
  // Lines read "plugin:  element: description".
  for (const m of r.stdout.matchAll(/^[\w.-]+:\s+([\w-]+): /gm)) elements.add(m[1]);
  return { elements };
}

/** One line for missing elements, naming each and the packages to install. */
export function missingElementsLine(missing: readonly string[]): string {
  const quoted = missing.map((e) => `"${e}"`).join(", ");
  const packages = [...new Set(missing.map((e) => packageOfElement(e)).filter((p): p is string => p !== undefined))];
  const unknown = missing.filter((e) => packageOfElement(e) === undefined);
  const subject = missing.length === 1 ? `GStreamer element ${quoted} is missing` : `GStreamer elements ${quoted} are missing`;
  const install = packages.length > 0 ? `install ${packages.join(", ")} (apt-get install ${packages.join(" ")})` : "";
  const find = unknown.length > 0 ? `find the plugin of ${unknown.join(", ")} with gst-inspect-1.0 on a machine that has it` : "";
  return `${subject}: ${[install, find].filter(Boolean).join("; ")}`;
}

/** The media features a configuration turns on. */
export function configuredFeatures(config: { source: readonly SourceSpec[]; audio?: "none" | "pulse"; transcode?: "on" | "off" }): MediaFeature[] {
  const always: MediaFeature[] = [
    "fallback-jpeg",
    "fallback-h264",
    "frame-devices",
    "snapshots",
    ...(config.transcode === "off" ? [] : (["transcode"] as const)),
  ];
  const has = (kind: SourceSpec["kind"]) => config.source.some((s) => s.kind === kind);
  const host: MediaFeature[] = has("x11") ? ["host-capture", ...(config.audio === "pulse" ? (["host-audio"] as const) : [])] : [];
  return [...(has("test") ? (["test-device"] as const) : []), ...host, ...(has("v4l2") ? (["camera-capture"] as const) : []), ...always];
}

/** Elements missing for the given features, in the order the features need them. */
export function missingElements(features: readonly MediaFeature[], available: ReadonlySet<string>, sourceCodec?: RtpVideoCodec): string[] {
  const needed = new Set(features.flatMap((f) => featureElements(f, sourceCodec)));
  return [...needed].filter((e) => !available.has(e));
}

/**
 * Everything that stops this configuration from starting, one line each
 * (empty when it can start). Addons first: without them nothing else runs.
 */
export function preflight(config: { source: readonly SourceSpec[]; sourceCodec: RtpVideoCodec; audio?: "none" | "pulse" }): string[] {
  const problems = NATIVE_ADDONS.map(addonProblem).filter((p): p is string => p !== undefined);
  if (problems.length > 0) return problems;
  const found = availableElements();
  if ("problem" in found) return [found.problem];
  const missing = missingElements(configuredFeatures(config), found.elements, config.sourceCodec);
  return missing.length > 0 ? [missingElementsLine(missing)] : [];
}
