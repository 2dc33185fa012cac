/**
 * Replacing a user file so that every reader — httpd, authts, a crashed writer's successor —
 * sees either the whole old file or the whole new one: write a temp file beside it, fsync, give
 * it the old file's mode and owner, rename it over the file, fsync the directory. All under the
 * file's advisory lock.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readFile, readlink, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AuthTsError } from '../errors.js';
import { removeLeftovers, withFileLock, type LockOptions } from './lock.js';

/** What an edit decides: new content to commit (or none: leave the file alone) and its verdict. */
export interface Edit<T> {
  readonly content: Buffer | undefined;
  readonly result: T;
}

/** The file as the edit sees it: its bytes, or `undefined` when it does not exist. */
export type EditFunction<T> = (current: Buffer | undefined) => Edit<T> | Promise<Edit<T>>;

/**
 * Reads `path`, lets `edit` compute the new content, and commits it atomically — all while
 * holding `<path>.lock` (see {@link withFileLock}), so concurrent writers never lose each
 * other's changes.
 *
 * - A symbolic link is followed (see {@link resolveUserFilePath}): the file it points to is
 *   replaced, the link stays.
 * - An existing file keeps its permission bits and owner (when the owner cannot be kept —
 *   another user's file, and this process is not root — nothing is written and `AuthTsError`
 *   `USER_FILE_WRITE` is thrown). A new file gets mode 0666 minus the umask, as htpasswd does.
 * - The temp file is `.<name>.tmp.<pid>.<hex>` in the same directory (so the rename cannot
 *   cross file systems); leftovers of killed writers are removed under the lock.
 * - Failures to read throw `AuthTsError` `FILE_UNREADABLE`; to write, `USER_FILE_WRITE`; a lock
 *   not acquired in time, `USER_FILE_LOCKED`. Errors thrown by `edit` pass through unchanged.
 *
 * @example
 * ```ts
 * await updateFileAtomically('/etc/authts/users', (old) => ({
 *   content: Buffer.concat([old ?? Buffer.alloc(0), Buffer.from('alice:$apr1$…\n')]),
 *   result: 'added',
 * }));
 * ```
 */
export async function updateFileAtomically<T>(path: string, edit: EditFunction<T>, options: LockOptions = {}): Promise<T> {
  const target = await resolveUserFilePath(path);
  return withFileLock(
    target,
    async (stillHeld) => {
      await removeLeftovers(target);
      const info = await stat(target).catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT') return undefined;
        throw new AuthTsError('FILE_UNREADABLE', `cannot stat ${target}: ${message(err)}`, { cause: err });
      });
      let current: Buffer | undefined;
      if (info) {
        try {
          current = await readFile(target);
        } catch (err) {
          throw new AuthTsError('FILE_UNREADABLE', `cannot read ${target}: ${message(err)}`, { cause: err });
        }
      }
      const { content, result } = await edit(current);
      if (content === undefined) return result;
      await commit(target, content, info, stillHeld);
      return result;
    },
    options,
  );
}

/**
 * The path a write to `path` really replaces: symbolic links followed — also a dangling one,
 * to the file it would create, as open(O_CREAT) does — with the directory made canonical.
 *
 * @example
 * ```ts
 * await resolveUserFilePath('/etc/authts/users'); // '/srv/conf/users' when it is a link there
 * ```
 */
export async function resolveUserFilePath(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    const info = await lstat(current).catch(() => undefined);
    if (!info?.isSymbolicLink()) break;
    current = resolve(dirname(current), await readlink(current));
  }
  try {
    return join(await realpath(dirname(current)), basename(current));
  } catch {
    return current;
  }
}

type FileInfo = Awaited<ReturnType<typeof stat>>;

async function commit(target: string, content: Buffer, info: FileInfo | undefined, stillHeld: () => Promise<boolean>): Promise<void> {
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.tmp.${process.pid}.${randomBytes(6).toString('hex')}`);
  let handle: FileHandle | undefined;
  let renamed = false;
  try {
    try {
      handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, info ? 0o600 : 0o666);
    } catch (err) {
      throw new AuthTsError('USER_FILE_WRITE', `cannot create a temporary file in ${dir}: ${message(err)}`, { cause: err });
    }
    try {
      await handle.writeFile(content);
      if (info) await keepOwnerAndMode(handle, info, target);
      await handle.sync();
    } catch (err) {
      if (err instanceof AuthTsError) throw err;
      throw new AuthTsError('USER_FILE_WRITE', `cannot write ${temp}: ${message(err)}`, { cause: err });
    } finally {
      await handle.close();
    }
    if (!(await stillHeld())) {
      throw new AuthTsError('USER_FILE_LOCKED', `the lock ${target}.lock was taken over by another process; ${target} was not changed`);
    }
    try {
      await rename(temp, target);
      renamed = true;
    } catch (err) {
      throw new AuthTsError('USER_FILE_WRITE', `cannot rename ${temp} to ${target}: ${message(err)}`, { cause: err });
    }
    await syncDirectory(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

async function keepOwnerAndMode(handle: FileHandle, info: FileInfo, target: string): Promise<void> {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || gid === undefined) return; // Windows: no POSIX owners.
  const ownerDiffers = Number(info.uid) !== uid;
  if (ownerDiffers || Number(info.gid) !== gid) {
    try {
      await handle.chown(ownerDiffers ? Number(info.uid) : -1, Number(info.gid));
    } catch (err) {
      throw new AuthTsError(
        'USER_FILE_WRITE',
        `cannot keep the owner ${info.uid}:${info.gid} of ${target} (${message(err)}); it was not changed — run as its owner or root`,
        { cause: err },
      );
    }
  }
  // After chown, which may clear set-id bits.
  await handle.chmod(Number(info.mode) & 0o7777);
}

/** Makes the rename durable. Some systems cannot fsync a directory; the rename stands anyway. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // EINVAL/EISDIR/EPERM on platforms without directory fsync.
  } finally {
    await handle?.close();
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
