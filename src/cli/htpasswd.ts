/**
 * `authts-htpasswd`: Apache's `htpasswd` 2.4.71, argument for argument, message for message and
 * exit code for exit code — with files rewritten atomically under a lock, user names that
 * cannot break the file, no unusable hashes, `--argon2` and `--check`.
 */
import { access, constants, readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { AuthTsError } from '../errors.js';
import { createHash, BCRYPT_COST_DEFAULT, BCRYPT_COST_MAX, BCRYPT_COST_MIN, type HashFormat } from '../passwords/create.js';
import { hashKind } from '../passwords/hash-kind.js';
import { SHA_CRYPT_ROUNDS_MAX, SHA_CRYPT_ROUNDS_MIN } from '../passwords/sha-crypt.js';
import { verifyPassword } from '../passwords/verify.js';
import { resolveUserFilePath, updateFileAtomically } from '../userfile/atomic.js';
import { reportCheck } from './check-report.js';
import { editHtpasswd, htpasswdPieces } from '../userfile/htpasswd-lines.js';
import { AprGetopt } from './apr-getopt.js';
import { PasswordInput, runPasswordTool, ToolExit, type TerminalOpener } from './getpass.js';

/** Streams and environment of one run of `authts-htpasswd` / `authts-htdigest`. */
export interface HtToolIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** argv[0] as the Apache tool would print it (default `htpasswd` / `htdigest`). */
  readonly programName?: string;
  /** The terminal prompts use (default: the controlling terminal, when there is one). */
  readonly openTerminal?: TerminalOpener;
  /** How long to wait for another writer's lock (default 30 s). */
  readonly lockTimeoutMs?: number;
}

/**
 * htpasswd's exit codes (support/passwd_common.h); docs/cli.md says when each is used.
 *
 * @example
 * ```ts
 * if ((await main(argv, io)) === HTPASSWD_EXIT.PWMISMATCH) console.error('wrong password');
 * ```
 */
export const HTPASSWD_EXIT = {
  OK: 0,
  FILEPERM: 1,
  SYNTAX: 2,
  PWMISMATCH: 3,
  INTERRUPTED: 4,
  OVERFLOW: 5,
  BADUSER: 6,
  INVALID: 7,
  RANDOM: 8,
  GENERAL: 9,
  ALG_NOT_SUPP: 10,
} as const;
const E = HTPASSWD_EXIT;

const NEWFILE = 1;
const NOFILE = 2;
const DELUSER = 4;
const VERIFY = 8;

/** htpasswd's MAX_STRING_LEN: user names, passwords and records must stay below it. */
const MAX_STRING_LEN = 256;
/** APR_PATH_MAX on Linux. */
const PATH_MAX = 4096;

const USAGE = `Usage:
\thtpasswd [-cimB25dpsDv] [-C cost] [-r rounds] passwordfile username
\thtpasswd -b[cmB25dpsDv] [-C cost] [-r rounds] passwordfile username password

\thtpasswd -n[imB25dps] [-C cost] [-r rounds] username
\thtpasswd -nb[mB25dps] [-C cost] [-r rounds] username password
 -c  Create a new file.
 -n  Don't update file; display results on stdout.
 -b  Use the password from the command line rather than prompting for it.
 -i  Read password from stdin without verification (for script usage).
 -m  Force MD5 hashing of the password (default).
 -2  Force SHA-256 hashing of the password (secure).
 -5  Force SHA-512 hashing of the password (secure).
 -B  Force bcrypt hashing of the password (very secure).
 -C  Set the computing time used for the bcrypt algorithm
     (higher is more secure but slower, default: 5, valid: 4 to 17).
 -r  Set the number of rounds used for the SHA-256, SHA-512 algorithms
     (higher is more secure but slower, default: 5000).
 -d  Force CRYPT hashing of the password (8 chars max, insecure).
 -s  Force SHA-1 hashing of the password (insecure).
 -p  Do not hash the password (plaintext, insecure).
 -D  Delete the specified user.
 -v  Verify password for the specified user.
On other systems than Windows and NetWare the '-p' flag will probably not work.
The SHA-1 algorithm does not use a salt and is less secure than the MD5 algorithm.
`;

const HELP_EXTRA = `
authts extensions (Apache's htpasswd has none of these):
 --argon2  Hash with argon2id (the argon2 library's defaults: m=65536 KiB, t=3, p=4).
           authts verifies these hashes; Apache httpd cannot.
 --check   Report malformed lines, duplicate users and weak or unusable hashes of
           passwordfile with line numbers: htpasswd --check passwordfile
 --help    This text.
Files are rewritten atomically (temp file, fsync, rename) under the lock passwordfile.lock;
their mode and owner are kept. User names with CR, LF or NUL are refused, and so are
-C/-r values that would store a hash nobody can verify.

Exit codes: 0 success; 1 file cannot be read, created, locked or written; 2 command line
error; 3 passwords differ, -v verification failed, or the hash cannot be computed;
4 interrupted; 5 user name, password, file name or record too long; 6 bad user name, or
-v of an absent user; 7 invalid file (a line without ':', an empty hash with -v;
--check found problems); 9 -v could not verify.
`;

const LONG_OPTIONS: ReadonlySet<string> = new Set(['--argon2', '--check', '--help']);

/** What an algorithm flag selects. */
type Algorithm = HashFormat;

/**
 * Runs `authts-htpasswd` with `argv` (without argv[0]); resolves to the exit code. Never calls
 * `process.exit`; the entry file does. See docs/cli.md for every flag and exit code.
 *
 * @example
 * ```ts
 * const code = await main(['-nbB', 'alice', 'secret'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function main(argv: readonly string[], io: HtToolIo): Promise<number> {
  return runPasswordTool(io, (input) => run(argv, io, input));
}

async function run(argv: readonly string[], io: HtToolIo, input: PasswordInput): Promise<number> {
  const prog = io.programName ?? 'htpasswd';
  const say = (text: string): void => {
    io.stderr.write(text);
  };
  /** Writes `text` and gives the ToolExit to throw. */
  const stop = (code: number, text: string): ToolExit => {
    say(text);
    return new ToolExit(code);
  };

  // ---- check_args ----
  const getopt = new AprGetopt(argv, 'cnmspdBbDi25C:r:v', basename(prog), LONG_OPTIONS);
  let mask = 0;
  let alg: Algorithm = 'apr1';
  let cost = 0;
  let source: 'prompt' | 'prompt-verify' | 'arg' | 'stdin' = 'prompt';
  let argsLeft = 2;
  let bad = false;
  let check = false;
  let help = false;
  let otherOptions = false;
  for (;;) {
    const step = getopt.next();
    if (step.kind === 'end') break;
    if (step.kind === 'bad') {
      say(step.message);
      bad = true;
      break;
    }
    if (step.kind === 'long') {
      if (step.name === '--argon2') alg = 'argon2id';
      else if (step.name === '--check') check = true;
      else help = true;
      continue;
    }
    otherOptions = true;
    switch (step.opt) {
      case 'c': mask |= NEWFILE; break;
      case 'n': argsLeft--; mask |= NOFILE; break;
      case 'D': mask |= DELUSER; break;
      case 'v': mask |= VERIFY; break;
      case 'b': source = 'arg'; break;
      case 'i': source = 'stdin'; break;
      case 'm': alg = 'apr1'; break;
      case 's': alg = 'sha1'; break;
      case 'p':
        alg = 'plain';
        say('Warning: storing passwords as plain text might just not work on this platform.\n');
        break;
      case 'd': alg = 'des'; break;
      case 'B': alg = 'bcrypt'; break;
      case '2': alg = 'sha256'; break;
      case '5': alg = 'sha512'; break;
      case 'C':
      case 'r': {
        const value = parseCost(step.arg ?? '');
        if (value === undefined) throw stop(E.SYNTAX, `${prog}: argument to -C/-r must be a positive integer\n`);
        cost = value;
        break;
      }
    }
  }
  if (help) {
    io.stdout.write(USAGE + HELP_EXTRA);
    return E.OK;
  }
  const rest = argv.slice(getopt.index);
  if (check) {
    if (bad || otherOptions || rest.length !== 1) return usage(io);
    return runCheck(rest[0] ?? '', prog, io);
  }
  if (source === 'arg') argsLeft++;
  if (bad) return usage(io);
  if (mask & (mask - 1)) throw stop(E.SYNTAX, `${prog}: only one of -c -n -v -D may be specified\n`);
  if (mask & VERIFY && source === 'prompt') source = 'prompt-verify';
  if (rest.length !== argsLeft) return usage(io);

  let i = 0;
  let file = '';
  if (!(mask & NOFILE)) {
    file = rest[i++] ?? '';
    if (Buffer.byteLength(file) > PATH_MAX - 1) throw stop(E.OVERFLOW, `${prog}: filename too long\n`);
  }
  const user = rest[i++] ?? '';
  if (Buffer.byteLength(user) > MAX_STRING_LEN - 1) throw stop(E.OVERFLOW, `${prog}: username too long (> ${MAX_STRING_LEN - 1})\n`);
  if (user.includes(':')) throw stop(E.BADUSER, `${prog}: username contains illegal character ':'\n`);
  const control = /[\r\n\0]/.exec(user);
  if (control) throw stop(E.BADUSER, `${prog}: username contains illegal character '${JSON.stringify(control[0]).slice(1, -1)}'\n`);
  let password: Buffer | undefined;
  if (source === 'arg') {
    const given = rest[i] ?? '';
    if (Buffer.byteLength(given) > MAX_STRING_LEN - 1) throw stop(E.OVERFLOW, `${prog}: password too long (> ${MAX_STRING_LEN})\n`);
    password = Buffer.from(given, 'utf8');
  }

  // ---- file access checks ----
  let existing = false;
  if (!(mask & NOFILE)) {
    existing = await isRegularFile(file);
    if (existing && !(mask & VERIFY)) {
      if (!(await canAccess(file, constants.R_OK | constants.W_OK))) throw stop(E.FILEPERM, `${prog}: cannot open file ${file} for read/write access\n`);
    } else if (existing) {
      if (!(await canAccess(file, constants.R_OK))) throw stop(E.FILEPERM, `${prog}: cannot open file ${file} for read access\n`);
    } else {
      if (!(mask & NEWFILE)) throw stop(E.FILEPERM, `${prog}: cannot modify file ${file}; use '-c' to create it\n`);
      if (!(await canCreate(file))) throw stop(E.FILEPERM, `${prog}: cannot create file ${file}\n`);
    }
  }

  const readPassword = async (verifying: boolean): Promise<Buffer> => {
    // Inside -v, htpasswd prints these errors without its name (and exits the same).
    const tooLong = `${verifying ? '' : `${prog}: `}password too long (>${MAX_STRING_LEN})\n`;
    if (source === 'stdin') {
      const bytes = await input.readAll(MAX_STRING_LEN);
      if (bytes === undefined) throw stop(E.OVERFLOW, tooLong);
      return cString(bytes);
    }
    const first = await input.prompt(source === 'prompt-verify' ? 'Enter password: ' : 'New password: ');
    if (first.kind === 'interrupted') throw new ToolExit(E.INTERRUPTED);
    const typed = cString(first.bytes);
    // apr_password_get's buffer holds 256 bytes and the NUL.
    if (typed.length > MAX_STRING_LEN) throw stop(E.OVERFLOW, tooLong);
    if (source === 'prompt-verify') return typed;
    const second = await input.prompt('Re-type new password: ');
    if (second.kind === 'interrupted') throw new ToolExit(E.INTERRUPTED);
    if (!typed.equals(cString(second.bytes).subarray(0, MAX_STRING_LEN))) throw stop(E.PWMISMATCH, `${prog}: password verification error\n`);
    return typed;
  };

  // ---- -v ----
  if (mask & VERIFY) return verifyInFile(file, user, prog, io, async () => (password ??= await readPassword(true)));

  // ---- the record ----
  let record: Buffer | undefined;
  if (!(mask & DELUSER)) {
    const costApplies = alg === 'bcrypt' || alg === 'sha256' || alg === 'sha512';
    if (cost !== 0 && !costApplies) say('Warning: Ignoring -C/-r argument for this algorithm.\n');
    password ??= await readPassword(false);
    const hash = await makeHash(password, alg, cost, prog, say);
    record = Buffer.concat([Buffer.from(`${user}:`), hash, Buffer.from('\n')]);
    if (record.length >= MAX_STRING_LEN) throw stop(E.OVERFLOW, `${prog}: resultant record too long\n`);
    if (mask & NOFILE) {
      io.stdout.write(Buffer.concat([record, Buffer.from('\n')]));
      return E.OK;
    }
  }

  // ---- rewrite the file ----
  const userBytes = Buffer.from(user, 'utf8');
  try {
    return await updateFileAtomically(
      file,
      (current) => {
        if (mask & NEWFILE) {
          say(`Adding password for user ${user}\n`);
          return { content: record, result: E.OK };
        }
        if (current === undefined) throw stop(E.FILEPERM, `${prog}: unable to read file ${file}\n`);
        const edited = editHtpasswd(current, userBytes, record ? { kind: 'set', record } : { kind: 'delete' });
        const verb = mask & DELUSER ? 'Deleting ' : 'Updating ';
        if (edited.status === 'invalid') {
          say(verb.repeat(edited.found));
          throw stop(E.INVALID, `${prog}: The file ${file} does not appear to be a valid htpasswd file.\n`);
        }
        if (edited.found === 0 && mask & DELUSER) {
          say(`User ${user} not found\n`);
          return { content: undefined, result: E.OK };
        }
        say(`${edited.found === 0 ? 'Adding ' : verb.repeat(edited.found)}password for user ${user}\n`);
        return { content: edited.content, result: E.OK };
      },
      io.lockTimeoutMs === undefined ? {} : { timeoutMs: io.lockTimeoutMs },
    );
  } catch (err) {
    if (err instanceof AuthTsError) {
      const what = err.code === 'FILE_UNREADABLE' ? 'read' : 'update';
      throw stop(E.FILEPERM, `${prog}: unable to ${what} file ${file}\n${prog}: ${err.message}\n`);
    }
    throw err;
  }
}

function usage(io: HtToolIo): number {
  io.stderr.write(USAGE);
  return E.SYNTAX;
}

/**
 * `-C`/`-r` as htpasswd reads them: `strtol` base 10 (leading whitespace and a sign allowed,
 * saturating), the whole text must be used and the value positive; it is then stored in a
 * 32-bit unsigned field (so 4294967301 is 5, and 4294967296 is "not given").
 */
function parseCost(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(text);
  if (!m) return undefined;
  let value = BigInt(m[2] ?? '0');
  if (m[1] === '-') value = -value;
  const LONG_MAX = (1n << 63n) - 1n;
  if (value > LONG_MAX) value = LONG_MAX;
  if (value <= 0n) return undefined;
  return Number(BigInt.asUintN(32, value));
}

/** The hash for the record (bytes: a plain text password need not be UTF-8). */
async function makeHash(password: Buffer, alg: Algorithm, cost: number, prog: string, say: (t: string) => void): Promise<Buffer> {
  switch (alg) {
    case 'bcrypt': {
      const c = cost === 0 ? BCRYPT_COST_DEFAULT : cost;
      if (c < BCRYPT_COST_MIN || c > BCRYPT_COST_MAX) {
        say(`${prog}: Unable to encode with bcrypt: Invalid argument\n`);
        throw new ToolExit(E.PWMISMATCH);
      }
      return Buffer.from(await createHash(password, { format: 'bcrypt', cost: c }));
    }
    case 'sha256':
    case 'sha512': {
      if (cost !== 0 && (cost < SHA_CRYPT_ROUNDS_MIN || cost > SHA_CRYPT_ROUNDS_MAX)) {
        // Apache's htpasswd stores libxcrypt's failure token "*0" here and exits 0.
        say(`${prog}: Unable to encode with SHA-2 crypt: rounds must be from ${SHA_CRYPT_ROUNDS_MIN} to ${SHA_CRYPT_ROUNDS_MAX}\n`);
        throw new ToolExit(E.PWMISMATCH);
      }
      return Buffer.from(await createHash(password, cost === 0 ? { format: alg } : { format: alg, rounds: cost }));
    }
    case 'des': {
      const hash = await createHash(password, { format: 'des' });
      if (password.length > 8) say('Warning: Password truncated to 8 characters by CRYPT algorithm.\n');
      return Buffer.from(hash);
    }
    case 'plain':
      if (password.includes(0x0a) || password.includes(0x0d)) {
        say(`${prog}: a plain text password with a line break would break the file\n`);
        throw new ToolExit(E.INVALID);
      }
      return password;
    default:
      return Buffer.from(await createHash(password, { format: alg }));
  }
}

async function verifyInFile(file: string, user: string, prog: string, io: HtToolIo, getPassword: () => Promise<Buffer>): Promise<number> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    io.stderr.write(`${prog}: unable to read file ${file}\n`);
    return E.FILEPERM;
  }
  const userBytes = Buffer.from(user, 'utf8');
  let found = 0;
  for (const piece of htpasswdPieces(content)) {
    if (piece.kind === 'invalid') {
      io.stderr.write(`${prog}: The file ${file} does not appear to be a valid htpasswd file.\n`);
      return E.INVALID;
    }
    if (piece.kind !== 'record' || !piece.user.equals(userBytes)) continue;
    found++;
    if (piece.hash.length === 0) {
      io.stderr.write(`Empty hash for user ${user}\n`);
      return E.INVALID;
    }
    const password = await getPassword();
    const verdict = await aprValidate(piece.hash.toString('latin1'), password);
    if (verdict !== 'match') {
      io.stderr.write(verdict === 'mismatch' ? 'password verification failed\n' : `Could not verify password: ${verdict.error}\n`);
      return verdict === 'mismatch' ? E.PWMISMATCH : E.GENERAL;
    }
  }
  if (found === 0) {
    io.stderr.write(`User ${user} not found\n`);
    return E.BADUSER;
  }
  io.stderr.write(`Password for user ${user} correct.\n`);
  return E.OK;
}

const BF_SETTING_RE = /^\$2[ay]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{22}/;

/**
 * `apr_password_validate` as `htpasswd -v` sees it: a `$2a$`/`$2y$` hash whose setting APR's
 * crypt_blowfish rejects is an error ("Invalid argument"), not a mismatch; formats the system
 * crypt() knows but authts does not are errors too (httpd would verify them).
 */
async function aprValidate(hash: string, password: Buffer): Promise<'match' | 'mismatch' | { error: string }> {
  if (/^\$2[ay]\$/.test(hash) && !BF_SETTING_RE.test(hash)) return { error: 'Invalid argument' };
  if (hashKind(hash) === 'unsupported') return { error: 'hash format not supported by authts' };
  return (await verifyPassword(hash, password)) ? 'match' : 'mismatch';
}

async function runCheck(file: string, prog: string, io: HtToolIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    io.stderr.write(`${prog}: cannot open file ${file} for read access\n`);
    return E.FILEPERM;
  }
  return reportCheck(file, text, prog, io) ? E.OK : E.INVALID;
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * What htpasswd's open(O_WRONLY|O_CREAT) probe answers, without creating anything: false for a
 * directory or other non-regular file, and when the directory the file (or the target of a
 * dangling link) would go in is missing or not writable.
 */
async function canCreate(file: string): Promise<boolean> {
  const target = await resolveUserFilePath(file);
  const info = await stat(target).catch(() => undefined);
  if (info) return info.isFile();
  return canAccess(dirname(target), constants.W_OK | constants.X_OK);
}

async function canAccess(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** A password as C sees it: up to the first NUL byte. */
function cString(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}
