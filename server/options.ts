/**
 * Every server option, once: its flag, schema, default and help. The
 * command-line parser, the TESSERA_* environment names, the JSON config
 * keys, the `Config` type, `--help` and README's option table are all
 * derived from this table, so an option cannot be half-wired.
 */
import { z } from "zod";
import { LOG_LEVELS } from "./log.js";
import { flag, iceUri, integer, ipv4, limitList, originSchema, pictureSize, portRange, sourceList } from "./option-values.js";
import { ACCOUNT_LIMIT_DEFAULTS, LIMIT_NAMES, NODE_LIMIT_DEFAULTS } from "./limits.js";

export type { SourceSpec } from "./option-values.js";

/** One option. */
export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  flag: `--${string}`;
  /** A one-letter alias, e.g. "p" for -p. */
  short?: string;
  /** Repeatable on the command line; a comma list in the environment. */
  list?: true;
  /** A flag without a value (on when given); true/false in the environment and the config file. */
  switch?: true;
  /** What the value looks like in --help and README, e.g. "ADDR". */
  arg?: string;
  schema: S;
  default: z.input<S>;
  /** The default as docs say it when the value alone says little ("every interface"); "" shows nothing. */
  defaultText?: string;
  /** What it does, for --help and README (Markdown backticks allowed). */
  help: string;
}

const option = <S extends z.ZodType>(spec: OptionSpec<S>): OptionSpec<S> => spec;

/** The options, in the order --help and README list them. */
export const OPTIONS = {
  host: option({
    flag: "--host",
    short: "i",
    arg: "ADDR",
    schema: z.string().min(1, "expected a host name or address"),
    default: "127.0.0.1",
    help: "address to listen on",
  }),
  port: option({ flag: "--port", short: "p", arg: "N", schema: integer("an integer", 0, 65535), default: 8080, help: "port (0 = any free port)" }),
  source: option({
    flag: "--source",
    arg: "test|x11[:DISPLAY]|v4l2[:DEV]|none",
    list: true,
    schema: sourceList,
    default: ["test"],
    defaultText: "`test`",
    help: "the server's own devices: `test` is the built-in test device; `x11:DISPLAY` captures an X display (`x11` alone: `$DISPLAY`), repeatable, each display a device `x11-N` (see [Host mode](#host-mode)); `v4l2:/dev/videoN` a camera, device `v4l2-N`; `none` publishes nothing",
  }),
  sourceCodec: option({ flag: "--source-codec", arg: "vp8|h264", schema: z.enum(["vp8", "h264"]), default: "vp8", help: "the video codec of those devices" }),
  sourceEncoder: option({
    flag: "--source-encoder",
    arg: "auto|software",
    schema: z.enum(["auto", "software"]),
    default: "auto",
    help: "H.264 for `x11` sources: `auto` uses NVENC (`nvh264enc`), else VA-API (`vah264enc`) when GStreamer has them, else x264; `software` is always x264",
  }),
  sourceFps: option({
    flag: "--source-fps",
    arg: "N",
    schema: integer("frames per second", 1, 60),
    default: 30,
    help: "the highest frame rate of `x11` sources (fewer when the screen is still); viewers may ask for less",
  }),
  sourceBitrate: option({
    flag: "--source-bitrate",
    arg: "KBPS",
    schema: integer("kbit/s", 100, 100_000),
    default: 4000,
    help: "the highest video bitrate of `x11` sources, kbit/s; viewers may ask for less",
  }),
  sourceAccount: option({
    flag: "--source-account",
    arg: "NAME",
    schema: z.string().max(128, "expected at most 128 characters"),
    default: "",
    defaultText: "the local account",
    help: "the account the server's own devices belong to with `--auth basic` (a user name) or `firebase` (a uid); with `--auth none` they belong to the one local account, and otherwise without it they are not published",
  }),
  adminAccounts: option({
    flag: "--admin-account",
    arg: "NAME",
    list: true,
    schema: z.array(z.string().min(1).max(128, "expected at most 128 characters")),
    default: [],
    defaultText: "none (with `--auth none`, the one local account)",
    help: "an account (a user name with `--auth basic`, a uid with `firebase`) that may see the cluster's nodes and their load (`GET /api/cluster`); repeatable",
  }),
  allowInput: option({
    flag: "--allow-input",
    switch: true,
    schema: flag,
    default: false,
    defaultText: "off",
    help: "inject the controlling viewer's pointer, keys and clipboard into `x11` displays (XTEST); refused with `--auth none` on a non-loopback `--host`",
  }),
  audio: option({
    flag: "--audio",
    arg: "none|pulse",
    schema: z.enum(["none", "pulse"]),
    default: "none",
    help: "sound of `x11` displays: `pulse` captures what the desktop plays (the default PulseAudio/PipeWire sink's monitor; `PULSE_SERVER` picks the server) as Opus, and plays the controller's talk-back on the desktop",
  }),
  allowResize: option({
    flag: "--allow-resize",
    switch: true,
    schema: flag,
    default: false,
    defaultText: "off",
    help: "let the controlling viewer resize `x11` displays to its player (RandR: Xvnc and Xorg can; Xvfb only shrinks); the stream follows without a reconnect",
  }),
  sourceMotion: option({
    flag: "--source-motion",
    arg: "moving|still",
    schema: z.enum(["moving", "still"]),
    default: "moving",
    help: "its picture: a moving ball, or a still screen with a ticking clock",
  }),
  sourceSimulcast: option({
    flag: "--source-simulcast",
    arg: "on|off",
    schema: z.enum(["on", "off"]),
    default: "on",
    help: "the test device and `x11` displays (with VP8) also offer a half- and a quarter-size layer, each encoded only while a viewer's size or bandwidth calls for it",
  }),
  iceHosts: option({
    flag: "--ice-host",
    arg: "ADDR",
    list: true,
    schema: z.array(ipv4),
    default: [],
    defaultText: "every interface",
    help: "the only host addresses the server's peers gather and bind",
  }),
  logLevel: option({ flag: "--log-level", arg: "LEVEL", schema: z.enum(LOG_LEVELS), default: "info", help: "`debug`, `info`, `warn`, `error`, `silent`" }),
  controlIdleSeconds: option({
    flag: "--control-idle",
    arg: "S",
    schema: integer("seconds", 1, 86400),
    default: 300,
    help: "seconds without input before a controlling viewer loses control",
  }),
  socketTimeoutSeconds: option({
    flag: "--socket-timeout",
    arg: "S",
    schema: integer("seconds", 2, 3600),
    default: 30,
    help: "a WebSocket (signaling, fallback stream, ingest) that answers no ping for S seconds is closed (pings go every S/2; browsers answer them by themselves); an HTTP request must send its headers within S/3 seconds and all of it within S",
  }),
  inputRate: option({
    flag: "--input-rate",
    arg: "N",
    schema: integer("lines per second", 2, 100000),
    default: 500,
    help: "input lines per second per viewer; bursts of N/2 pass",
  }),
  stunUris: option({
    flag: "--stun-uri",
    arg: "URI",
    list: true,
    schema: z.array(iceUri),
    default: [],
    defaultText: "none",
    help: "STUN servers handed to clients",
  }),
  turnUris: option({
    flag: "--turn-uri",
    arg: "URI",
    list: true,
    schema: z.array(iceUri),
    default: [],
    defaultText: "none",
    help: "TURN servers handed to clients, e.g. `turn:turn.example.org:3478?transport=udp`",
  }),
  turnSecret: option({
    flag: "--turn-secret",
    arg: "S",
    schema: z.string(),
    default: "",
    help: "coturn's `static-auth-secret` (`use-auth-secret`): each account gets a credential `<expiry>:<account>` / `base64(HMAC-SHA1(secret, username))`",
  }),
  turnTtlSeconds: option({ flag: "--turn-ttl", arg: "S", schema: integer("seconds", 60, 604800), default: 86400, help: "lifetime of those credentials" }),
  iceServersFile: option({
    flag: "--ice-servers-file",
    arg: "F",
    schema: z.string(),
    default: "",
    help: 'JSON iceServers (`[{urls, username?, credential?}]` or `{"iceServers": [...]}`) for clients and the server\'s peers; re-read when it changes (a bad edit keeps the last good list); a symlink or a world-writable file is refused',
  }),
  turnRestUrl: option({
    flag: "--turn-rest-url",
    arg: "URL",
    schema: z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "expected an http(s) URL" })]),
    default: "",
    help: "a TURN REST service, asked `GET URL?service=turn&username=<account>&key=<key>` for `{username, password, ttl, uris}`; cached per account and refreshed at half its ttl; when it fails, still-valid credentials are served",
  }),
  turnRestKey: option({ flag: "--turn-rest-key", arg: "K", schema: z.string(), default: "", help: "the key for `--turn-rest-url`" }),
  icePortRange: option({
    flag: "--ice-port-range",
    arg: "A-B",
    schema: portRange,
    default: undefined,
    defaultText: "any",
    help: "UDP ports the server's peers bind (for firewalls)",
  }),
  publicIp: option({
    flag: "--public-ip",
    arg: "ADDR",
    schema: z.union([z.literal(""), ipv4]),
    default: "",
    help: "address written into the server's host candidates (a host behind 1:1 NAT)",
  }),
  iceInterfaces: option({
    flag: "--ice-interface",
    arg: "NAME",
    list: true,
    schema: z.array(z.string().regex(/^[\w.:@-]{1,32}$/, "expected an interface name such as eth0")),
    default: [],
    defaultText: "every interface",
    help: "the IPv4 addresses of these interfaces join `--ice-host`",
  }),
  metricsToken: option({ flag: "--metrics-token", arg: "T", schema: z.string(), default: "", help: "`GET /metrics` then needs `Authorization: Bearer T`" }),
  fallbackQuality: option({
    flag: "--fallback-quality",
    arg: "Q",
    schema: integer("a JPEG quality", 1, 100),
    default: 40,
    help: "JPEG quality of WebSocket fallback stripes",
  }),
  fallbackPaintOverQuality: option({
    flag: "--fallback-paint-over-quality",
    arg: "Q",
    schema: integer("a JPEG quality", 1, 100),
    default: 90,
    help: "quality of the one re-send of a stripe that stopped changing",
  }),
  fallbackStripeHeight: option({
    flag: "--fallback-stripe-height",
    arg: "N",
    schema: z.coerce
      .number({ error: "expected rows" })
      .int("expected whole rows")
      .refine((n) => n === 0 || (n >= 16 && n <= 1024 && n % 16 === 0), "expected 0 (automatic) or a multiple of 16 from 16 to 1024"),
    default: 0,
    defaultText: "`0` (automatic)",
    help: "rows per stripe, a multiple of 16; automatic is 64 for JPEG (taller above 1536 rows) and at most 8 stripes for H.264",
  }),
  fallbackMaxFps: option({
    flag: "--fallback-max-fps",
    arg: "N",
    schema: integer("frames per second", 1, 60),
    default: 30,
    help: "the most frames per second a fallback viewer gets, whatever its `SETTINGS` ask",
  }),
  transcode: option({
    flag: "--transcode",
    arg: "on|off",
    schema: z.enum(["on", "off"]),
    default: "on",
    help: "a WebRTC viewer whose browser cannot decode a device's video (Firefox without H.264) gets it as VP8, transcoded once per device while such viewers watch; `off` leaves those viewers to the WebSocket stream",
  }),
  playoutDelay: option({
    flag: "--playout-delay",
    arg: "auto|browser",
    schema: z.enum(["auto", "browser"]),
    default: "auto",
    help: "auto: a WebRTC viewer's browser shows each video frame as soon as it is decoded while the viewer's link is clean (no NACK for 10 s; longer each time it was not), and buffers as it likes otherwise (the playout-delay header extension, where the browser takes it); browser: always as it likes",
  }),
  maxFrameBytes: option({
    flag: "--max-frame-bytes",
    arg: "N",
    schema: integer("bytes", 1024, 64 * 1024 * 1024),
    default: 4 * 1024 * 1024,
    help: "the largest JPEG a frame device may push",
  }),
  maxFrameSize: option({
    flag: "--max-frame-size",
    arg: "WxH",
    schema: pictureSize,
    default: "4096x4096",
    help: "the largest picture the server decodes: a frame device's JPEG (read from its header), and a WebRTC device's VP8 keyframe or H.264 SPS when the fallback or a transcoder decodes it (read from the RTP payload), before any decoder allocates (a few bytes may claim 16000x16000); decoded pictures larger than this are dropped too",
  }),
  snapshotTtl: option({
    flag: "--snapshot-ttl",
    arg: "S",
    schema: integer("seconds", 1, 604800),
    default: 600,
    help: "lifetime of a signed snapshot URL when the request names none",
  }),
  snapshotMaxTtl: option({
    flag: "--snapshot-max-ttl",
    arg: "S",
    schema: integer("seconds", 1, 604800),
    default: 86400,
    help: "the longest lifetime a snapshot request may ask for",
  }),
  auth: option({
    flag: "--auth",
    arg: "none|basic|firebase",
    schema: z.enum(["none", "basic", "firebase"]),
    default: "none",
    help: "who may use the server: `none` is one local account and is allowed only on a loopback `--host`; `basic` is users in `<data-dir>/users.json` with HTTP Basic (`-a` for short); `firebase` is Firebase ID tokens (see [Sign-in](#sign-in))",
  }),
  insecureNoAuth: option({
    flag: "--insecure-no-auth",
    switch: true,
    schema: flag,
    default: false,
    defaultText: "off",
    help: "allow `--auth none` on a non-loopback `--host` (a loud warning at start)",
  }),
  dataDir: option({
    flag: "--data-dir",
    arg: "DIR",
    schema: z.string().min(1, "expected a directory"),
    default: "./data",
    help: "`users.json`, device keys (`tessera.db`), the token and snapshot secrets and snapshots; created 0700, files written atomically 0600",
  }),
  firebaseProject: option({
    flag: "--firebase-project",
    arg: "ID",
    schema: z.union([z.literal(""), z.string().regex(/^[a-z0-9][a-z0-9-]{3,62}$/, "expected a Firebase project id such as my-project-123")]),
    default: "",
    help: "the Firebase project whose ID tokens `--auth firebase` accepts",
  }),
  firebaseCheckRevoked: option({
    flag: "--firebase-check-revoked",
    switch: true,
    schema: flag,
    default: false,
    defaultText: "off",
    help: "also refuse revoked ID tokens (asks Firebase on each check; needs `GOOGLE_APPLICATION_CREDENTIALS`)",
  }),
  firebaseWebConfig: option({
    flag: "--firebase-web-config",
    arg: "FILE",
    schema: z.string(),
    default: "",
    help: 'the Firebase project\'s web config as JSON (`{"apiKey", "authDomain", "projectId"}`, other keys ignored; `projectId` must be `--firebase-project`): the pages sign in with e-mail and password through the Firebase JS SDK (see [Sign-in](#sign-in)); without it they ask for an ID token. Only with `--auth firebase`',
  }),
  allowedOrigins: option({
    flag: "--allowed-origins",
    arg: "URL",
    list: true,
    schema: z.array(originSchema(false)),
    default: [],
    defaultText: "none",
    help: "origins besides the server's own whose pages may open its WebSockets, call WHIP/WHEP and change things (sessions, keys, frames, snapshots)",
  }),
  trustProxy: option({
    flag: "--trust-proxy",
    switch: true,
    schema: flag,
    default: false,
    defaultText: "off",
    help: "behind a reverse proxy: the client address (the sign-in rate limit) is the last `X-Forwarded-For` entry, the one the proxy added, and the scheme and host of generated links come from `X-Forwarded-Proto`/`-Host`. Without it these headers are ignored",
  }),
  publicUrl: option({
    flag: "--public-url",
    arg: "URL",
    schema: originSchema(true),
    default: "",
    help: "the origin links handed to outside services start with (signed snapshot URLs), e.g. `https://stream.example.org`; default the request's own",
  }),
  tlsCert: option({
    flag: "--tls-cert",
    arg: "FILE",
    schema: z.string(),
    default: "",
    help: "serve HTTPS and WSS on the same port with this PEM certificate (chain) and `--tls-key`; both files are re-read when they change (a renewal), and a pair that does not load keeps the previous one",
  }),
  tlsKey: option({ flag: "--tls-key", arg: "FILE", schema: z.string(), default: "", help: "the PEM private key of `--tls-cert`" }),
  limits: option({
    flag: "--limit",
    arg: "NAME=N",
    list: true,
    schema: limitList(NODE_LIMIT_DEFAULTS),
    default: [],
    defaultText: LIMIT_NAMES.map((n) => `\`${n}=${NODE_LIMIT_DEFAULTS[n]}\``).join(", "),
    help: "the most this node serves at once, over all accounts (`0`: no limit): `devices` publishing, WebRTC `viewers`, `fallback-viewers` (WebSocket streams), `whip` (WHIP and WHEP sessions), `pipelines` started for viewers, pushed `frames` per second. Beyond it a request is refused with `limit` (HTTP 503, close code 4429); see [Limits](#limits)",
  }),
  accountLimits: option({
    flag: "--account-limit",
    arg: "NAME=N",
    list: true,
    schema: limitList(ACCOUNT_LIMIT_DEFAULTS),
    default: [],
    defaultText: "none",
    help: "the same limits for each account on this node (HTTP 429 beyond them), e.g. `--account-limit devices=20 --account-limit pipelines=4`",
  }),
  redis: option({
    flag: "--redis",
    arg: "URL",
    schema: z.string().superRefine((s, ctx) => {
      if (s !== "" && !/^rediss?:\/\/[^\s]+$/.test(s)) ctx.addIssue({ code: "custom", message: "expected a Redis URL such as redis://127.0.0.1:6379" });
    }),
    default: "",
    defaultText: "off",
    help: "join a cluster of Tessera nodes that share this Redis server (see [Clusters](#clusters)): a viewer reaches a device on any node, relayed from the node that holds it. Without it the node runs alone",
  }),
  nodeUrl: option({
    flag: "--node-url",
    arg: "URL",
    schema: originSchema(true),
    default: "",
    defaultText: "this node's --host and port",
    help: "with `--redis`: the origin other nodes reach this node at (relay legs), e.g. `http://10.0.0.5:8080`; needed when `--host` is a wildcard address",
  }),
  display: option({
    flag: "--display",
    short: "d",
    switch: true,
    schema: flag,
    default: false,
    defaultText: "off",
    help: "name the dashboard (`/grid.html`: every device's latest picture in a grid, refreshed each second) in the log and open it in the desktop's browser (`xdg-open`) when there is a desktop",
  }),
} as const;

/** An option's key, which is also its camelCase key in a JSON config file. */
export type OptionKey = keyof typeof OPTIONS;

/** Every option key, in table order. */
export const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];

/** The TESSERA_* environment variable of an option: its flag in capitals. */
export function envNameOf(key: OptionKey): string {
  return `TESSERA_${OPTIONS[key].flag.slice(2).toUpperCase().replace(/-/g, "_")}`;
}

/** The schemas as a zod object shape (a typed mapValues over the table). */
function shape<T extends Record<string, { schema: z.ZodType }>>(table: T): { [K in keyof T]: T[K]["schema"] } {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.schema])) as { [K in keyof T]: T[K]["schema"] };
}

/** The whole configuration's schema. */
export const CONFIG_SCHEMA = z.object(shape(OPTIONS)).strict();

/** The server's configuration, parsed once and frozen (lists too). */
export type Config = Readonly<z.infer<typeof CONFIG_SCHEMA>>;
