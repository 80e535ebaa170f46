/** Display formatting shared by the viewer's list and stats overlay. */

/** "video/vp8" → "VP8", "audio/opus" → "Opus". */
export function codecLabel(mimeType: string): string {
  const name = mimeType.split("/")[1] ?? mimeType;
  return name.toLowerCase() === "opus" ? "Opus" : name.toUpperCase();
}

/**
 * One value of a device `state` message, short enough for a chip, as people
 * read it: booleans are on/off, a fraction between 0 and 1 is a share
 * (a battery's 0.8 is "80%"), other numbers keep two decimals at most.
 */
export function stateValue(value: unknown): string {
  if (typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (value > 0 && value < 1) return `${Math.round(value * 100)}%`;
    return String(Math.round(value * 100) / 100);
  }
  if (typeof value === "string") return value.length > 40 ? `${value.slice(0, 39)}…` : value;
  if (Array.isArray(value)) return value.map(stateValue).join(", ");
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 39)}…` : json;
}

/** The fields of a device `state` message as [key, text] pairs, without `type`. */
export function stateEntries(message: Record<string, unknown>): [string, string][] {
  return Object.entries(message)
    .filter(([key]) => key !== "type")
    .map(([key, value]) => [key, stateValue(value)]);
}
