/**
 * `tessera users add|remove|list`: manages users.json for `--auth basic`.
 * Passwords come from standard input (never argv, where `ps` shows them):
 * typed twice at a terminal with echo off, or the first line of a pipe.
 */
import { parseArgs } from "node:util";
import { ConfigError, DEFAULTS } from "../config.js";
import { UsersFile } from "./users-file.js";

/** Usage of the users command. */
export const USERS_USAGE = `Usage: tessera users add NAME [--password-stdin] [--data-dir DIR]
       tessera users remove NAME [--data-dir DIR]
       tessera users list [--data-dir DIR]

The password of 'add' is read from standard input (asked twice on a terminal).
--data-dir defaults to $TESSERA_DATA_DIR or ${DEFAULTS.dataDir}.
`;

/** Reads one line from stdin; on a terminal, without echo. */
async function readLine(prompt: string, stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream): Promise<string> {
  const tty = stdin.isTTY;
  if (tty) {
    stderr.write(prompt);
    stdin.setRawMode(true);
  }
  stdin.resume();
  let line = "";
  try {
    for await (const chunk of stdin) {
      for (const ch of String(chunk)) {
        if (ch === "\u0003") throw new Error("interrupted");
        if (ch === "\n" || ch === "\r") return line;
        line += ch === "\u007f" ? "" : ch;
        if (ch === "\u007f") line = line.slice(0, -1);
      }
    }
    return line;
  } finally {
    if (tty) {
      stdin.setRawMode(false);
      stderr.write("\n");
    }
    stdin.pause();
  }
}

/** Runs the users command; returns the exit code. */
export async function usersCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { "password-stdin": { type: "boolean" }, "data-dir": { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    throw new ConfigError("users", (err as Error).message);
  }
  const [verb, name, ...extra] = parsed.positionals;
  if (parsed.values.help || !verb) {
    io.stdout.write(USERS_USAGE);
    return parsed.values.help ? 0 : 2;
  }
  const users = new UsersFile(parsed.values["data-dir"] ?? (env.TESSERA_DATA_DIR || DEFAULTS.dataDir));
  if (extra.length > 0) throw new ConfigError("users", `unexpected ${JSON.stringify(extra[0])} (passwords are read from stdin, never from arguments)`);
  switch (verb) {
    case "list":
      for (const u of users.list()) io.stdout.write(u + "\n");
      return 0;
    case "add": {
      if (!name) throw new ConfigError("users add", "which user? tessera users add NAME");
      const password = await readLine(`password for ${name}: `, io.stdin, io.stderr);
      if (io.stdin.isTTY && !parsed.values["password-stdin"]) {
        if ((await readLine("again: ", io.stdin, io.stderr)) !== password) throw new ConfigError("users add", "the passwords differ");
      }
      const existed = users.has(name);
      try {
        await users.set(name, password);
      } catch (err) {
        throw new ConfigError("users add", (err as Error).message);
      }
      io.stderr.write(`${existed ? "changed the password of" : "added"} ${name} in ${users.path}\n`);
      return 0;
    }
    case "remove":
      if (!name) throw new ConfigError("users remove", "which user? tessera users remove NAME");
      if (!users.remove(name)) throw new ConfigError("users remove", `no user ${name} in ${users.path}`);
      io.stderr.write(`removed ${name}; their session tokens stop working at once\n`);
      return 0;
    default:
      throw new ConfigError("users", `unknown command ${JSON.stringify(verb)}; expected add, remove or list`);
  }
}
