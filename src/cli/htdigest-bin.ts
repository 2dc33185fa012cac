#!/usr/bin/env node
/**
 * Entry file of `authts-htdigest`: runs `main` and sets the exit code (see htpasswd-bin.ts for
 * the program name).
 */
import { main } from './htdigest.js';
import { programName } from './program-name.js';

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  programName: programName(process.argv[1], 'authts-htdigest'),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authts-htdigest: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
