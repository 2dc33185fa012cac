#!/usr/bin/env node
/**
 * Entry file of `authts-htpasswd`: runs `main` and sets the exit code. The name printed in
 * messages is the name this file was invoked by (a symlink named `htpasswd` prints
 * `htpasswd:`, as Apache's tool prints its argv[0]).
 */
import { closePasswordWorkers } from '../passwords/crypt-pool.js';
import { main } from './htpasswd.js';
import { programName } from './program-name.js';

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  programName: programName(process.argv[1], 'authts-htpasswd'),
})
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`authts-htpasswd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
    },
  )
  .finally(() => closePasswordWorkers());
