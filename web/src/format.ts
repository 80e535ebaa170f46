/** Display formatting shared by the viewer's list and stats overlay. */

/** "video/vp8" → "VP8", "audio/opus" → "Opus". */
export function codecLabel(mimeType: string): string {
  const name = mimeType.split("/")[1] ?? mimeType;
  return name.toLowerCase() === "opus" ? "Opus" : name.toUpperCase();
}
