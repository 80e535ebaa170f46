import { CLOSE_CODES, type ErrorCode } from "./protocol/messages.js";

/**
 * The one error type the server raises on purpose. `code` is what clients
 * see on the wire, `status` is the HTTP status, `expose` says whether the
 * message may be shown to the client as written.
 */
export class TesseraError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly expose = true,
    /** HTTP headers the answer carries, e.g. a WWW-Authenticate challenge or Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "TesseraError";
  }
}

/** The request or message is malformed. */
export const badRequest = (message: string) => new TesseraError("bad_request", message, 400);
/** The thing asked for does not exist for this caller (or is not theirs). */
export const notFound = (message: string) => new TesseraError("not_found", message, 404);
/** The caller is not authenticated; `challenge` becomes the HTTP WWW-Authenticate header. */
export const unauthorized = (message: string, challenge?: string) =>
  new TesseraError("unauthorized", message, 401, true, challenge ? { "WWW-Authenticate": challenge } : {});
/** Too many attempts; try again after `retryAfterS` seconds. */
export const rateLimited = (message: string, retryAfterS: number) =>
  new TesseraError("rate_limited", message, 429, true, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterS))) });
/** The caller may not do this. */
export const forbidden = (message: string) => new TesseraError("forbidden", message, 403);
/** Someone else holds the resource. */
export const busy = (message: string) => new TesseraError("busy", message, 409);
/** The request is understood but not supported (e.g. a codec). */
export const unsupported = (message: string) => new TesseraError("unsupported", message, 422);

/** Why writing to the data directory failed, by the error's code (Node's errno codes, SQLite's result codes). */
function storageTrouble(code: string): "full" | "read-only" | "not writable" | "failing" | undefined {
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return "full";
  if (code === "EROFS" || code === "SQLITE_READONLY" || code.startsWith("SQLITE_READONLY_")) return "read-only";
  if (code === "EACCES" || code === "EPERM" || code === "SQLITE_CANTOPEN") return "not writable";
  if (code === "EIO" || code.startsWith("SQLITE_IOERR")) return "failing";
  return undefined;
}

/**
 * A failed write to the data directory as the error a client sees
 * (`storage`: 507 when it is full, 503 otherwise), saying what was not
 * stored; undefined when `err` is no storage failure.
 */
export function storageError(err: unknown, what: string): TesseraError | undefined {
  const raw = (err as { code?: unknown } | null)?.code;
  const code = typeof raw === "string" ? raw : "";
  const trouble = storageTrouble(code);
  if (!trouble) return undefined;
  return new TesseraError("storage", `the server's data directory is ${trouble} (${code}): ${what} was not stored`, trouble === "full" ? 507 : 503, true, {
    "Retry-After": "60",
  });
}

/** Runs a write to the data directory; a storage failure becomes storageError's `storage` error, anything else is thrown as it is. */
export function storing<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw storageError(err, what) ?? err;
  }
}

/** A body or message beyond the configured size. */
export const tooLarge = (message: string) => new TesseraError("too_large", message, 413);

/** The longest error message a client is shown, characters: one naming what the client sent (an id of 3,000 characters) is cut. */
export const MAX_CLIENT_MESSAGE_CHARS = 400;

function clipped(message: string): string {
  return message.length <= MAX_CLIENT_MESSAGE_CHARS ? message : `${message.slice(0, MAX_CLIENT_MESSAGE_CHARS - 1)}…`;
}

/** The code of a 4xx status another library answered with (http-errors, as koa-send throws for a malicious path). */
function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 409:
      return "busy";
    case 413:
      return "too_large";
    case 415:
    case 422:
      return "unsupported";
    case 429:
      return "rate_limited";
    default:
      return "bad_request";
  }
}

/**
 * Maps any thrown value to what a client may see. A library's client error
 * (http-errors: a 4xx `status` with `expose`) keeps its status and message;
 * anything else unknown becomes `internal`.
 */
export function toClientError(err: unknown): { code: ErrorCode; message: string; status: number; headers: Readonly<Record<string, string>> } {
  if (err instanceof TesseraError) {
    return { code: err.code, message: err.expose ? clipped(err.message) : "request failed", status: err.status, headers: err.headers };
  }
  const { status, expose, message } = (err ?? {}) as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof status === "number" && status >= 400 && status < 500 && expose === true) {
    return { code: codeOfStatus(status), message: typeof message === "string" ? clipped(message) : "request refused", status, headers: {} };
  }
  return { code: "internal", message: "internal error", status: 500, headers: {} };
}

/** A WebSocket close reason: at most 123 bytes of UTF-8 (RFC 6455), cut on a character boundary. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= 123) return text;
  let out = "";
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > 123) break;
    out += ch;
  }
  return out;
}

/** The WebSocket close code for an error that ends a connection. */
export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case "unauthorized":
      return CLOSE_CODES.unauthorized;
    case "forbidden":
      return CLOSE_CODES.forbidden;
    case "busy":
      return CLOSE_CODES.busy;
    case "not_found":
      return CLOSE_CODES.notFound;
    case "limit":
      return CLOSE_CODES.limit;
    default:
      return CLOSE_CODES.protocolError;
  }
}

/** The WebSocket close code for a connection whose device key was taken away (see EvictReason). */
export function closeCodeForEviction(reason: "released" | "revoked" | "replaced"): number {
  if (reason === "revoked") return CLOSE_CODES.forbidden;
  if (reason === "replaced") return CLOSE_CODES.busy;
  return CLOSE_CODES.keyReleased;
}
