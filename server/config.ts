import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { z } from "zod";
import { invalidIceUri } from "../turn/ice-config.js";
import { LOG_LEVELS, type LogLevel } from "./log.js";

/** The server's configuration, parsed once and frozen. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly source: "test" | "none";
  /** Codec of the built-in test device. */
  readonly sourceCodec: "vp8" | "h264";
  /** The test device's picture: a moving ball, or a still screen with a ticking clock. */
  readonly sourceMotion: "moving" | "still";
  /** Host addresses the server's peers gather; empty = every interface. */
  readonly iceHosts: readonly string[];
  readonly logLevel: LogLevel;
  /** Seconds a controlling viewer may stay idle before control is freed. */
  readonly controlIdleSeconds: number;
  /** Input lines per second one viewer may send, sustained; bursts of half that pass too. */
  readonly inputRate: number;
  /** stun: URIs handed to clients. */
  readonly stunUris: readonly string[];
  /** turn:/turns: URIs handed to clients with credentials minted from turnSecret. */
  readonly turnUris: readonly string[];
  /** coturn's static-auth-secret (use-auth-secret); empty = no TURN. */
  readonly turnSecret: string;
  /** Lifetime of minted TURN credentials, seconds. */
  readonly turnTtlSeconds: number;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  readonly metricsToken: string;
  /** JPEG quality of fallback stripes. */
  readonly fallbackQuality: number;
  /** JPEG quality of a still stripe's paint-over. */
  readonly fallbackPaintOverQuality: number;
  /** Rows per fallback stripe, a multiple of 16; 0 = chosen from the frame size. */
  readonly fallbackStripeHeight: number;
  /** Highest frame rate a fallback viewer may ask for. */
  readonly fallbackMaxFps: number;
  /** Largest pushed JPEG frame, bytes. */
  readonly maxFrameBytes: number;
  /** Lifetime of a snapshot URL when the request names none, seconds. */
  readonly snapshotTtl: number;
  /** The longest lifetime a snapshot URL may ask for, seconds. */
  readonly snapshotMaxTtl: number;
  /** A JSON file of iceServers for clients and the server's peers; "" = none. */
  readonly iceServersFile: string;
  /** A TURN REST service (`?service=turn&username=&key=`); "" = none. */
  readonly turnRestUrl: string;
  /** The key the TURN REST service expects. */
  readonly turnRestKey: string;
  /** UDP ports the server's peers bind, inclusive; undefined = any. */
  readonly icePortRange: readonly [number, number] | undefined;
  /** Address advertised in the server's host candidates (1:1 NAT); "" = the real one. */
  readonly publicIp: string;
  /** Network interfaces whose IPv4 addresses the server's peers use; empty = all. */
  readonly iceInterfaces: readonly string[];
  /** Who may use the server: one local account, a users file with HTTP Basic, or Firebase ID tokens. */
  readonly auth: "none" | "basic" | "firebase";
  /** Allow `--auth none` on an address other than loopback. */
  readonly insecureNoAuth: boolean;
  /** Behind a reverse proxy: the client address comes from X-Forwarded-For (one hop), scheme and host from X-Forwarded-Proto/-Host. */
  readonly trustProxy: boolean;
  /** The origin outside links (snapshot URLs) use, e.g. https://stream.example.org; empty = the request's own. */
  readonly publicUrl: string;
  /** Open the dashboard (every device's live picture in a grid) once listening. */
  readonly display: boolean;
  /** PEM certificate chain and key: serve HTTPS and WSS on the same port; "" = plain HTTP. */
  readonly tlsCert: string;
  readonly tlsKey: string;
  /** Where users.json and the session-token secret live. */
  readonly dataDir: string;
  /** The Firebase project whose ID tokens are accepted; "" = none. */
  readonly firebaseProject: string;
  /** Ask Firebase whether an ID token was revoked (one request per new token). */
  readonly firebaseCheckRevoked: boolean;
  /** A JSON file with the Firebase web config ({apiKey, authDomain, projectId}) the pages sign in with; "" = they take a pasted token. */
  readonly firebaseWebConfig: string;
  /** Origins, besides the server's own, whose pages may open WebSockets here. */
  readonly allowedOrigins: readonly string[];
}

/** Defaults a new user meets. */
export const DEFAULTS: Config = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  source: "test",
  sourceCodec: "vp8",
  sourceMotion: "moving",
  iceHosts: Object.freeze([]) as readonly string[],
  logLevel: "info",
  controlIdleSeconds: 300,
  inputRate: 500,
  stunUris: Object.freeze([]) as readonly string[],
  turnUris: Object.freeze([]) as readonly string[],
  turnSecret: "",
  turnTtlSeconds: 86400,
  metricsToken: "",
  fallbackQuality: 40,
  fallbackPaintOverQuality: 90,
  fallbackStripeHeight: 0,
  fallbackMaxFps: 30,
  maxFrameBytes: 4 * 1024 * 1024,
  snapshotTtl: 600,
  snapshotMaxTtl: 86400,
  iceServersFile: "",
  turnRestUrl: "",
  turnRestKey: "",
  icePortRange: undefined,
  publicIp: "",
  iceInterfaces: Object.freeze([]) as readonly string[],
  auth: "none",
  insecureNoAuth: false,
  trustProxy: false,
  publicUrl: "",
  display: false,
  tlsCert: "",
  tlsKey: "",
  dataDir: "./data",
  firebaseProject: "",
  firebaseCheckRevoked: false,
  firebaseWebConfig: "",
  allowedOrigins: Object.freeze([]) as readonly string[],
});

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

const iceUri = z.string().superRefine((s, ctx) => {
  const why = invalidIceUri(s);
  if (why) ctx.addIssue({ code: "custom", message: why });
});
const flag = z.union([z.boolean(), z.enum(["1", "true", "yes", "0", "false", "no"])], { error: "expected true or false" }).transform((v) => v === true || v === "1" || v === "true" || v === "yes");
/** An origin (scheme, host, optional port); with `allowEmpty`, "" too (the option unset). */
const originSchema = (allowEmpty: boolean) => z.string().transform((s, ctx) => {
  if (allowEmpty && s === "") return "";
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch {
    // reported below
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== s.replace(/\/$/, "").toLowerCase()) {
    ctx.addIssue({ code: "custom", message: "expected an origin such as https://app.example.org (scheme, host, optional port; no path)" });
    return z.NEVER;
  }
  return url.origin;
});
const origin = originSchema(false);
const ipv4 = z.string().refine((s) => isIP(s) === 4, "expected an IPv4 address");
const schemas = {
  host: z.string().min(1, "expected a host name or address"),
  port: z.coerce.number({ error: "expected an integer" }).int("expected an integer").min(0, "expected 0-65535").max(65535, "expected 0-65535"),
  source: z.enum(["test", "none"]),
  sourceCodec: z.enum(["vp8", "h264"]),
  sourceMotion: z.enum(["moving", "still"]),
  iceHosts: z.array(ipv4),
  logLevel: z.enum(LOG_LEVELS),
  controlIdleSeconds: z.coerce.number({ error: "expected a number of seconds" }).int("expected whole seconds").min(1, "expected 1-86400").max(86400, "expected 1-86400"),
  inputRate: z.coerce.number({ error: "expected lines per second" }).int("expected whole lines per second").min(2, "expected 2-100000").max(100000, "expected 2-100000"),
  stunUris: z.array(iceUri),
  turnUris: z.array(iceUri),
  turnSecret: z.string(),
  turnTtlSeconds: z.coerce.number({ error: "expected seconds" }).int("expected whole seconds").min(60, "expected 60-604800").max(604800, "expected 60-604800"),
  metricsToken: z.string(),
  fallbackQuality: z.coerce.number({ error: "expected a JPEG quality" }).int("expected 1-100").min(1, "expected 1-100").max(100, "expected 1-100"),
  fallbackPaintOverQuality: z.coerce.number({ error: "expected a JPEG quality" }).int("expected 1-100").min(1, "expected 1-100").max(100, "expected 1-100"),
  fallbackStripeHeight: z.coerce
    .number({ error: "expected rows" })
    .int("expected whole rows")
    .refine((n) => n === 0 || (n >= 16 && n <= 1024 && n % 16 === 0), "expected 0 (automatic) or a multiple of 16 from 16 to 1024"),
  snapshotTtl: z.coerce.number({ error: "expected seconds" }).int("expected whole seconds").min(1, "expected 1-604800").max(604800, "expected 1-604800"),
  snapshotMaxTtl: z.coerce.number({ error: "expected seconds" }).int("expected whole seconds").min(1, "expected 1-604800").max(604800, "expected 1-604800"),
  maxFrameBytes: z.coerce.number({ error: "expected bytes" }).int("expected whole bytes").min(1024, "expected 1024-67108864").max(64 * 1024 * 1024, "expected 1024-67108864"),
  fallbackMaxFps: z.coerce.number({ error: "expected frames per second" }).int("expected 1-60").min(1, "expected 1-60").max(60, "expected 1-60"),
  iceServersFile: z.string(),
  turnRestUrl: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "expected an http(s) URL" })]),
  turnRestKey: z.string(),
  icePortRange: z
    .union([z.string(), z.tuple([z.number(), z.number()])])
    .transform((v, ctx) => {
      const m = typeof v === "string" ? /^(\d+)-(\d+)$/.exec(v) : ["", String(v[0]), String(v[1])];
      const [min, max] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
      if (!(min >= 1024 && max <= 65535 && min <= max && Number.isInteger(min) && Number.isInteger(max))) {
        ctx.addIssue({ code: "custom", message: "expected MIN-MAX with 1024 <= MIN <= MAX <= 65535" });
        return z.NEVER;
      }
      return Object.freeze([min, max]) as readonly [number, number];
    }),
  publicIp: z.union([z.literal(""), ipv4]),
  iceInterfaces: z.array(z.string().regex(/^[\w.:@-]{1,32}$/, "expected an interface name such as eth0")),
  auth: z.enum(["none", "basic", "firebase"]),
  insecureNoAuth: flag,
  trustProxy: flag,
  publicUrl: originSchema(true),
  display: flag,
  tlsCert: z.string(),
  tlsKey: z.string(),
  dataDir: z.string().min(1, "expected a directory"),
  firebaseProject: z.union([z.literal(""), z.string().regex(/^[a-z0-9][a-z0-9-]{3,62}$/, "expected a Firebase project id such as my-project-123")]),
  firebaseCheckRevoked: flag,
  firebaseWebConfig: z.string(),
  allowedOrigins: z.array(origin),
} as const;

/** Options that take several values (repeated flags, comma lists in the environment). */
const LISTS = new Set(["iceHosts", "stunUris", "turnUris", "iceInterfaces", "allowedOrigins"]);

type Key = keyof typeof schemas;
const FLAG: Record<Key, string> = {
  host: "--host",
  port: "--port",
  source: "--source",
  sourceCodec: "--source-codec",
  sourceMotion: "--source-motion",
  iceHosts: "--ice-host",
  logLevel: "--log-level",
  controlIdleSeconds: "--control-idle",
  inputRate: "--input-rate",
  stunUris: "--stun-uri",
  turnUris: "--turn-uri",
  turnSecret: "--turn-secret",
  turnTtlSeconds: "--turn-ttl",
  metricsToken: "--metrics-token",
  fallbackQuality: "--fallback-quality",
  fallbackPaintOverQuality: "--fallback-paint-over-quality",
  fallbackStripeHeight: "--fallback-stripe-height",
  fallbackMaxFps: "--fallback-max-fps",
  maxFrameBytes: "--max-frame-bytes",
  snapshotTtl: "--snapshot-ttl",
  snapshotMaxTtl: "--snapshot-max-ttl",
  iceServersFile: "--ice-servers-file",
  turnRestUrl: "--turn-rest-url",
  turnRestKey: "--turn-rest-key",
  icePortRange: "--ice-port-range",
  publicIp: "--public-ip",
  iceInterfaces: "--ice-interface",
  auth: "--auth",
  insecureNoAuth: "--insecure-no-auth",
  trustProxy: "--trust-proxy",
  publicUrl: "--public-url",
  display: "--display",
  tlsCert: "--tls-cert",
  tlsKey: "--tls-key",
  dataDir: "--data-dir",
  firebaseProject: "--firebase-project",
  firebaseCheckRevoked: "--firebase-check-revoked",
  firebaseWebConfig: "--firebase-web-config",
  allowedOrigins: "--allowed-origins",
};
const ENV: Record<Key, string> = {
  host: "TESSERA_HOST",
  port: "TESSERA_PORT",
  source: "TESSERA_SOURCE",
  sourceCodec: "TESSERA_SOURCE_CODEC",
  sourceMotion: "TESSERA_SOURCE_MOTION",
  iceHosts: "TESSERA_ICE_HOST",
  logLevel: "TESSERA_LOG_LEVEL",
  controlIdleSeconds: "TESSERA_CONTROL_IDLE",
  inputRate: "TESSERA_INPUT_RATE",
  stunUris: "TESSERA_STUN_URI",
  turnUris: "TESSERA_TURN_URI",
  turnSecret: "TESSERA_TURN_SECRET",
  turnTtlSeconds: "TESSERA_TURN_TTL",
  metricsToken: "TESSERA_METRICS_TOKEN",
  fallbackQuality: "TESSERA_FALLBACK_QUALITY",
  fallbackPaintOverQuality: "TESSERA_FALLBACK_PAINT_OVER_QUALITY",
  fallbackStripeHeight: "TESSERA_FALLBACK_STRIPE_HEIGHT",
  fallbackMaxFps: "TESSERA_FALLBACK_MAX_FPS",
  maxFrameBytes: "TESSERA_MAX_FRAME_BYTES",
  snapshotTtl: "TESSERA_SNAPSHOT_TTL",
  snapshotMaxTtl: "TESSERA_SNAPSHOT_MAX_TTL",
  iceServersFile: "TESSERA_ICE_SERVERS_FILE",
  turnRestUrl: "TESSERA_TURN_REST_URL",
  turnRestKey: "TESSERA_TURN_REST_KEY",
  icePortRange: "TESSERA_ICE_PORT_RANGE",
  publicIp: "TESSERA_PUBLIC_IP",
  iceInterfaces: "TESSERA_ICE_INTERFACE",
  auth: "TESSERA_AUTH",
  insecureNoAuth: "TESSERA_INSECURE_NO_AUTH",
  trustProxy: "TESSERA_TRUST_PROXY",
  publicUrl: "TESSERA_PUBLIC_URL",
  display: "TESSERA_DISPLAY",
  tlsCert: "TESSERA_TLS_CERT",
  tlsKey: "TESSERA_TLS_KEY",
  dataDir: "TESSERA_DATA_DIR",
  firebaseProject: "TESSERA_FIREBASE_PROJECT",
  firebaseCheckRevoked: "TESSERA_FIREBASE_CHECK_REVOKED",
  firebaseWebConfig: "TESSERA_FIREBASE_WEB_CONFIG",
  allowedOrigins: "TESSERA_ALLOWED_ORIGINS",
};

/** Whether a listen address reaches only this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return /^::ffff:127\./.test(h);
}

function check<K extends Key>(key: K, value: unknown, origin: string): z.infer<(typeof schemas)[K]> {
  const result = schemas[key].safeParse(value);
  if (!result.success) {
    throw new ConfigError(origin, `${result.error.issues[0].message}, got ${JSON.stringify(value)}`);
  }
  return result.data as z.infer<(typeof schemas)[K]>;
}

/**
 * Builds the configuration from, in rising precedence: defaults, the JSON
 * config file, TESSERA_* environment variables, command-line flags.
 * Returns "help" when --help was asked for. Throws ConfigError.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string", short: "i" },
        port: { type: "string", short: "p" },
        source: { type: "string" },
        "source-codec": { type: "string" },
        "source-motion": { type: "string" },
        "ice-host": { type: "string", multiple: true },
        "log-level": { type: "string" },
        "control-idle": { type: "string" },
        "input-rate": { type: "string" },
        "stun-uri": { type: "string", multiple: true },
        "turn-uri": { type: "string", multiple: true },
        "turn-secret": { type: "string" },
        "turn-ttl": { type: "string" },
        "metrics-token": { type: "string" },
        "fallback-quality": { type: "string" },
        "fallback-paint-over-quality": { type: "string" },
        "fallback-stripe-height": { type: "string" },
        "fallback-max-fps": { type: "string" },
        "max-frame-bytes": { type: "string" },
        "snapshot-ttl": { type: "string" },
        "snapshot-max-ttl": { type: "string" },
        "ice-servers-file": { type: "string" },
        "turn-rest-url": { type: "string" },
        "turn-rest-key": { type: "string" },
        "ice-port-range": { type: "string" },
        "public-ip": { type: "string" },
        "ice-interface": { type: "string", multiple: true },
        auth: { type: "string" },
        "insecure-no-auth": { type: "boolean" },
        "trust-proxy": { type: "boolean" },
        "public-url": { type: "string" },
        "auth-basic": { type: "boolean", short: "a" },
        display: { type: "boolean", short: "d" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "data-dir": { type: "string" },
        "firebase-project": { type: "string" },
        "firebase-check-revoked": { type: "boolean" },
        "firebase-web-config": { type: "string" },
        "allowed-origins": { type: "string", multiple: true },
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new ConfigError("arguments", (err as Error).message);
  }
  const flags = parsed.values;
  if (flags.help) return "help";

  const out: Record<string, unknown> = { ...DEFAULTS };
  const file = flags.config ?? env.TESSERA_CONFIG;
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new ConfigError("--config", `cannot read ${file}: ${(err as Error).message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ConfigError("--config", `${file} must hold a JSON object`);
    for (const [k, v] of Object.entries(json)) {
      if (!(k in schemas)) throw new ConfigError("--config", `unknown key '${k}' in ${file}`);
      out[k] = check(k as Key, v, `${file}: ${k}`);
    }
  }
  for (const key of Object.keys(schemas) as Key[]) {
    const raw = env[ENV[key]];
    if (raw === undefined || raw === "") continue;
    out[key] = check(key, LISTS.has(key) ? raw.split(",").map((s) => s.trim()) : raw, ENV[key]);
  }
  const cli: Record<Key, unknown> = {
    host: flags.host,
    port: flags.port,
    source: flags.source,
    sourceCodec: flags["source-codec"],
    sourceMotion: flags["source-motion"],
    iceHosts: flags["ice-host"],
    logLevel: flags["log-level"],
    controlIdleSeconds: flags["control-idle"],
    inputRate: flags["input-rate"],
    stunUris: flags["stun-uri"],
    turnUris: flags["turn-uri"],
    turnSecret: flags["turn-secret"],
    turnTtlSeconds: flags["turn-ttl"],
    metricsToken: flags["metrics-token"],
    fallbackQuality: flags["fallback-quality"],
    fallbackPaintOverQuality: flags["fallback-paint-over-quality"],
    fallbackStripeHeight: flags["fallback-stripe-height"],
    fallbackMaxFps: flags["fallback-max-fps"],
    maxFrameBytes: flags["max-frame-bytes"],
    snapshotTtl: flags["snapshot-ttl"],
    snapshotMaxTtl: flags["snapshot-max-ttl"],
    iceServersFile: flags["ice-servers-file"],
    turnRestUrl: flags["turn-rest-url"],
    turnRestKey: flags["turn-rest-key"],
    icePortRange: flags["ice-port-range"],
    publicIp: flags["public-ip"],
    iceInterfaces: flags["ice-interface"],
    auth: flags.auth,
    insecureNoAuth: flags["insecure-no-auth"],
    trustProxy: flags["trust-proxy"],
    publicUrl: flags["public-url"],
    display: flags.display,
    tlsCert: flags["tls-cert"],
    tlsKey: flags["tls-key"],
    dataDir: flags["data-dir"],
    firebaseProject: flags["firebase-project"],
    firebaseCheckRevoked: flags["firebase-check-revoked"],
    firebaseWebConfig: flags["firebase-web-config"],
    allowedOrigins: flags["allowed-origins"],
  };
  if (flags["auth-basic"]) {
    if (flags.auth !== undefined && flags.auth !== "basic") throw new ConfigError("-a", `-a means --auth basic, but --auth ${flags.auth} was given too`);
    cli.auth = "basic";
  }
  for (const key of Object.keys(schemas) as Key[]) {
    if (cli[key] !== undefined) out[key] = check(key, cli[key], FLAG[key]);
  }
  const lists = Object.fromEntries([...LISTS].map((k) => [k, Object.freeze([...(out[k] as string[])])]));
  if ((out.snapshotTtl as number) > (out.snapshotMaxTtl as number)) throw new ConfigError(FLAG.snapshotTtl, `${out.snapshotTtl} is longer than --snapshot-max-ttl ${out.snapshotMaxTtl}`);
  if (Boolean(out.tlsCert) !== Boolean(out.tlsKey)) throw new ConfigError(out.tlsCert ? FLAG.tlsKey : FLAG.tlsCert, "--tls-cert and --tls-key go together");
  if (out.turnRestUrl && !out.turnRestKey) throw new ConfigError(FLAG.turnRestKey, "--turn-rest-url needs the service's key");
  if (out.auth === "none" && !out.insecureNoAuth && !isLoopback(out.host as string)) {
    throw new ConfigError(
      FLAG.auth,
      `'none' serves everyone as one account and is allowed only on a loopback --host, not ${out.host as string}: use --auth basic or firebase (or --insecure-no-auth)`,
    );
  }
  if (out.auth === "firebase" && !out.firebaseProject) throw new ConfigError(FLAG.firebaseProject, "--auth firebase needs the Firebase project id");
  if (out.firebaseWebConfig && out.auth !== "firebase") throw new ConfigError(FLAG.firebaseWebConfig, `is for --auth firebase, not --auth ${out.auth as string}`);
  return Object.freeze({ ...out, ...lists }) as unknown as Config;
}
