/**
 * The advisory lock that serializes writers of one user file: a lock file `<file>.lock` beside
 * it, created atomically with its owner's identity, broken when that owner is provably dead.
 *
 * Why a lock file and not `flock(2)`: Node has no flock, and a lock file is what other tools can
 * see and respect too. Why not proper-lockfile: it detects stale locks by age (the owner must
 * keep touching the lock), so a killed `htpasswd` run would block every other writer for the
 * stale period; a one-shot CLI knows better — its PID, and whether that PID still runs.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { readFileSync, readlinkSync } from 'node:fs';
import { AuthTsError } from '../errors.js';

/** Options of {@link withFileLock}. */
export interface LockOptions {
  /** Give up after this long waiting for another writer (default 30 s). */
  readonly timeoutMs?: number;
}

/** Who holds a lock, as written in the lock file. */
export interface LockOwner {
  readonly pid: number;
  /** Host name and (Linux) PID namespace, e.g. `web1 pid:[4026531836]`. */
  readonly host: string;
  /** Linux: the process start time from /proc (tells a reused PID apart); '' elsewhere. */
  readonly start: string;
  readonly token: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Staging files of waiting writers live up to the lock timeout; older ones of dead PIDs are litter. */
const STAGING_MAX_AGE_MS = 5 * 60_000;
/** A lock file that cannot be parsed is left alone this long (its writer may be mid-write). */
const UNPARSEABLE_GRACE_MS = 10_000;

/** Locks held by this process, so that concurrent callers in one process queue instead of polling. */
const inProcess = new Map<string, Promise<void>>();

/**
 * Runs `fn` while holding the lock `<target>.lock`; the lock is released when `fn` settles.
 * `fn` receives `stillHeld()`, which a writer calls right before it commits (renames) to make
 * sure nobody broke the lock meanwhile.
 *
 * - The lock file is written under a unique name and hard-linked to `<target>.lock`, so it
 *   never exists without its owner's identity (pid, host, process start time, random token).
 * - A lock whose owner is on this host (same host name and PID namespace) and no longer runs
 *   (or whose PID now belongs to a process started at another time) is stale: under the break
 *   guard `<target>.lock-breaking`, it is read again and removed only if it is still that lock
 *   (see breakStale). Locks of other hosts or containers are never broken automatically.
 * - Otherwise the caller polls with growing pauses until `timeoutMs`, then throws `AuthTsError`
 *   `USER_FILE_LOCKED` naming the owner. A lock that cannot be created at all (a directory this
 *   process may not write) throws `USER_FILE_WRITE`.
 *
 * @example
 * ```ts
 * await withFileLock('/etc/authts/users', async (stillHeld) => {
 *   // read, write a temp file, then: if (await stillHeld()) rename it over the file
 * });
 * ```
 */
export async function withFileLock<T>(
  target: string,
  fn: (stillHeld: () => Promise<boolean>) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const lockPath = `${target}.lock`;
  const previous = inProcess.get(lockPath) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => {
    done = resolve;
  });
  const chained = previous.then(() => mine);
  inProcess.set(lockPath, chained);
  await previous;
  try {
    const owner = await acquire(lockPath, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      return await fn(async () => (await readOwnerText(lockPath)) === formatOwner(owner));
    } finally {
      await release(lockPath, owner);
    }
  } finally {
    done();
    if (inProcess.get(lockPath) === chained) inProcess.delete(lockPath);
  }
}

async function acquire(lockPath: string, timeoutMs: number): Promise<LockOwner> {
  const owner = newOwner();
  const text = formatOwner(owner);
  const dir = dirname(lockPath);
  const staging = join(dir, `.${basename(lockPath)}.${owner.pid}.${owner.token}`);
  const deadline = Date.now() + timeoutMs;
  let pause = 5;
  try {
    await writeFile(staging, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    throw new AuthTsError('USER_FILE_WRITE', `cannot create the lock ${lockPath}: ${describe(err)}`, { cause: err });
  }
  try {
    for (;;) {
      try {
        await link(staging, lockPath);
        return owner;
      } catch (err) {
        if (code(err) !== 'EEXIST') {
          if (code(err) === 'EPERM' || code(err) === 'ENOTSUP' || code(err) === 'EOPNOTSUPP') {
            // A file system without hard links: create the lock directly (its content lands a
            // moment later; readers give an unreadable lock a grace period).
            if (await createDirectly(lockPath, text)) return owner;
          } else {
            throw new AuthTsError('USER_FILE_WRITE', `cannot create the lock ${lockPath}: ${describe(err)}`, { cause: err });
          }
        }
      }
      const seen = await readOwnerText(lockPath);
      if (seen === undefined) continue; // released meanwhile
      // Broken (or gone meanwhile): try to take it at once; otherwise wait like for a live owner.
      if ((await isStale(lockPath, seen)) && (await breakStale(lockPath, seen, owner))) continue;
      if (Date.now() >= deadline) {
        const holder = parseOwner(seen);
        throw new AuthTsError(
          'USER_FILE_LOCKED',
          holder
            ? `${lockPath} is held by process ${holder.pid} on ${holder.host}; remove it if that process no longer runs`
            : `${lockPath} exists and is not a lock authts can read; remove it if no writer runs`,
        );
      }
      await sleep(pause + Math.floor(Math.random() * pause));
      pause = Math.min(pause * 2, 100);
    }
  } finally {
    await unlink(staging).catch(() => undefined);
  }
}

async function createDirectly(lockPath: string, text: string): Promise<boolean> {
  try {
    await writeFile(lockPath, text, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw new AuthTsError('USER_FILE_WRITE', `cannot create the lock ${lockPath}: ${describe(err)}`, { cause: err });
  }
}

/** Removes the lock only if it is still ours (a broken and retaken lock belongs to another). */
async function release(lockPath: string, owner: LockOwner): Promise<void> {
  if ((await readOwnerText(lockPath)) === formatOwner(owner)) await unlink(lockPath).catch(() => undefined);
}

async function isStale(lockPath: string, text: string): Promise<boolean> {
  const holder = parseOwner(text);
  if (!holder) {
    const info = await stat(lockPath).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > UNPARSEABLE_GRACE_MS;
  }
  if (holder.host !== localHost()) return false;
  return !isRunning(holder.pid, holder.start);
}

/**
 * Removes the stale lock `seen` — only that lock. Judging a lock stale and removing it are two
 * steps, and between them its dead owner's lock may have been released normally (the owner
 * exits right after) and a live writer's lock taken in its place: removing "whatever is at
 * lockPath" then would take a live lock away. So a breaker first takes the break guard
 * `<lock>-breaking` (created exclusively), then re-reads the lock: while it holds the guard no
 * other breaker removes anything, and a lock of a dead owner can be removed by nobody else (its
 * owner is gone, and no writer can create a lock where one exists). If the lock still reads
 * `seen` — tokens are random, so that is the same lock — removing it removes exactly that one.
 * True when the lock is gone or was replaced (worth trying to take at once); false when another
 * breaker holds the guard (the caller waits as it would for a live owner).
 */
async function breakStale(lockPath: string, seen: string, me: LockOwner): Promise<boolean> {
  const guard = `${lockPath}-breaking`;
  if (!(await takeBreakGuard(guard, me))) return false;
  try {
    if ((await readOwnerText(lockPath)) !== seen) return true;
    await unlink(lockPath).catch((err: unknown) => {
      if (code(err) !== 'ENOENT') {
        throw new AuthTsError('USER_FILE_LOCKED', `cannot remove the stale lock ${lockPath}: ${describe(err)}`, { cause: err });
      }
    });
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/**
 * Breaks the lock at `lockPath` if it still reads `seen` (see breakStale); for tests that play
 * a breaker whose reading went stale.
 *
 * @internal
 */
export async function breakStaleLock(lockPath: string, seen: string): Promise<void> {
  await breakStale(lockPath, seen, newOwner());
}

/** This process as a lock owner, with a fresh random token. */
function newOwner(): LockOwner {
  return { pid: process.pid, host: localHost(), start: processStart(process.pid), token: randomBytes(8).toString('hex') };
}

/**
 * Creates the break guard; false when another breaker holds it. A guard is held for a few file
 * operations: one whose owner no longer runs (a breaker killed mid-break), or that cannot be
 * read after {@link UNPARSEABLE_GRACE_MS}, is removed so that the next attempt can take it.
 */
async function takeBreakGuard(guard: string, me: LockOwner): Promise<boolean> {
  try {
    await writeFile(guard, formatOwner(me), { flag: 'wx', mode: 0o644 });
    return true;
  } catch (err) {
    if (code(err) !== 'EEXIST') {
      throw new AuthTsError('USER_FILE_WRITE', `cannot create ${guard}: ${describe(err)}`, { cause: err });
    }
  }
  const text = await readFile(guard, 'utf8').catch(() => undefined);
  if (text !== undefined && (await isStale(guard, text))) await unlink(guard).catch(() => undefined);
  return false;
}

/**
 * Deletes leftovers of killed writers in `dir`: staging and stale-lock files of `lockPath` and
 * temp files of `target` (named `.<name>.tmp.<pid>.<hex>`) whose process no longer runs. Called
 * with the lock held, so no live writer of this file has a temp file.
 *
 * @example
 * ```ts
 * await removeLeftovers('/etc/authts/users'); // after SIGKILLed writers
 * ```
 */
export async function removeLeftovers(target: string): Promise<void> {
  const dir = dirname(target);
  const name = basename(target);
  const prefixes = [`.${name}.tmp.`, `.${name}.lock.`];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const prefix = prefixes.find((p) => entry.startsWith(p));
    if (prefix === undefined) continue;
    const m = /^(\d+)\.[0-9a-f]+$/.exec(entry.slice(prefix.length));
    if (!m || isRunning(Number(m[1]), '')) continue;
    const path = join(dir, entry);
    if (prefix !== prefixes[0]) {
      // A writer of another host waiting for the lock has a staging file too: only old ones go.
      const info = await stat(path).catch(() => undefined);
      if (!info || Date.now() - info.mtimeMs < STAGING_MAX_AGE_MS) continue;
    }
    await unlink(path).catch(() => undefined);
  }
}

function formatOwner(o: LockOwner): string {
  return `pid=${o.pid}\nhost=${o.host}\nstart=${o.start}\ntoken=${o.token}\n`;
}

function parseOwner(text: string): LockOwner | undefined {
  const m = /^pid=(\d+)\nhost=([^\n]*)\nstart=([^\n]*)\ntoken=([0-9a-f]+)\n$/.exec(text);
  if (!m) return undefined;
  return { pid: Number(m[1]), host: m[2] ?? '', start: m[3] ?? '', token: m[4] ?? '' };
}

async function readOwnerText(lockPath: string): Promise<string | undefined> {
  try {
    return await readFile(lockPath, 'utf8');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw new AuthTsError('USER_FILE_LOCKED', `cannot read the lock ${lockPath}: ${describe(err)}`, { cause: err });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True while `pid` runs (and, when `start` is known, is the same process that wrote it). */
function isRunning(pid: number, start: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return code(err) === 'EPERM';
  }
  if (start === '') return true;
  const now = processStart(pid);
  return now === '' || now === start;
}

/**
 * Where PIDs mean something: the host name plus, on Linux, the PID namespace — processes of two
 * containers sharing a volume (even under one host name) never judge each other's locks.
 */
function localHost(): string {
  try {
    return `${hostname()} ${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return hostname();
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); '' where unavailable. */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
