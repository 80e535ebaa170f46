#!/usr/bin/env node
// `npm run docs:options`: rewrites README's option table from the option table
// (server/options.ts, through the build). A test fails while they differ.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });
const { optionsMarkdown, readmeOptionsTable } = await import(pathToFileURL(join(root, "dist/server/usage.js")).href);
const readmePath = join(root, "README.md");
const readme = readFileSync(readmePath, "utf8");
const current = readmeOptionsTable(readme);
if (current === undefined) throw new Error("README.md has no option table (a row starting '| flag | environment |')");
writeFileSync(readmePath, readme.replace(current, optionsMarkdown()));
process.stdout.write(current === optionsMarkdown() ? "README's option table was up to date\n" : "README's option table rewritten\n");
