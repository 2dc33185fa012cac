/**
 * `authts-htpasswd --check`: what is wrong or weak in a user file, line by line.
 */
import { argon2Params, bcryptCost, hashKind, shaCryptParams } from '../passwords/hash-kind.js';
import { SHA_CRYPT_ROUNDS_MAX, SHA_CRYPT_ROUNDS_MIN } from '../passwords/sha-crypt.js';
import { MAX_STRING_LEN } from '../providers/cfg-getline.js';

/** The kinds of finding, from "httpd cannot use this line" to "this works but is weak". */
export type FindingKind = 'malformed' | 'duplicate' | 'weak' | 'unusable' | 'unsupported';

/** One finding: 1-based physical line, kind, and a sentence for people. */
export interface UserFileFinding {
  readonly line: number;
  readonly kind: FindingKind;
  readonly user: string | undefined;
  readonly message: string;
}

/** Options of {@link checkUserFileText}. */
export interface CheckOptions {
  /** bcrypt costs below this are reported as weak (default 10; htpasswd's default is 5). */
  readonly minBcryptCost?: number;
}

const WELL_FORMED: Partial<Record<ReturnType<typeof hashKind>, RegExp>> = {
  apr1: /^\$apr1\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/,
  md5: /^\$1\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/,
  bcrypt: /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/,
  sha256: /^\$5\$(rounds=\d+\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{43}$/,
  sha512: /^\$6\$(rounds=\d+\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{86}$/,
  des: /^[./0-9A-Za-z]{13}$/,
  sha1: /^\{SHA\}[A-Za-z0-9+/]{27}=$/,
};
// htdigest records: an MD5 HA1 (htdigest), or a SHA-256 one (`authts-htdigest --sha256`).
const DIGEST_RE = /^[^:]*:[^:]*:(?:[0-9a-f]{32}|[0-9a-f]{64})$/;

/**
 * Checks the text of an htpasswd (or htdigest) file and reports, with line numbers:
 *
 * - `malformed`: a line (not blank, not `#`) without `:`, with an empty user name, or a line of
 *   8191 bytes or more (httpd stops reading the file there);
 * - `duplicate`: a second record of a user (httpd uses the first; htpasswd rewrites all);
 * - `unusable`: an empty hash, plain text (never verifies in httpd on Linux), `*0`-style crypt
 *   failure tokens, or a hash of a known format that is not well-formed;
 * - `weak`: DES crypt (8 characters, 12-bit salt), `{SHA}` (unsalted SHA-1), bcrypt below
 *   `minBcryptCost`;
 * - `unsupported`: a format httpd's crypt() knows but authts cannot verify (yescrypt…).
 *
 * `$apr1$`/`$1$` (htpasswd's default) and SHA-crypt at 5000 rounds are not reported; argon2 and
 * htdigest records (`user:realm:md5hex`, or 64 hex digits of SHA-256) are accepted as they are.
 *
 * @example
 * ```ts
 * checkUserFileText('alice:{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=\nalice:x\n');
 * // [{ line: 1, kind: 'weak', … }, { line: 2, kind: 'duplicate', … }]
 * ```
 */
export function checkUserFileText(text: string, options: CheckOptions = {}): UserFileFinding[] {
  const minCost = options.minBcryptCost ?? 10;
  const findings: UserFileFinding[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const report = (kind: FindingKind, user: string | undefined, message: string): void => {
      findings.push({ line, kind, user, message });
    };
    if (Buffer.byteLength(raw) >= MAX_STRING_LEN - 1) {
      report('malformed', undefined, `line of ${Buffer.byteLength(raw)} bytes: httpd stops reading the file here`);
      return;
    }
    const trimmed = raw.replace(/^[ \t\v\f\r]+|[ \t\v\f\r]+$/g, '');
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const colon = trimmed.indexOf(':');
    if (colon < 0) {
      report('malformed', undefined, "no ':' — not a user:hash record (Apache's htpasswd refuses to edit this file)");
      return;
    }
    const user = trimmed.slice(0, colon);
    if (user === '') {
      report('malformed', user, 'empty user name');
      return;
    }
    const rest = trimmed.slice(colon + 1);
    const digest = DIGEST_RE.test(trimmed);
    const key = digest ? `${user}:${rest.slice(0, rest.indexOf(':'))}` : user;
    const first = firstLine.get(key);
    if (first !== undefined) {
      report('duplicate', user, `duplicate record for ${digest ? `user "${user}" in realm "${key.slice(user.length + 1)}"` : `user "${user}"`} (first on line ${first}; httpd uses that one)`);
      return;
    }
    firstLine.set(key, line);
    if (digest) return;
    const hash = rest.split(':')[0] ?? '';
    const problem = hashProblem(hash, minCost);
    if (problem) report(problem.kind, user, `user "${user}": ${problem.message}`);
  });
  return findings;
}

function hashProblem(hash: string, minCost: number): { kind: FindingKind; message: string } | undefined {
  if (hash === '') return { kind: 'unusable', message: 'empty hash: this user can never log in' };
  const kind = hashKind(hash);
  const wellFormed = WELL_FORMED[kind];
  if (wellFormed && !wellFormed.test(hash)) return { kind: 'unusable', message: `malformed ${kind} hash: it never verifies` };
  switch (kind) {
    case 'plain':
      return /^\*/.test(hash)
        ? { kind: 'unusable', message: `"${hash}" is a crypt() failure token, not a hash (e.g. htpasswd -r with rounds out of range)` }
        : { kind: 'unusable', message: 'plain text (htpasswd -p): never verifies in httpd on Linux' };
    case 'des':
      return { kind: 'weak', message: 'DES crypt (htpasswd -d): only 8 characters count; use bcrypt or SHA-512' };
    case 'sha1':
      return { kind: 'weak', message: '{SHA} (htpasswd -s): unsalted SHA-1; use bcrypt or SHA-512' };
    case 'bcrypt': {
      const cost = bcryptCost(hash) ?? 0;
      return cost < minCost ? { kind: 'weak', message: `bcrypt cost ${cost} is below ${minCost}` } : undefined;
    }
    case 'sha256':
    case 'sha512': {
      const { rounds } = shaCryptParams(hash);
      return rounds !== undefined && (rounds < SHA_CRYPT_ROUNDS_MIN || rounds > SHA_CRYPT_ROUNDS_MAX)
        ? { kind: 'unusable', message: `rounds=${rounds} is outside ${SHA_CRYPT_ROUNDS_MIN}..${SHA_CRYPT_ROUNDS_MAX}: httpd (libxcrypt) refuses it` }
        : undefined;
    }
    case 'argon2':
      return argon2Params(hash) ? undefined : { kind: 'unusable', message: 'malformed argon2 hash: it never verifies' };
    case 'unsupported':
      return { kind: 'unsupported', message: 'a crypt() format authts cannot verify (httpd can)' };
    default:
      return undefined;
  }
}
