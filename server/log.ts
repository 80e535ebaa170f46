/** A small leveled logger writing one line per event to stderr. */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields attached to a log line; `err` is rendered as its message. */
export type LogFields = Record<string, unknown>;

/** The logger interface every module takes. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that prefixes every line with `scope`. */
  child(scope: string): Logger;
}

function render(fields: LogFields | undefined): string {
  if (!fields) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const value = v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v);
    parts.push(`${k}=${value}`);
  }
  return parts.length ? " " + parts.join(" ") : "";
}

/** Creates a logger that drops lines below `level`. */
export function createLogger(level: LogLevel, scope = "tessera", write = (line: string) => process.stderr.write(line + "\n")): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (l: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(l) < threshold) return;
    write(`${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} [${scope}] ${msg}${render(fields)}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (s) => createLogger(level, `${scope}:${s}`, write),
  };
}
