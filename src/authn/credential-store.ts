/**
 * Where verified credentials are remembered (mod_authn_socache's `AuthnCacheSOCache`): an
 * in-process LRU, or Redis shared by several authts processes and machines.
 *
 * A store only ever holds opaque keys (hex of an HMAC, see `credentialCacheKey`) with an expiry;
 * it never sees a password, a user name or an unkeyed hash of either. A store that cannot
 * answer (Redis down, slow) rejects within its bounded wait; the caller treats that as a miss.
 */
import { openBoundedRedis } from './redis.js';

/** A set of opaque keys, each alive until its TTL ends. */
export interface CredentialStore {
  /** `'memory'` or `'redis'`. */
  readonly kind: 'memory' | 'redis';
  /** True when `key` was put less than its TTL ago. Rejects with `AuthTsError` `CACHE_UNAVAILABLE`. */
  has(key: string): Promise<boolean>;
  /** Remembers `key` for `ttlMs` milliseconds (> 0). Rejects with `AuthTsError` `CACHE_UNAVAILABLE`. */
  put(key: string, ttlMs: number): Promise<void>;
  /** Forgets every key of this store. */
  clear(): Promise<void>;
  /** Releases the connection, if any. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createMemoryCredentialStore}. */
export interface MemoryCredentialStoreOptions {
  /** At most this many keys; the least recently used goes first (default 10 000). */
  readonly maxEntries?: number;
  /** The clock, in milliseconds (default `Date.now`); tests inject their own. */
  readonly now?: () => number;
}

/**
 * An in-process LRU of keys with expiry (`AuthnCacheSOCache memory`, `shmcb`).
 *
 * @example
 * ```ts
 * const store = createMemoryCredentialStore({ maxEntries: 1000 });
 * await store.put(key, 300_000);
 * await store.has(key); // true for 5 minutes
 * ```
 */
export function createMemoryCredentialStore(options: MemoryCredentialStoreOptions = {}): CredentialStore {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError('createMemoryCredentialStore: options.maxEntries must be an integer >= 1');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createMemoryCredentialStore: options.now must be a function');
  /** key → expiry; a Map keeps insertion order, so the first key is the least recently used. */
  const entries = new Map<string, number>();
  return {
    kind: 'memory',
    has: async function memoryHas(key) {
      const expires = entries.get(key);
      if (expires === undefined) return false;
      entries.delete(key);
      if (now() >= expires) return false;
      entries.set(key, expires);
      return true;
    },
    put: async function memoryPut(key, ttlMs) {
      if (!(ttlMs > 0)) return;
      entries.delete(key);
      entries.set(key, now() + ttlMs);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    clear: async function memoryClear() {
      entries.clear();
    },
    close: async function memoryClose() {
      entries.clear();
    },
  };
}

/** Options of {@link createRedisCredentialStore}. */
export interface RedisCredentialStoreOptions {
  /** `redis://host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prepended to every key (default `authts:authn:`); tests use their own. */
  readonly prefix?: string;
  /** The longest an operation may take before it counts as a failure (default 250 ms). */
  readonly timeoutMs?: number;
}

/**
 * A store in Redis: `SET prefix+key 1 PX ttl`, `EXISTS prefix+key`. The client connects in the
 * background and reconnects by itself; while it is not connected every operation fails at once
 * (no offline queue), and no operation waits longer than `timeoutMs`.
 * `redis` is loaded only when a Redis store is made.
 *
 * @example
 * ```ts
 * const store = await createRedisCredentialStore({ url: 'redis://127.0.0.1:6379' });
 * await store.put(key, 300_000);
 * await store.close();
 * ```
 */
export async function createRedisCredentialStore(options: RedisCredentialStoreOptions): Promise<CredentialStore> {
  if (typeof options?.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError('createRedisCredentialStore: options.url must be a redis:// or rediss:// URL');
  }
  const prefix = options.prefix ?? 'authts:authn:';
  const timeoutMs = options.timeoutMs ?? 250;
  if (!(timeoutMs > 0)) throw new TypeError('createRedisCredentialStore: options.timeoutMs must be > 0');
  const redis = await openBoundedRedis({ url: options.url, timeoutMs, code: 'CACHE_UNAVAILABLE', what: 'the credential cache' });
  const { client, bounded } = redis;

  return {
    kind: 'redis',
    has: function redisHas(key) {
      return bounded('EXISTS', async () => (await client.exists(prefix + key)) === 1);
    },
    put: async function redisPut(key, ttlMs) {
      if (!(ttlMs > 0)) return;
      await bounded('SET', () => client.set(prefix + key, '1', { expiration: { type: 'PX', value: Math.ceil(ttlMs) } }));
    },
    clear: function redisClear() {
      return redis.clearPrefix(prefix);
    },
    close: function redisClose() {
      return redis.close();
    },
  };
}
