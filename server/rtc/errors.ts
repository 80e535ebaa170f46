/** werift sometimes rejects with strings; render either. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error's stack (else its message), for a warning about a throw that should not happen. */
export function errorStack(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
