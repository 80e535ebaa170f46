/**
 * A bench's command line, read the same way by every bench: `--help` (or
 * `-h`) prints the usage and exits 0; an option parseArgs does not know, or
 * a value `read` refuses (it throws an Error naming the option), prints the
 * message and the usage and exits 2, instead of a stack trace.
 */
export function benchOptions<T>(name: string, usage: string, read: () => T): T {
  const line = `usage: npm run ${name} -- ${usage}\n`;
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(line);
    process.exit(0);
  }
  try {
    return read();
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n${line}`);
    process.exit(2);
  }
}
