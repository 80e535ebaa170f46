/** The server's --help text and README's option table, both made from the option table (options.ts). */
import { envNameOf, OPTION_KEYS, OPTIONS, type OptionKey } from "./options.js";

/** Flags that are not options of the configuration. */
const EXTRA_FLAGS: readonly { short: string; flag: string; arg?: string; env?: string; help: string }[] = [
  { short: "a", flag: "", help: "shorthand for `--auth basic`" },
  {
    short: "c",
    flag: "--config",
    arg: "FILE",
    env: "TESSERA_CONFIG",
    help: 'JSON object with any option above as a camelCase key (`port`, `iceHosts`, `turnSecret`, `iceServersFile`, `icePortRange` as `"40000-40999"`, …)',
  },
  { short: "h", flag: "--help", help: "print this help" },
];

/** The flag as written in docs: `-p, --port N`. */
function spelling(short: string | undefined, flag: string, arg: string | undefined): string {
  const long = flag ? `${flag}${arg ? ` ${arg}` : ""}` : "";
  return [short ? `-${short}` : "", long].filter(Boolean).join(", ");
}

/** An option's default as docs say it. */
function defaultText(key: OptionKey): string {
  const o: { default: unknown; defaultText?: string } = OPTIONS[key];
  if (o.defaultText !== undefined) return o.defaultText;
  return typeof o.default === "string" || typeof o.default === "number" ? (o.default === "" ? "" : `\`${o.default}\``) : "";
}

/** Text wrapped to `width` columns, each line indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}

const plain = (markdown: string) => markdown.replace(/`/g, "").replace(/\[([^\]]+)\]\([^)]*\)/g, "$1");

function usage(): string {
  const parts = ["Usage: tessera [options]", "       tessera users add|remove|list ...", "       tessera doctor", ""];
  for (const key of OPTION_KEYS) {
    const o: { short?: string; flag: string; arg?: string; list?: true; switch?: true } = OPTIONS[key];
    const def = plain(defaultText(key));
    const env = `${envNameOf(key)}${o.list ? " (comma-separated)" : o.switch ? " (true/false)" : ""}`;
    parts.push(`  ${o.short ? "" : "    "}${spelling(o.short, o.flag, o.arg)}${o.list ? " (repeatable)" : ""}`);
    parts.push(wrap(`${plain(OPTIONS[key].help)}${def ? ` (default ${def})` : ""}. Environment: ${env}.`, 80, "        "));
  }
  for (const x of EXTRA_FLAGS) {
    parts.push(`  ${spelling(x.short, x.flag, x.arg)}`);
    parts.push(wrap(`${plain(x.help)}${x.env ? `. Environment: ${x.env}.` : ""}`, 80, "        "));
  }
  parts.push(
    "",
    "Users (--auth basic), in --data-dir:",
    "  tessera users add NAME [--password-stdin]   the password is read from stdin",
    "  tessera users remove NAME",
    "  tessera users list",
    "",
    "Set-up:",
    "  tessera doctor           what each feature needs, what is missing here,",
    "                           and the command that installs it",
    "",
  );
  return parts.join("\n");
}

/** What `tessera --help` prints. */
export const USAGE = usage();

/** README's option table (between its header row and the line after it), one Markdown row per flag. */
export function optionsMarkdown(): string {
  const rows = ["| flag | environment | default | |", "|---|---|---|---|"];
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  for (const key of OPTION_KEYS) {
    const o: { short?: string; flag: string; arg?: string; list?: true; switch?: true } = OPTIONS[key];
    const flag = `${o.short ? `\`-${o.short}\`, ` : ""}\`${cell(`${o.flag}${o.arg ? ` ${o.arg}` : ""}`)}\`${o.list ? " (repeatable)" : ""}`;
    const env = `\`${envNameOf(key)}\`${o.list ? " (comma list)" : o.switch ? " (`true`/`false`)" : ""}`;
    rows.push(`| ${flag} | ${env} | ${cell(defaultText(key))} | ${cell(OPTIONS[key].help)} |`);
  }
  for (const x of EXTRA_FLAGS.filter((x) => x.flag !== "--help")) {
    const flag = [x.short ? `\`-${x.short}\`` : "", x.flag ? `\`${x.flag}${x.arg ? ` ${x.arg}` : ""}\`` : ""].filter(Boolean).join(", ");
    rows.push(`| ${flag} | ${x.env ? `\`${x.env}\`` : ""} | | ${cell(x.help)} |`);
  }
  // Empty cells as "| |", the way the table was written by hand.
  return rows.map((row) => row.replace(/\| {2}\|/g, "| |").replace(/\| {2}\|/g, "| |")).join("\n");
}

/** The option table as it stands in README's text, or undefined when README has none. */
export function readmeOptionsTable(readme: string): string | undefined {
  const start = readme.indexOf("| flag | environment | default | |");
  if (start < 0) return undefined;
  const end = readme.indexOf("\n\n", start);
  return readme.slice(start, end < 0 ? undefined : end);
}
