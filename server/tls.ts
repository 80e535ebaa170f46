import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Server } from "node:https";
import { ConfigError } from "./config.js";

/** The certificate and key files, read now; a ConfigError names the one that cannot be read. */
export function readTls(certPath: string, keyPath: string): { cert: Buffer; key: Buffer } {
  const read = (path: string, option: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(option, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read(certPath, "--tls-cert"), key: read(keyPath, "--tls-key") };
}

/**
 * Re-reads the certificate and key when either file changes (renewals), and
 * swaps them into the running server for new connections. A pair that does
 * not load (a half-written renewal, a key that does not match) is reported
 * and the old one kept. Returns a function that stops watching.
 */
export function watchTls(
  server: Server,
  certPath: string,
  keyPath: string,
  log: { info(m: string): void; warn(m: string, f?: object): void },
  intervalMs = 1000,
): () => void {
  const reload = () => {
    try {
      server.setSecureContext(readTls(certPath, keyPath));
      log.info("TLS certificate reloaded");
    } catch (err) {
      log.warn("TLS certificate not reloaded; keeping the previous one", { err: (err as Error).message });
    }
  };
  // Polling, not fs.watch: renewals often replace the files by rename, and two files change one after the other.
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 200);
  };
  watchFile(certPath, { interval: intervalMs, persistent: false }, changed);
  watchFile(keyPath, { interval: intervalMs, persistent: false }, changed);
  return () => {
    clearTimeout(timer);
    unwatchFile(certPath, changed);
    unwatchFile(keyPath, changed);
  };
}
