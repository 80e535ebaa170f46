import { readFileSync } from "node:fs";

/**
 * Reads and parses a JSON file an operator edits (the iceServers file, the
 * users file). A syntax error names the file and where it is, never the
 * file's text: it may hold secrets (TURN credentials, password hashes), and
 * the message reaches the log.
 */
export function readJsonFile(path: string): unknown {
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new Error(`${path}: not JSON${text.trim() === "" ? " (the file is empty)" : at ? ` (at character ${at})` : ""}`, { cause: err });
  }
}
