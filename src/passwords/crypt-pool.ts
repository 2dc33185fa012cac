/**
 * The worker pool that runs `crypt-worker` off the event loop, created on first use.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { AuthTsError } from '../errors.js';
import type { CryptTask } from './crypt-worker.js';

/** Idle workers above piscina's minimum exit after this long. */
const IDLE_TIMEOUT_MS = 30_000;

let pool: Piscina<CryptTask, string | null> | undefined;

/**
 * The worker sits next to this module with the same extension. Compiled, that is
 * `crypt-worker.js`. Run from source (vitest, tsx), this module is a `.ts` file and so is the
 * worker; a worker thread does not inherit the parent's TypeScript loader, so it gets tsx
 * through `--import` (resolved from here, so the working directory does not matter).
 */
function createPool(): Piscina<CryptTask, string | null> {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(`./crypt-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
  const execArgv = fromSource
    ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
    : undefined;
  return new Piscina<CryptTask, string | null>({
    filename,
    idleTimeout: IDLE_TIMEOUT_MS,
    recordTiming: false,
    ...(execArgv ? { execArgv } : {}),
  });
}

/**
 * Runs one crypt() recomputation on the pool: the recomputed hash, or `null` when the stored
 * setting is malformed. Throws `AuthTsError` `PROVIDER_UNAVAILABLE` when the pool itself fails
 * (a worker that cannot start), which is not a wrong password.
 *
 * @example
 * ```ts
 * await runCrypt({ scheme: 'md5', password: 'pw', setting: '$apr1$r31.....' }); // '$apr1$r31.....$…'
 * ```
 */
export async function runCrypt(task: CryptTask): Promise<string | null> {
  pool ??= createPool();
  try {
    return await pool.run(task);
  } catch (err) {
    throw new AuthTsError('PROVIDER_UNAVAILABLE', 'the password hashing worker pool failed', { cause: err });
  }
}


/**
 * Stops the password worker threads. Safe to call more than once; a later verification starts
 * a new pool. Idle workers never keep the process alive, so this is for orderly shutdown and
 * tests.
 *
 * @example
 * ```ts
 * afterAll(() => closePasswordWorkers());
 * ```
 */
export async function closePasswordWorkers(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.destroy();
}
