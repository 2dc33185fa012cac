/**
 * The one way authts talks to Redis (the credential cache's and brute-force regulation's
 * stores): node-redis, loaded only when a Redis store is made, connecting in the background and
 * reconnecting by itself, with no offline queue, and every operation bounded in time. While the
 * client is not connected, or an operation takes longer than the bound, it rejects with an
 * `AuthTsError` carrying the caller's code; the callers decide what an outage means.
 */
import { AuthTsError, type AuthTsErrorCode } from '../errors.js';

/** The subset of node-redis's client that authts uses. */
export interface RedisLike {
  isReady: boolean;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  connect(): Promise<unknown>;
  exists(key: string): Promise<number>;
  set(key: string, value: string, options: { expiration: { type: 'PX'; value: number } }): Promise<unknown>;
  pTTL(key: string): Promise<number>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  del(keys: string[] | string): Promise<number>;
  destroy(): void;
}

/** A connected-in-the-background client whose operations are bounded in time. */
export interface BoundedRedis {
  readonly client: RedisLike;
  /**
   * Runs `op` when connected, within the time bound; rejects with `AuthTsError(code)` otherwise.
   * While the client's first connection attempt is under way it waits for it, at most the
   * connect timeout (the bound, and at least 1 s); a failed first attempt fails at once.
   */
  bounded<T>(what: string, op: () => Promise<T>): Promise<T>;
  /** Deletes every key starting with `prefix` (best effort: nothing when not connected). */
  clearPrefix(prefix: string): Promise<void>;
  /** Destroys the client. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openBoundedRedis}. */
export interface BoundedRedisOptions {
  /** `redis://host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** The longest an operation may take before it fails (ms, > 0). */
  readonly timeoutMs: number;
  /** The code of every failure (`CACHE_UNAVAILABLE`, `REGULATION_UNAVAILABLE`). */
  readonly code: AuthTsErrorCode;
  /** What the store is, for messages (`the credential cache`). */
  readonly what: string;
}

/**
 * Creates a node-redis client for `url` and starts connecting it in the background.
 *
 * @example
 * ```ts
 * const redis = await openBoundedRedis({ url: 'redis://127.0.0.1:6379', timeoutMs: 250, code: 'CACHE_UNAVAILABLE', what: 'the credential cache' });
 * const n = await redis.bounded('EXISTS', () => redis.client.exists('k'));
 * await redis.close();
 * ```
 */
export async function openBoundedRedis(options: BoundedRedisOptions): Promise<BoundedRedis> {
  const { url, timeoutMs, code, what } = options;
  const { createClient } = await import('redis');
  // The first connection may take longer than one operation's bound on a loaded machine.
  const connectTimeoutMs = Math.max(timeoutMs, 1_000);
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
    },
  }) as unknown as RedisLike;
  let closed = false;
  // Without a listener an 'error' event would crash the process; outages are reported per use.
  client.on('error', () => {});
  // Until the first connection attempt has succeeded or failed, an operation waits for it (at
  // most the connect timeout): the first requests after a start must not all miss the store.
  // After that an outage fails at once; node-redis reconnects in the background.
  let firstAttemptDone = false;
  const firstAttempt = new Promise<void>((resolve) => {
    const done = (): void => {
      firstAttemptDone = true;
      resolve();
    };
    client.on('error', done);
    client.connect().then(done, done);
  });

  async function whenReady(op: string): Promise<void> {
    if (client.isReady) return;
    if (!firstAttemptDone) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([firstAttempt, new Promise((resolve) => (timer = setTimeout(resolve, connectTimeoutMs)))]);
      clearTimeout(timer);
      if (client.isReady && !closed) return;
    }
    throw new AuthTsError(code, `redis ${op}: not connected`);
  }

  async function bounded<T>(op: string, run: () => Promise<T>): Promise<T> {
    if (closed) throw new AuthTsError(code, `${what} is closed`);
    await whenReady(op);
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        reject(new AuthTsError(code, `redis ${op}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      run().then(
        (value) => {
          clearTimeout(timer);
          resolvePromise(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(new AuthTsError(code, `redis ${op} failed`, { cause: err }));
        },
      );
    });
  }

  return {
    client,
    bounded,
    clearPrefix: async function clearRedisPrefix(prefix) {
      if (closed || !client.isReady) return;
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
        if (keys.length > 0) await client.del(keys);
      }
    },
    close: async function closeRedis() {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}
