import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigError } from "../config.js";
import { createLogger, LOG_LEVELS } from "../log.js";
import { ID_PATTERN, ID_RULE } from "../protocol/messages.js";
import { DesktopAgent, signalingUrl, type AgentOptions } from "./agent.js";

export const AGENT_USAGE = `usage: tessera agent --server URL (--key-file FILE | TESSERA_AGENT_KEY=tk_…) [options]

Publishes this desktop's X display to a Tessera server as a device: the screen
over WebRTC, the controlling viewer's input injected (with --allow-input),
cursor shapes and the clipboard both ways. Reconnects by itself.

  --server URL         the server, https://host[:port] (or ws(s)://host/ws)
  --key-file FILE      a file holding the device key (tk_…) the server's account
                       assigned; or the key in TESSERA_AGENT_KEY (--key works
                       too, but shows the key to every user in the process list)
  --display D          the X display (default $DISPLAY, else :0)
  --id ID              the device id (default <hostname>-<display number>)
  --name NAME          the name viewers see (default "<hostname> :N")
  --codec vp8|h264     video codec (default vp8)
  --encoder auto|software   H.264 encoder rule, as --source-encoder (default auto)
  --fps N              highest frame rate, 1-60 (default 30)
  --bitrate KBPS       video bitrate, 100-100000 (default 4000)
  --allow-input        inject the controlling viewer's pointer, keys and clipboard
  --allow-resize       resize the display to the controlling viewer's player (RandR)
  --audio none|pulse   the desktop's sound (PulseAudio/PipeWire: the default sink's
                       monitor) and the controller's talk-back (default none)
  --log-level LEVEL    debug, info, warn, error (default info)
`;

const ArgsSchema = z.object({
  server: z.string({ error: "is required" }).refine((s) => {
    try {
      signalingUrl(s);
      return true;
    } catch {
      return false;
    }
  }, "expected http(s)://host[:port] or ws(s)://host[:port]/ws"),
  display: z.string().regex(/^:\d{1,4}(\.\d{1,2})?$/, "expected a local display such as :0"),
  id: z.string().regex(ID_PATTERN, `${ID_RULE}`),
  name: z.string().min(1).max(128, "at most 128 characters"),
  codec: z.enum(["vp8", "h264"], { error: "expected vp8 or h264" }),
  encoder: z.enum(["auto", "software"], { error: "expected auto or software" }),
  fps: z.coerce.number().int().min(1, "expected 1-60").max(60, "expected 1-60"),
  bitrate: z.coerce.number().int().min(100, "expected 100-100000").max(100_000, "expected 100-100000"),
  logLevel: z.enum(LOG_LEVELS, { error: "expected debug, info, warn or error" }),
  audio: z.enum(["none", "pulse"], { error: "expected none or pulse" }),
});

/** Parses `tessera agent` arguments (and TESSERA_AGENT_KEY) into agent options; throws ConfigError with the reason. */
export function agentOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Omit<AgentOptions, "log"> & { logLevel: (typeof LOG_LEVELS)[number] } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: "string" },
        key: { type: "string" },
        "key-file": { type: "string" },
        display: { type: "string" },
        id: { type: "string" },
        name: { type: "string" },
        codec: { type: "string" },
        encoder: { type: "string" },
        fps: { type: "string" },
        bitrate: { type: "string" },
        "allow-input": { type: "boolean" },
        "allow-resize": { type: "boolean" },
        audio: { type: "string" },
        "log-level": { type: "string" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new ConfigError("arguments", (err as Error).message);
  }
  const display = values.display ?? env.DISPLAY ?? ":0";
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "") || "desktop";
  const number = display.replace(/^:/, "").replace(".", "-");
  const parsed = ArgsSchema.safeParse({
    server: values.server,
    display,
    id: values.id ?? `${host}-${number}`.slice(0, 64),
    name: values.name ?? `${host} ${display}`,
    codec: values.codec ?? "vp8",
    encoder: values.encoder ?? "auto",
    fps: values.fps ?? 30,
    bitrate: values.bitrate ?? 4000,
    logLevel: values["log-level"] ?? "info",
    audio: values.audio ?? "none",
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, issue.message);
  }
  let key = values.key ?? env.TESSERA_AGENT_KEY;
  if (values["key-file"]) {
    try {
      key = readFileSync(values["key-file"], "utf8").trim();
    } catch (err) {
      throw new ConfigError("--key-file", `cannot read it: ${(err as Error).message}`);
    }
  }
  if (!key) throw new ConfigError("--key-file", "a device key is required: --key-file FILE or TESSERA_AGENT_KEY");
  if (!/^tk_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/.test(key))
    throw new ConfigError("--key-file", "the device key does not look like one (tk_ followed by 12 hex digits, a dot and 43 characters)");
  const a = parsed.data;
  return {
    server: a.server,
    key,
    display: a.display,
    id: a.id,
    name: a.name,
    codec: a.codec,
    encoderPolicy: a.encoder,
    fps: a.fps,
    bitrateKbps: a.bitrate,
    allowInput: values["allow-input"] ?? false,
    allowResize: values["allow-resize"] ?? false,
    audio: a.audio === "pulse",
    logLevel: a.logLevel,
  };
}

/** `tessera agent …`: runs until SIGINT/SIGTERM; returns the exit status for bad arguments. */
export function agentCommand(argv: string[]): number | undefined {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  const { logLevel, ...options } = agentOptions(argv);
  const agent = new DesktopAgent({
    ...options,
    log: createLogger(logLevel, "agent"),
    onRefused: () => {
      process.exitCode = 1;
      // The capture's threadpool pulls and werift's timers do not end by themselves.
      setTimeout(() => process.exit(1), 200).unref();
    },
  });
  agent.start();
  const stop = () => {
    agent.close();
    // The capture's threadpool pulls and werift's timers do not end by themselves.
    setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return undefined;
}
