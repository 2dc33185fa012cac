import type { Writable } from 'node:stream';
import { checkUserFileText } from '../userfile/check.js';

/**
 * The `--check` report of `authts htpasswd` and `authts htdigest`: one `file:line: kind: message`
 * line per finding on stdout, a count on stderr; true when the file has no problems.
 */
export function reportCheck(file: string, text: string, prog: string, io: { readonly stdout: Writable; readonly stderr: Writable }): boolean {
  const findings = checkUserFileText(text);
  for (const f of findings) io.stdout.write(`${file}:${f.line}: ${f.kind}: ${f.message}\n`);
  if (findings.length === 0) {
    io.stdout.write(`${file}: no problems found\n`);
    return true;
  }
  io.stderr.write(`${prog}: ${findings.length} problem${findings.length === 1 ? '' : 's'} in ${file}\n`);
  return false;
}
