#!/usr/bin/env node
import { closePasswordWorkers } from '../passwords/crypt-pool.js';
import { main as htdigest } from './htdigest.js';
import { main as htpasswd } from './htpasswd.js';
import { main } from './main.js';

// `authts htpasswd …` and `authts htdigest …` run the user-file tools with their own argv
// handling (Apache's getopt, not commander), so that `npx authts htpasswd` works wherever
// `npx authts` does; installed, the same tools are also `authts-htpasswd` and `authts-htdigest`.
const [command, ...rest] = process.argv.slice(2);
const tools = { htpasswd, htdigest } as const;
const tool = command === 'htpasswd' || command === 'htdigest' ? command : undefined;

const run = tool
  ? tools[tool](rest, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      programName: `authts ${tool}`,
    }).finally(() => closePasswordWorkers())
  : main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });

run.then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authts: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
