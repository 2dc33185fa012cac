/**
 * `authts-htdigest`: Apache's `htdigest` 2.4.71 (`[-c] passwordfile realm username`, prompts,
 * messages, exit codes), with atomic locked rewrites and the checks htdigest lacks.
 */
import { createHash } from 'node:crypto';
import { access, constants, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AuthTsError } from '../errors.js';
import { resolveUserFilePath, updateFileAtomically } from '../userfile/atomic.js';
import { reportCheck } from './check-report.js';
import { digestRecord, editHtdigest, HTDIGEST_FIELD_MAX, scanHtdigest } from '../userfile/htdigest-lines.js';
import { PasswordInput, runPasswordTool, ToolExit } from './getpass.js';
import type { HtToolIo } from './htpasswd.js';

/**
 * htdigest's exit codes (0, 1, 5); 6 and 7 are authts's (a user or realm that would break the
 * file; `--check` findings).
 *
 * @example
 * ```ts
 * if ((await main(argv, io)) === HTDIGEST_EXIT.OVERFLOW) console.error('too long');
 * ```
 */
export const HTDIGEST_EXIT = { OK: 0, FAILURE: 1, OVERFLOW: 5, BADNAME: 6, INVALID: 7 } as const;
const E = HTDIGEST_EXIT;

/** htdigest's password buffer: 255 bytes and the NUL. */
const PASSWORD_BUFFER = 256;

const USAGE = 'Usage: htdigest [-c] passwordfile realm username\nThe -c flag creates a new file.\n';

const HELP_EXTRA = `
authts extensions:
 --check passwordfile  Report malformed lines, duplicate (user, realm) pairs and the
                       like, with line numbers.
 --sha256 [-c] passwordfile realm username
                       Write the record with a SHA-256 hash (64 hex digits) instead of
                       MD5, for AuthDigestAlgorithm SHA-256 (see docs/digest.md).
 --help                This text.
The file is rewritten atomically (temp file, fsync, rename) under passwordfile.lock; its
mode and owner are kept. A user or realm containing ':', CR, LF or NUL is refused (exit 6),
and so is one longer than 255 bytes (exit 5; htdigest truncates it silently).

Exit codes: 0 success; 1 usage, file cannot be read or written, passwords differ,
interrupted, a line with a field longer than 255 bytes; 5 password, user or realm too long;
6 ':' or a line break in user or realm; 7 --check found problems.
`;

/**
 * Runs `authts-htdigest` with `argv` (without argv[0]); resolves to the exit code. Never calls
 * `process.exit`. See docs/cli.md.
 *
 * @example
 * ```ts
 * const code = await main(['-c', 'digest.pw', 'Private', 'alice'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function main(argv: readonly string[], io: HtToolIo): Promise<number> {
  return runPasswordTool(io, (input) => run(argv, io, input));
}

async function run(argv: readonly string[], io: HtToolIo, input: PasswordInput): Promise<number> {
  const prog = io.programName ?? 'htdigest';
  const stop = (code: number, text: string): ToolExit => {
    io.stderr.write(text);
    return new ToolExit(code);
  };
  if (argv.length === 1 && argv[0] === '--help') {
    io.stdout.write(USAGE + HELP_EXTRA);
    return E.OK;
  }
  if (argv.length === 2 && argv[0] === '--check') return runCheck(argv[1] ?? '', prog, io);

  // authts: `--sha256` first writes a SHA-256 HA1 for `AuthDigestAlgorithm SHA-256`.
  const sha256 = argv[0] === '--sha256';
  if (sha256) argv = argv.slice(1);
  const makeRecord = sha256 ? sha256DigestRecord : digestRecord;
  let create = false;
  let args = argv;
  if (argv.length === 4) {
    if (argv[0] !== '-c') throw stop(E.FAILURE, USAGE);
    create = true;
    args = argv.slice(1);
  } else if (argv.length !== 3) {
    throw stop(E.FAILURE, USAGE);
  }
  const [file = '', realm = '', user = ''] = args;

  for (const [what, value] of [['username', user], ['realm', realm]] as const) {
    if (Buffer.byteLength(value) > HTDIGEST_FIELD_MAX) throw stop(E.OVERFLOW, `${prog}: ${what} too long (> ${HTDIGEST_FIELD_MAX})\n`);
    const bad = /[:\r\n\0]/.exec(value);
    if (bad) throw stop(E.BADNAME, `${prog}: ${what} contains illegal character '${JSON.stringify(bad[0]).slice(1, -1)}'\n`);
  }

  const readPassword = async (): Promise<Buffer> => {
    const first = await input.prompt('New password: ');
    if (first.kind === 'interrupted') throw stop(E.FAILURE, 'Interrupted.\n');
    const typed = cString(first.bytes);
    if (typed.length >= PASSWORD_BUFFER) throw stop(E.OVERFLOW, 'password too long');
    const second = await input.prompt('Re-type new password: ');
    if (second.kind === 'interrupted') throw stop(E.FAILURE, 'Interrupted.\n');
    if (!typed.equals(cString(second.bytes).subarray(0, PASSWORD_BUFFER - 1))) throw stop(E.FAILURE, "They don't match, sorry.\n");
    return typed;
  };
  const lockOptions = io.lockTimeoutMs === undefined ? {} : { timeoutMs: io.lockTimeoutMs };
  const cannotRead = (): ToolExit => stop(E.FAILURE, `Could not open passwd file ${file} for reading.\nUse -c option to create new one.\n`);

  if (create) {
    const problem = await writeProblem(file);
    if (problem) throw stop(E.FAILURE, `Could not open passwd file ${file} for writing: ${problem}\n`);
    io.stderr.write(`Adding password for ${user} in realm ${realm}.\n`);
    const record = makeRecord(user, realm, await readPassword());
    return commit(prog, file, io, () => ({ content: record, result: E.OK }), lockOptions);
  }

  let before: Buffer;
  try {
    before = await readFile(file);
  } catch {
    throw cannotRead();
  }
  const scan = scanHtdigest(before, user, realm);
  if (scan.status === 'too-long') throw stop(E.FAILURE, tooLongMessage(scan.line));
  io.stderr.write(scan.status === 'found' ? `Changing password for user ${user} in realm ${realm}\n` : `Adding user ${user} in realm ${realm}\n`);
  const record = makeRecord(user, realm, await readPassword());
  return commit(
    prog,
    file,
    io,
    (current) => {
      if (current === undefined) throw cannotRead();
      const edited = editHtdigest(current, user, realm, record);
      if (edited.status === 'too-long') throw stop(E.FAILURE, tooLongMessage(edited.line));
      return { content: edited.content, result: E.OK };
    },
    lockOptions,
  );
}

async function commit(
  prog: string,
  file: string,
  io: HtToolIo,
  edit: Parameters<typeof updateFileAtomically<number>>[1],
  options: { timeoutMs?: number },
): Promise<number> {
  try {
    return await updateFileAtomically(file, edit, options);
  } catch (err) {
    if (err instanceof AuthTsError) {
      // htdigest prints the first line and still exits 0; authts exits 1.
      io.stderr.write(`${prog}: unable to update file ${file}\n${prog}: ${err.message}\n`);
      return E.FAILURE;
    }
    throw err;
  }
}

function tooLongMessage(line: Buffer): string {
  return `The following line contains a string longer than the allowed maximum size (${HTDIGEST_FIELD_MAX}): ${line.toString('latin1')}\n`;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
};

/** Why `file` could not be opened for writing (created if absent), as strerror says it; or undefined. */
async function writeProblem(file: string): Promise<string | undefined> {
  const target = await resolveUserFilePath(file);
  try {
    const info = await stat(target);
    if (info.isDirectory()) return ERRNO_TEXT.EISDIR;
    await access(target, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code !== 'ENOENT') return ERRNO_TEXT[code] ?? (err as Error).message;
  }
  try {
    await access(dirname(target), constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    return ERRNO_TEXT[code] ?? (err as Error).message;
  }
}

async function runCheck(file: string, prog: string, io: HtToolIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    io.stderr.write(`Could not open passwd file ${file} for reading.\n`);
    return E.FAILURE;
  }
  return reportCheck(file, text, prog, io) ? E.OK : E.INVALID;
}

/** A password as C sees it: up to the first NUL byte. */
function cString(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

/**
 * An htdigest record whose hash is the lower-case hex SHA-256 of `user:realm:password` (the
 * HA1 of RFC 7616's SHA-256), for `AuthDigestAlgorithm SHA-256`: 64 hex digits where htdigest
 * writes 32.
 */
function sha256DigestRecord(user: string, realm: string, password: Uint8Array): Buffer {
  const u = Buffer.from(user);
  const r = Buffer.from(realm);
  const hex = createHash('sha256').update(Buffer.concat([u, Buffer.from(':'), r, Buffer.from(':'), password])).digest('hex');
  return Buffer.concat([u, Buffer.from(':'), r, Buffer.from(`:${hex}\n`)]);
}
