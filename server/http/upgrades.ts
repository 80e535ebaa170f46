/**
 * WebSocket upgrades as a route table: each route names a path and what to
 * do with the socket; the checks every upgrade passes first (who may open a
 * socket at all) are guards. The HTTP server's `upgrade` event goes here.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";

/** One WebSocket path. */
export interface UpgradeRoute {
  /** The path, with `:name` for one URI-encoded segment, e.g. `/ws/stream/:id`. */
  path: string;
  /** The upgraded socket, the path's decoded segments in order, and the request's URL. */
  open(ws: WebSocket, params: string[], url: URL, req: IncomingMessage): void;
}

/**
 * Closes sockets that stopped answering: every `timeoutMs / 2` each socket
 * on `wss` is pinged, and one that has not answered the previous ping is
 * terminated (its close event does the cleanup). Catches peers that
 * vanished without a FIN and clients that stopped reading (a paused socket
 * reads no ping). Returns the stop function.
 */
export function keepAlive(wss: WebSocketServer, timeoutMs: number, onDead: () => void = () => {}): () => void {
  const answered = new WeakMap<WebSocket, boolean>();
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (answered.get(ws) === false) {
        onDead();
        ws.terminate();
        continue;
      }
      if (!answered.has(ws)) ws.on("pong", () => answered.set(ws, true));
      answered.set(ws, false);
      ws.ping();
    }
  }, timeoutMs / 2);
  timer.unref();
  return () => clearInterval(timer);
}

/** A check every upgrade passes before its route: a refusal's status and text, or undefined to go on. */
export type UpgradeGuard = (req: IncomingMessage) => { status: 403 | 404 | 503; text: string } | undefined;

const STATUS_TEXT = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" } as const;

/** Ends a socket that will not be upgraded with a short plain-text HTTP answer. */
function refuse(socket: Duplex, status: keyof typeof STATUS_TEXT, text = ""): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${text}${text ? "\n" : ""}`);
}

/** A route's path as a regular expression capturing its segments. */
function compile(path: string): RegExp {
  const source = path
    .split("/")
    .map((part) => (part.startsWith(":") ? "([^/]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}$`);
}

/**
 * The `upgrade` listener for these routes: guards in order, then the first
 * route whose path matches (404 for none, 400 for a segment that does not
 * decode), upgraded on `wss`.
 */
export function upgradeRouter(wss: WebSocketServer, guards: readonly UpgradeGuard[], routes: readonly UpgradeRoute[]) {
  const table = routes.map((r) => ({ route: r, pattern: compile(r.path) }));
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node takes its own error listener off a socket it hands to 'upgrade': without one, a client
    // resetting the connection after its refusal (or during the handshake) would end the process.
    socket.on("error", () => socket.destroy());
    for (const guard of guards) {
      const refusal = guard(req);
      if (refusal) return refuse(socket, refusal.status, refusal.text);
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://x");
    } catch {
      // A request target such as `//a:b/ws` reads as an authority that is no URL.
      return refuse(socket, 400, "the request target is not a valid path");
    }
    for (const { route, pattern } of table) {
      const m = pattern.exec(url.pathname);
      if (!m) continue;
      let params: string[];
      try {
        params = m.slice(1).map(decodeURIComponent);
      } catch {
        return refuse(socket, 400, "a path segment is not valid percent-encoding");
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        // A protocol error (invalid UTF-8, a frame over maxPayload, reserved bits) is emitted as 'error', which
        // with no listener ends the process; ws closes the socket itself (1007, 1009, 1002) and each route's
        // close listener cleans up.
        ws.on("error", () => undefined);
        route.open(ws, params, url, req);
      });
      return;
    }
    refuse(socket, 404);
  };
}
