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
  return chip(valueText(value, 0));
}

/** Text cut to a chip's 40 characters. */
function chip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/**
 * stateValue's text before it is cut; `depth` arrays deep. A device may
 * nest a value thousands deep: arrays past the second level and objects
 * JSON cannot write out (the stack runs out) show as an ellipsis.
 */
function valueText(value: unknown, depth: number): string {
  if (typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    if (value > 0 && value < 1) return `${Math.round(value * 100)}%`;
    return String(Math.round(value * 100) / 100);
  }
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    return depth >= 2
      ? "[…]"
      : value
          .slice(0, 10)
          .map((v) => valueText(v, depth + 1))
          .join(", ");
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return "{…}";
  }
}

/** The fields of a device `state` message as [key, text] pairs, without `type`. */
export function stateEntries(message: Record<string, unknown>): [string, string][] {
  return Object.entries(message)
    .filter(([key]) => key !== "type")
    .map(([key, value]) => [key, stateValue(value)]);
}
