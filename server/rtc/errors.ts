/** werift sometimes rejects with strings; render either. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
