/**
 * Managing htpasswd and htdigest files from code, with the guarantees of `authts-htpasswd`:
 * every change is written atomically (temp file, fsync, rename) under the advisory lock
 * `<file>.lock`, keeps the file's mode and owner, and never loses a concurrent writer's change.
 *
 * Verdicts are returned (`'added'`, `'not-found'`…); failures throw: `TypeError` for bad
 * arguments (a user name with `:`, a cost out of range…), `AuthTsError` with code
 * `FILE_UNREADABLE` (missing or unreadable file), `USER_FILE_INVALID` (a line Apache's htpasswd
 * would refuse), `USER_FILE_LOCKED` (another writer held the lock too long) or `USER_FILE_WRITE`.
 *
 * @example
 * ```ts
 * import { setPassword, verifyUser } from 'authts/userfile';
 * await setPassword('/etc/authts/users', 'alice', 'secret', { format: 'bcrypt', cost: 12, create: true });
 * await verifyUser('/etc/authts/users', 'alice', 'secret'); // 'granted'
 * ```
 */
import { readFile } from 'node:fs/promises';
import { AuthTsError } from '../errors.js';
import { createHash, type CreateHashOptions, type HashFormat } from '../passwords/create.js';
import { makeDummyHash } from '../passwords/dummy.js';
import { verifyPassword } from '../passwords/verify.js';
import { parseUserFile } from '../providers/file.js';
import { updateFileAtomically } from './atomic.js';
import { checkUserFileText, type CheckOptions, type UserFileFinding } from './check.js';
import { digestRecord, editHtdigest, HTDIGEST_FIELD_MAX } from './htdigest-lines.js';
import { editHtpasswd, type HtpasswdChange } from './htpasswd-lines.js';
import type { LockOptions } from './lock.js';

export { createHash, type CreateHashOptions, type HashFormat } from '../passwords/create.js';
export { verifyPassword } from '../passwords/verify.js';
export { resolveUserFilePath, updateFileAtomically, type Edit, type EditFunction } from './atomic.js';
export { digestRecord } from './htdigest-lines.js';
export { withFileLock, type LockOptions } from './lock.js';
export { checkUserFileText, type CheckOptions, type FindingKind, type UserFileFinding } from './check.js';

/** Options shared by the functions that change a file. */
export interface UserFileOptions extends LockOptions {
  /** Create the file when it does not exist (default false: a missing file is an error, as without `htpasswd -c`). */
  readonly create?: boolean;
}

/** How to hash the new password, and the file options. */
export type SetPasswordOptions = UserFileOptions & CreateHashOptions;

/** htpasswd's limits: user names below 256 bytes, whole records (with newline) too. */
const MAX_STRING_LEN = 256;

/**
 * Adds `user` with a new hash of `password`, unless the file already has the user (then
 * nothing is written and the answer is `'exists'`).
 *
 * @example
 * ```ts
 * await addUser('users', 'alice', 'secret', { format: 'bcrypt', cost: 12, create: true }); // 'added'
 * await addUser('users', 'alice', 'other', { format: 'bcrypt' });                         // 'exists'
 * ```
 */
export async function addUser(file: string, user: string, password: string | Uint8Array, options: SetPasswordOptions): Promise<'added' | 'exists'> {
  const record = await makeRecord(user, password, options);
  return changeHtpasswd(file, user, { kind: 'set', record }, options, (found) => (found > 0 ? 'exists' : 'added'), (found) => found === 0);
}

/**
 * Replaces the password of an existing `user` (every record of the user, as htpasswd does);
 * `'not-found'` (nothing written) when the file has no such user.
 *
 * @example
 * ```ts
 * await updateUser('users', 'alice', 'new-secret', { format: 'sha512' }); // 'updated' or 'not-found'
 * ```
 */
export async function updateUser(file: string, user: string, password: string | Uint8Array, options: SetPasswordOptions): Promise<'updated' | 'not-found'> {
  const record = await makeRecord(user, password, options);
  return changeHtpasswd(file, user, { kind: 'set', record }, options, (found) => (found > 0 ? 'updated' : 'not-found'), (found) => found > 0);
}

/**
 * Adds or updates `user`: what `htpasswd -b file user password` does.
 *
 * @example
 * ```ts
 * await setPassword('users', 'bob', 'secret', { format: 'apr1', create: true }); // 'added', then 'updated'
 * ```
 */
export async function setPassword(file: string, user: string, password: string | Uint8Array, options: SetPasswordOptions): Promise<'added' | 'updated'> {
  const record = await makeRecord(user, password, options);
  return changeHtpasswd(file, user, { kind: 'set', record }, options, (found) => (found > 0 ? 'updated' : 'added'), () => true);
}

/**
 * Removes every record of `user`: what `htpasswd -D` does. `'not-found'` leaves the file
 * untouched.
 *
 * @example
 * ```ts
 * await deleteUser('users', 'bob'); // 'deleted' or 'not-found'
 * ```
 */
export async function deleteUser(file: string, user: string, options: LockOptions = {}): Promise<'deleted' | 'not-found'> {
  checkUser(user);
  return changeHtpasswd(file, user, { kind: 'delete' }, { ...options, create: false }, (found) => (found > 0 ? 'deleted' : 'not-found'), (found) => found > 0);
}

/**
 * Checks `password` for `user` as httpd's `AuthUserFile` would: the first record of the user
 * counts. An unknown user costs the time of a real check (against a dummy hash of the file's
 * kind) before `'not-found'`. No lock is needed: writers replace the file atomically.
 *
 * Throws `AuthTsError` `FILE_UNREADABLE` for a missing or unreadable file and
 * `HASH_UNSUPPORTED` for a hash format authts cannot verify.
 *
 * @example
 * ```ts
 * await verifyUser('users', 'alice', 'secret'); // 'granted' | 'denied' | 'not-found'
 * ```
 */
export async function verifyUser(file: string, user: string, password: string | Uint8Array): Promise<'granted' | 'denied' | 'not-found'> {
  if (typeof user !== 'string') throw new TypeError('verifyUser: user must be a string');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AuthTsError('FILE_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = parseUserFile(text);
  const hash = parsed.users.get(user);
  if (hash === undefined) {
    if (parsed.dummyModel !== undefined) await verifyPassword(await makeDummyHash(parsed.dummyModel), password);
    return 'not-found';
  }
  return (await verifyPassword(hash, password)) ? 'granted' : 'denied';
}

/**
 * Sets the Digest password of `user` in `realm` in an htdigest file: the first
 * `user:realm:` line is replaced, or a record is appended — what `htdigest` does.
 *
 * @example
 * ```ts
 * await setDigestPassword('digest.pw', 'Private Area', 'alice', 'secret', { create: true }); // 'added'
 * ```
 */
export async function setDigestPassword(
  file: string,
  realm: string,
  user: string,
  password: string | Uint8Array,
  options: UserFileOptions = {},
): Promise<'added' | 'updated'> {
  checkDigestName('user', user);
  checkDigestName('realm', realm);
  if (typeof password !== 'string' && !(password instanceof Uint8Array)) throw new TypeError('setDigestPassword: password must be a string or a Uint8Array');
  const record = digestRecord(user, realm, password);
  return updateFileAtomically(
    file,
    (current) => {
      if (current === undefined && !options.create) throw missing(file);
      const edited = editHtdigest(current ?? Buffer.alloc(0), user, realm, record);
      if (edited.status === 'too-long') {
        throw new AuthTsError('USER_FILE_INVALID', `${file} has a line whose user or realm is longer than ${HTDIGEST_FIELD_MAX} bytes; htdigest refuses such a file`);
      }
      return { content: edited.content, result: edited.found ? 'updated' : 'added' };
    },
    options,
  );
}

/**
 * Reads `file` and reports malformed lines, duplicate users and weak or unusable hashes (see
 * {@link checkUserFileText}). Throws `AuthTsError` `FILE_UNREADABLE` when it cannot be read.
 *
 * @example
 * ```ts
 * for (const f of await checkUserFile('users')) console.log(`users:${f.line}: ${f.kind}: ${f.message}`);
 * ```
 */
export async function checkUserFile(file: string, options: CheckOptions = {}): Promise<UserFileFinding[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AuthTsError('FILE_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  return checkUserFileText(text, options);
}

async function makeRecord(user: string, password: string | Uint8Array, options: SetPasswordOptions): Promise<Buffer> {
  checkUser(user);
  if (typeof options !== 'object' || options === null) throw new TypeError('options with a format are required');
  const { format, cost, rounds } = options;
  const hashOptions: CreateHashOptions = { format, ...(cost === undefined ? {} : { cost }), ...(rounds === undefined ? {} : { rounds }) };
  const hash = await createHash(password, hashOptions);
  if (format === 'plain' && /[\r\n]/.test(hash)) throw new TypeError('a plain text password with a line break would break the file');
  const record = Buffer.from(`${user}:${hash}\n`, 'utf8');
  if (record.length >= MAX_STRING_LEN) {
    throw new TypeError(`the record for "${user}" would be ${record.length} bytes; Apache's htpasswd handles records up to ${MAX_STRING_LEN - 1}`);
  }
  return record;
}

function checkUser(user: unknown): asserts user is string {
  if (typeof user !== 'string') throw new TypeError('user must be a string');
  if (Buffer.byteLength(user) > MAX_STRING_LEN - 1) throw new TypeError(`user name longer than ${MAX_STRING_LEN - 1} bytes`);
  if (/[:\r\n\0]/.test(user)) throw new TypeError('user name must not contain ":", CR, LF or NUL');
}

function checkDigestName(what: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (Buffer.byteLength(value) > HTDIGEST_FIELD_MAX) throw new TypeError(`${what} longer than ${HTDIGEST_FIELD_MAX} bytes`);
  if (/[:\r\n\0]/.test(value)) throw new TypeError(`${what} must not contain ":", CR, LF or NUL`);
}

function missing(file: string): AuthTsError {
  return new AuthTsError('FILE_UNREADABLE', `${file} does not exist (pass create: true to create it)`);
}

async function changeHtpasswd<R>(
  file: string,
  user: string,
  change: HtpasswdChange,
  options: UserFileOptions,
  verdict: (found: number) => R,
  write: (found: number) => boolean,
): Promise<R> {
  return updateFileAtomically(
    file,
    (current) => {
      if (current === undefined && !options.create) throw missing(file);
      const edited = editHtpasswd(current ?? Buffer.alloc(0), Buffer.from(user, 'utf8'), change);
      if (edited.status === 'invalid') {
        throw new AuthTsError('USER_FILE_INVALID', `${file} has a line without ':'; Apache's htpasswd refuses to edit such a file`);
      }
      return { content: write(edited.found) ? edited.content : undefined, result: verdict(edited.found) };
    },
    options,
  );
}
