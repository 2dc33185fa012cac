/**
 * A text file parsed once and re-read only when it changes: the index behind AuthUserFile and
 * AuthGroupFile. httpd re-reads these files on every request; authts keeps the parsed index and
 * checks with one (synchronous) `stat` per request that the file is still the same, so a change made with
 * `htpasswd` is seen by the next request, as in httpd.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { AuthTsError } from '../errors.js';

/** A parsed text file that follows changes to the file. */
export interface TextFileIndex<T> {
  /** The absolute path of the file. */
  readonly path: string;
  /**
   * The parsed contents as of now: one synchronous `stat` per call, a re-read (shared by concurrent calls)
   * and re-parse only when size, modification time, change time, inode or device changed — or
   * while the last read came less than 2.5 s after the file's last change, when a further
   * change could leave all of those as they were (the text is then read again, and parsed
   * again only if it differs).
   * Throws `AuthTsError` `FILE_UNREADABLE` while the file is missing or unreadable, and
   * recovers by itself once it is back.
   */
  get(): Promise<T>;
  /** Forgets the parsed contents (the next `get` reads the file again). */
  clear(): void;
  /**
   * The file's identity now (device, inode, size, modification and change times), from one
   * synchronous `stat`; `undefined` while the file is unreadable or changed less than the racy
   * window ago (when a further change could keep the same identity).
   */
  identity(): string | undefined;
}

interface Snapshot<T> {
  readonly key: string;
  readonly value: T;
  /** Read so soon after the file's last change that a further change might not move its mtime. */
  readonly racy: boolean;
  /** While racy: the text parsed, so that an unchanged re-read is not parsed again. */
  readonly text: string | undefined;
}

/** What `stat` tells about the file, and when it was asked. */
interface FileState {
  readonly key: string;
  readonly racy: boolean;
}

/**
 * File times have a granularity: a kernel tick (a few ms) on ext4/xfs/tmpfs, 1 s on ext3 and
 * some NFS servers, 2 s on FAT. A file rewritten within the same tick with the same size (an
 * htpasswd password change: the same user, a hash of the same length) keeps its size, mtime,
 * ctime and inode, so a snapshot taken within that window of the last change cannot be trusted
 * ("racy", as git calls it) and is re-read until the change is older than this.
 */
const RACY_WINDOW_MS = 2_500;

/** Options of {@link createTextFileIndex}. */
export interface TextFileIndexOptions {
  /** How long after a change a read is not trusted (default 2500 ms; 0 trusts every read). */
  readonly racyWindowMs?: number;
}

/**
 * Creates the index of `path`, parsed by `parse`. Nothing is read until the first `get`.
 *
 * `parse` should build what lookups need (a `Map`), so that a lookup costs the same for ten
 * users or a million; it must not throw (what it throws is passed on from `get`).
 * The change time is part of the identity so that a `chmod` that makes the file unreadable is
 * noticed, as httpd (which opens the file each time) would notice it.
 *
 * @example
 * ```ts
 * const users = createTextFileIndex('/etc/authts/users', (text) => new Set(text.split('\n')));
 * const set = await users.get(); // throws AuthTsError('FILE_UNREADABLE', …) if the file is gone
 * ```
 */
export function createTextFileIndex<T>(
  path: string,
  parse: (text: string) => T,
  options: TextFileIndexOptions = {},
): TextFileIndex<T> {
  if (typeof path !== 'string' || path === '') throw new TypeError('createTextFileIndex: path must be a non-empty string');
  if (typeof parse !== 'function') throw new TypeError('createTextFileIndex: parse must be a function');
  const racyWindowMs = options.racyWindowMs ?? RACY_WINDOW_MS;
  if (!Number.isFinite(racyWindowMs) || racyWindowMs < 0) {
    throw new TypeError('createTextFileIndex: options.racyWindowMs must be a number >= 0');
  }
  let snapshot: Snapshot<T> | undefined;
  let inflight: Promise<T> | undefined;

  async function reload(state: FileState): Promise<T> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw unreadable(path, err);
    }
    const value = snapshot?.text === text ? snapshot.value : parse(text);
    snapshot = { key: state.key, value, racy: state.racy, text: state.racy ? text : undefined };
    return value;
  }

  return {
    path,
    get: function getTextFile(): Promise<T> {
      if (inflight) return inflight;
      // The key is taken before reading: if the file changes while it is read, the next call
      // sees a different key and reads it again (a key taken after the read could pin old text).
      let state: FileState;
      try {
        state = statFile(path, racyWindowMs);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      if (snapshot && !snapshot.racy && snapshot.key === state.key) return Promise.resolve(snapshot.value);
      inflight = reload(state).finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    clear: function clearTextFile(): void {
      snapshot = undefined;
    },
    identity: function textFileIdentity(): string | undefined {
      try {
        const state = statFile(path, racyWindowMs);
        return state.racy ? undefined : state.key;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The file's identity now. Synchronous: a `stat` of a local file is answered from the kernel's
 * caches in microseconds, while an asynchronous one waits in libuv's thread pool behind
 * whatever runs there (bcrypt and argon2 checks of 2 ms each), once per request.
 */
function statFile(path: string, racyWindowMs: number): FileState {
  try {
    const now = Date.now();
    const s = statSync(path, { bigint: true });
    const changed = Math.max(Number(s.mtimeMs), Number(s.ctimeMs));
    return {
      key: `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`,
      // A change time in the future (clock skew) is racy too: it cannot be compared with now.
      racy: now - changed < racyWindowMs,
    };
  } catch (err) {
    throw unreadable(path, err);
  }
}

function unreadable(path: string, err: unknown): AuthTsError {
  const reason = (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);
  return new AuthTsError('FILE_UNREADABLE', `cannot read ${path}: ${reason}`, { cause: err });
}
