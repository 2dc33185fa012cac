/**
 * Files under the DocumentRoot, opened once per request and known by the path the kernel
 * resolved. `authts serve` decides access on a file's real path and then serves bytes; both
 * must be about the same file. Opening first and asking the kernel where the descriptor points
 * (`/proc/self/fd/N`) makes that so: a symlink swapped in after the decision cannot redirect
 * the bytes, because they are read from the descriptor the decision was made about.
 *
 * Synchronous on purpose: open/fstat/readlink on a local filesystem take microseconds, while
 * each asynchronous call is a round trip through libuv's thread pool that costs the event
 * loop more than the call itself (docs/performance.md has the measurements).
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** A file or directory opened by {@link openReal}; the holder must call `close()` once. */
export interface OpenedFile {
  readonly fd: number;
  /** The path the descriptor refers to, with every symlink resolved. */
  readonly realPath: string;
  readonly stats: Stats;
  close(): void;
}

/**
 * `O_NONBLOCK`: opening a FIFO for reading would otherwise wait for a writer and hang the
 * event loop; regular files and directories ignore the flag.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Whether `/proc/self/fd` tells where descriptors point (Linux); probed once. */
let procFdWorks: boolean | undefined;

/** The path a descriptor refers to, or `undefined` when the kernel cannot say. */
function descriptorPath(fd: number, openedAs: string, stats: Stats, viaProc: boolean): string | undefined {
  if (viaProc && procFdWorks !== false) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      procFdWorks = true;
      // A file unlinked since it was opened reads "<path> (deleted)": it has no real path.
      return stats.nlink === 0 ? undefined : target;
    } catch {
      if (procFdWorks === true) return undefined;
      procFdWorks = false;
    }
  }
  // Without /proc: resolve the name again and make sure it still names the opened file.
  try {
    const real = realpathSync.native(openedAs);
    const now = statSync(real);
    return now.ino === stats.ino && now.dev === stats.dev ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens `file` (absolute; symlinks followed) for reading and learns its real path from the
 * descriptor. Returns the error code instead (`ENOENT`, `ENOTDIR`, `EACCES`, `ELOOP`…) when it
 * cannot be opened, and `ESTALE` when its real path cannot be told (unlinked meanwhile).
 * `viaProc: false` skips `/proc/self/fd` and uses the portable way (realpath, then a check that
 * it names the same inode), which is also what happens where `/proc` is missing.
 *
 * @example
 * ```ts
 * const opened = openReal('/srv/www/pub/link.txt');
 * if (typeof opened !== 'string') {
 *   opened.realPath; // '/srv/www/private/secret.txt'
 *   opened.close();
 * }
 * ```
 */
export function openReal(file: string, viaProc = true): OpenedFile | string {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'EIO';
  }
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    closeSync(fd);
  };
  try {
    const stats = fstatSync(fd);
    const realPath = descriptorPath(fd, file, stats, viaProc);
    if (realPath === undefined) {
      close();
      return 'ESTALE';
    }
    return { fd, realPath, stats, close };
  } catch (error) {
    close();
    return (error as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

/**
 * Opens `name` inside the opened directory `dir`, so that the directory cannot be swapped for
 * another between the two opens (through `/proc/self/fd/N/name` where the kernel offers it).
 */
export function openInDirectory(dir: OpenedFile, name: string): OpenedFile | string {
  const base = procFdWorks === true ? `/proc/self/fd/${dir.fd}` : dir.realPath;
  return openReal(path.join(base, name));
}
