/**
 * `text` parsed as JSON when it is an object (not an array or null), else
 * undefined: the first step of reading a message another party wrote.
 * Plain TypeScript: the server and the web app both compile it.
 */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof m === "object" && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : undefined;
}
