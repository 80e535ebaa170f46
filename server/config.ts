/**
 * Loading the configuration: defaults, a JSON file, TESSERA_* environment
 * variables and flags, each value checked where it comes from so an error
 * names its source. What the options are lives in options.ts.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CONFIG_SCHEMA, envNameOf, OPTION_KEYS, OPTIONS, type Config, type OptionKey } from "./options.js";

export type { Config } from "./options.js";

/** A configuration problem, naming the option; the entry point prints it on one line. */
export class ConfigError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = "ConfigError";
  }
}

/** Lists frozen, so a Config is immutable all the way down. */
function frozen(values: Record<string, unknown>): Config {
  const config = CONFIG_SCHEMA.parse(values);
  for (const key of OPTION_KEYS) {
    const v: unknown = config[key];
    if (Array.isArray(v)) Object.freeze(v);
  }
  return Object.freeze(config);
}

/** Defaults a new user meets. */
export const DEFAULTS: Config = frozen(Object.fromEntries(OPTION_KEYS.map((k) => [k, OPTIONS[k].default])));

/** The flag names parseArgs reads: every option, plus -a (--auth basic), -c/--config and -h/--help. */
function parseArgsOptions(): NonNullable<ParseArgsConfig["options"]> {
  const options: NonNullable<ParseArgsConfig["options"]> = {
    "auth-basic": { type: "boolean", short: "a" },
    config: { type: "string", short: "c" },
    help: { type: "boolean", short: "h" },
  };
  for (const key of OPTION_KEYS) {
    const o: { short?: string; list?: true; switch?: true; flag: string } = OPTIONS[key];
    options[o.flag.slice(2)] = { type: o.switch ? "boolean" : "string", ...(o.short ? { short: o.short } : {}), ...(o.list ? { multiple: true } : {}) };
  }
  return options;
}

/** Whether a listen address reaches only this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return /^::ffff:127\./.test(h);
}

/** The value checked against its option's schema; ConfigError naming `origin` (a flag, a variable, a file key) otherwise. */
function check(key: OptionKey, value: unknown, origin: string): unknown {
  const result = OPTIONS[key].schema.safeParse(value);
  if (!result.success) throw new ConfigError(origin, `${result.error.issues[0].message}, got ${JSON.stringify(value)}`);
  return result.data;
}

/**
 * Builds the configuration from, in rising precedence: defaults, the JSON
 * config file, TESSERA_* environment variables, command-line flags.
 * Returns "help" when --help was asked for. Throws ConfigError.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config | "help" {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: parseArgsOptions() });
  } catch (err) {
    throw new ConfigError("arguments", (err as Error).message);
  }
  const flags = parsed.values;
  if (flags.help) return "help";

  const out: Record<string, unknown> = { ...DEFAULTS };
  const file = (flags.config as string | undefined) ?? env.TESSERA_CONFIG;
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError("--config", `cannot read ${file}: ${(err as Error).message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ConfigError("--config", `${file} must hold a JSON object`);
    for (const [k, v] of Object.entries(json)) {
      if (!(k in OPTIONS)) throw new ConfigError("--config", `unknown key '${k}' in ${file}`);
      out[k] = check(k as OptionKey, v, `${file}: ${k}`);
    }
  }
  for (const key of OPTION_KEYS) {
    const name = envNameOf(key);
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    out[key] = check(key, "list" in OPTIONS[key] ? raw.split(",").map((s) => s.trim()) : raw, name);
  }
  const cli = new Map<OptionKey, unknown>(OPTION_KEYS.map((k) => [k, flags[OPTIONS[k].flag.slice(2)]]));
  if (flags["auth-basic"]) {
    if (flags.auth !== undefined && flags.auth !== "basic")
      throw new ConfigError("-a", `-a means --auth basic, but --auth ${String(flags.auth)} was given too`);
    cli.set("auth", "basic");
  }
  for (const [key, value] of cli) {
    if (value !== undefined) out[key] = check(key, value, OPTIONS[key].flag);
  }
  const config = frozen(out);
  const FLAG = (key: OptionKey) => OPTIONS[key].flag;
  if (config.snapshotTtl > config.snapshotMaxTtl)
    throw new ConfigError(FLAG("snapshotTtl"), `${config.snapshotTtl} is longer than --snapshot-max-ttl ${config.snapshotMaxTtl}`);
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey))
    throw new ConfigError(config.tlsCert ? FLAG("tlsKey") : FLAG("tlsCert"), "--tls-cert and --tls-key go together");
  if (config.turnRestUrl && !config.turnRestKey) throw new ConfigError(FLAG("turnRestKey"), "--turn-rest-url needs the service's key");
  if (config.auth === "none" && !config.insecureNoAuth && !isLoopback(config.host)) {
    throw new ConfigError(
      FLAG("auth"),
      `'none' serves everyone as one account and is allowed only on a loopback --host, not ${config.host}: use --auth basic or firebase (or --insecure-no-auth)`,
    );
  }
  if (config.allowInput && config.auth === "none" && !isLoopback(config.host))
    throw new ConfigError(
      FLAG("allowInput"),
      `with --auth none on ${config.host} anyone who reaches the port would drive the desktop: use --auth basic or firebase`,
    );
  if (config.auth === "firebase" && !config.firebaseProject) throw new ConfigError(FLAG("firebaseProject"), "--auth firebase needs the Firebase project id");
  if (config.firebaseWebConfig && config.auth !== "firebase")
    throw new ConfigError(FLAG("firebaseWebConfig"), `is for --auth firebase, not --auth ${config.auth}`);
  return config;
}
