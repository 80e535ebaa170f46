/**
 * Reading GStreamer launch descriptions back: which element factories a
 * description names. The set-up test and the start-up preflight use it, so
 * the list of elements Tessera needs is always derived from the descriptions
 * themselves, never kept as a copy.
 */

/** Splits a launch description into tokens at white space outside double quotes, with `!` a token of its own. */
function tokens(description: string): string[] {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  const flush = () => {
    if (current) out.push(current);
    current = "";
  };
  for (let i = 0; i < description.length; i++) {
    const c = description[i];
    if (c === "\\" && quoted && i + 1 < description.length) {
      current += c + description[++i];
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (!quoted && (c === " " || c === "\t" || c === "\n")) {
      flush();
    } else if (!quoted && c === "!") {
      flush();
      out.push("!");
    } else {
      current += c;
    }
  }
  if (quoted) throw new Error("unbalanced quote in pipeline description");
  flush();
  return out;
}

/** An element factory name as gst-launch syntax writes it (not caps, a property or a `name.` pad reference). */
const FACTORY = /^[a-z0-9][a-z0-9_-]*$/i;

/**
 * The element factories a launch description uses, in order of first use,
 * each once. Properties (`a=b`), caps (`video/x-raw,...`), links (`!`) and
 * references to named elements (`mux.`) are not elements.
 */
export function elementsOf(description: string): string[] {
  const seen = new Set<string>();
  for (const token of tokens(description)) {
    if (token === "!" || token.includes("=") || !FACTORY.test(token)) continue;
    seen.add(token);
  }
  return [...seen];
}
