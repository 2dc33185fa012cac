/**
 * Where brute-force regulation (`AuthTsRegulationStore`) keeps its counters and bans: an
 * in-process map, or Redis shared by several authts processes and machines.
 *
 * A store sees only opaque keys (`u:`/`i:` and the hex of an HMAC of the normalized user name
 * or of the client's address), never a password or a user name. Counting uses a fixed window
 * that opens at the first failure: `maxRetries` failures before the window (`findTimeMs`) ends
 * ban the key for `banMs`; the counter is then dropped. A store that cannot answer (Redis down,
 * slow) rejects within its bounded wait with `AuthTsError` `REGULATION_UNAVAILABLE`.
 */
import { openBoundedRedis } from './redis.js';

/** The window and ban of one failure. */
export interface RegulationLimits {
  /** Failures within the window that ban the key (>= 1). */
  readonly maxRetries: number;
  /** The window, in ms, from the first failure counted. */
  readonly findTimeMs: number;
  /** How long a ban lasts, in ms. */
  readonly banMs: number;
}

/** Failure counters and bans by opaque key. */
export interface RegulationStore {
  readonly kind: 'memory' | 'redis';
  /** The longest remaining ban among `keys`, in ms; 0 when none is banned. */
  bannedFor(keys: readonly string[]): Promise<number>;
  /** Counts one failure for each of `keys`; answers the longest ban this started (ms), or 0. */
  fail(keys: readonly string[], limits: RegulationLimits): Promise<number>;
  /** Forgets the failures counted for `key` (not its ban). */
  forget(key: string): Promise<void>;
  /** Releases the connection, if any. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createMemoryRegulationStore}. */
export interface MemoryRegulationStoreOptions {
  /** The clock, in ms (default `Date.now`); tests inject their own. */
  readonly now?: () => number;
  /** At most this many counters and as many bans; the oldest go first (default 100 000). */
  readonly maxEntries?: number;
}

/**
 * An in-process store (`AuthTsRegulationStore memory`, the default): one process's view.
 *
 * @example
 * ```ts
 * const store = createMemoryRegulationStore();
 * await store.fail(['i:…'], { maxRetries: 5, findTimeMs: 600_000, banMs: 600_000 });
 * ```
 */
export function createMemoryRegulationStore(options: MemoryRegulationStoreOptions = {}): RegulationStore {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('createMemoryRegulationStore: options.now must be a function');
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('createMemoryRegulationStore: options.maxEntries must be an integer >= 1');
  const counters = new Map<string, { count: number; until: number }>();
  const bans = new Map<string, number>();

  function bound(map: Map<string, unknown>): void {
    while (map.size > maxEntries) {
      const oldest = map.keys().next();
      if (oldest.done) break;
      map.delete(oldest.value);
    }
  }

  function remaining(key: string, at: number): number {
    const until = bans.get(key);
    if (until === undefined) return 0;
    if (until <= at) {
      bans.delete(key);
      return 0;
    }
    return until - at;
  }

  return {
    kind: 'memory',
    bannedFor: async function memoryBannedFor(keys) {
      const at = now();
      return Math.max(0, ...keys.map((key) => remaining(key, at)));
    },
    fail: async function memoryFail(keys, limits) {
      const at = now();
      let started = 0;
      for (const key of keys) {
        let counter = counters.get(key);
        if (counter === undefined || counter.until <= at) {
          counter = { count: 0, until: at + limits.findTimeMs };
          counters.delete(key);
          counters.set(key, counter);
          bound(counters);
        }
        counter.count++;
        if (counter.count >= limits.maxRetries) {
          counters.delete(key);
          bans.delete(key);
          bans.set(key, at + limits.banMs);
          bound(bans);
          started = Math.max(started, limits.banMs);
        }
      }
      return started;
    },
    forget: async function memoryForget(key) {
      counters.delete(key);
    },
    close: async function memoryClose() {
      counters.clear();
      bans.clear();
    },
  };
}

/** Options of {@link createRedisRegulationStore}. */
export interface RedisRegulationStoreOptions {
  /** `redis://host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prepended to every key (default `authts:reg:`); tests use their own. */
  readonly prefix?: string;
  /** The longest an operation may take before it fails (default 250 ms). */
  readonly timeoutMs?: number;
}

// One failure, atomically: count it in a window that opens with the first failure; at the
// limit, start the ban and drop the counter. KEYS: counter, ban; ARGV: window ms, max, ban ms.
const FAIL_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return tonumber(ARGV[3])
end
return 0`;

/**
 * A store in Redis shared by every authts that names the same server: counters are
 * `prefix+f:key` (INCR with a PEXPIRE set by the first failure, in one Lua script), bans
 * `prefix+b:key` (SET PX), read with PTTL. No operation waits longer than `timeoutMs`.
 *
 * @example
 * ```ts
 * const store = await createRedisRegulationStore({ url: 'redis://127.0.0.1:6379' });
 * await store.bannedFor(['u:…', 'i:…']); // 0 when neither is banned
 * await store.close();
 * ```
 */
export async function createRedisRegulationStore(options: RedisRegulationStoreOptions): Promise<RegulationStore> {
  if (typeof options?.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError('createRedisRegulationStore: options.url must be a redis:// or rediss:// URL');
  }
  const prefix = options.prefix ?? 'authts:reg:';
  const timeoutMs = options.timeoutMs ?? 250;
  if (!(timeoutMs > 0)) throw new TypeError('createRedisRegulationStore: options.timeoutMs must be > 0');
  const redis = await openBoundedRedis({ url: options.url, timeoutMs, code: 'REGULATION_UNAVAILABLE', what: 'the regulation store' });
  const { client, bounded } = redis;
  return {
    kind: 'redis',
    bannedFor: function redisBannedFor(keys) {
      return bounded('PTTL', async () => {
        const ttls = await Promise.all(keys.map((key) => client.pTTL(`${prefix}b:${key}`)));
        return Math.max(0, ...ttls);
      });
    },
    fail: function redisFail(keys, limits) {
      return bounded('EVAL', async () => {
        const answers = await Promise.all(
          keys.map((key) =>
            client.eval(FAIL_SCRIPT, {
              keys: [`${prefix}f:${key}`, `${prefix}b:${key}`],
              arguments: [String(Math.max(1, Math.ceil(limits.findTimeMs))), String(limits.maxRetries), String(Math.max(1, Math.ceil(limits.banMs)))],
            }),
          ),
        );
        return Math.max(0, ...answers.map(Number));
      });
    },
    forget: async function redisForget(key) {
      await bounded('DEL', () => client.del(`${prefix}f:${key}`));
    },
    close: function redisClose() {
      return redis.close();
    },
  };
}
