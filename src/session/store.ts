/**
 * Where sessions live on the server (`AuthTsSessionStore`): an in-process map, or Redis shared
 * by several authts processes and machines. The cookie only names a session; the store decides
 * whether it is still alive, so a session destroyed at logout (or expired) is refused even when
 * a copy of its cookie is replayed.
 *
 * A store is keyed by the SHA-256 of the session id, never the id itself: reading the store
 * gives nothing to put in a cookie. A store that cannot answer (Redis down or slow, bounded
 * wait) rejects with `AuthTsError` `SESSION_UNAVAILABLE`; callers fail closed (503).
 */
import { createHash } from 'node:crypto';
import { openBoundedRedis } from '../authn/redis.js';

/** What the server knows of one session. Times are ms since the epoch. */
export interface SessionRecord {
  /** The authenticated user. */
  readonly user: string;
  readonly createdAt: number;
  /** The absolute end (`SessionMaxAge` after login), whatever the activity. */
  readonly expiresAt: number;
}

/** Sessions by id. */
export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Stores a new session that dies after `idleMs` without use from `now`, or at `record.expiresAt`. */
  create(id: string, record: SessionRecord, now: number, idleMs: number): Promise<void>;
  /**
   * The live session `id` names, its idle time restarted from `now`; `undefined` when there is
   * none (never created, destroyed, idle too long, or past its absolute end).
   */
  touch(id: string, now: number, idleMs: number): Promise<SessionRecord | undefined>;
  /** Forgets session `id` (logout). Destroying an unknown session is not an error. */
  destroy(id: string): Promise<void>;
  /** Releases the connection, if any. Idempotent. */
  close(): Promise<void>;
}

/** The store key of a session id: its SHA-256, in hex. */
export function sessionKey(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** Options of {@link createMemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** At most this many sessions; the oldest go first (default 100 000). */
  readonly maxEntries?: number;
}

/**
 * An in-process store (`AuthTsSessionStore memory`, the default): the sessions of one process,
 * lost when it stops (everyone signs in again, which fails closed).
 *
 * @example
 * ```ts
 * const store = createMemorySessionStore();
 * await store.create(id, { user: 'alice', createdAt: now, expiresAt: now + 8 * 3600_000 }, now, 1800_000);
 * ```
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('createMemorySessionStore: options.maxEntries must be an integer >= 1');
  const sessions = new Map<string, { record: SessionRecord; idleUntil: number }>();

  function sweep(at: number): void {
    for (const [key, entry] of sessions) {
      if (entry.idleUntil <= at || entry.record.expiresAt <= at) sessions.delete(key);
    }
    // Still full of live sessions: the oldest logins go first (Map keeps insertion order).
    for (const key of sessions.keys()) {
      if (sessions.size < maxEntries) break;
      sessions.delete(key);
    }
  }

  return {
    kind: 'memory',
    create: async function memoryCreate(id, record, at, idleMs) {
      if (sessions.size >= maxEntries) sweep(at);
      sessions.set(sessionKey(id), { record, idleUntil: Math.min(at + idleMs, record.expiresAt) });
    },
    touch: async function memoryTouch(id, at, idleMs) {
      const key = sessionKey(id);
      const entry = sessions.get(key);
      if (entry === undefined) return undefined;
      if (entry.idleUntil <= at || entry.record.expiresAt <= at) {
        sessions.delete(key);
        return undefined;
      }
      entry.idleUntil = Math.min(at + idleMs, entry.record.expiresAt);
      return entry.record;
    },
    destroy: async function memoryDestroy(id) {
      sessions.delete(sessionKey(id));
    },
    close: async function memoryClose() {
      sessions.clear();
    },
  };
}

/** Options of {@link createRedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** `redis://host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Keys start with this (default `authts:session:`). */
  readonly prefix?: string;
  /** The longest an operation may take (default 250 ms). */
  readonly timeoutMs?: number;
}

// Reads a session and restarts its idle time in one step: the key's TTL is the idle time,
// capped by the absolute end kept in the record (ARGV: now, idle ms).
const TOUCH_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if not value then return false end
local ok, record = pcall(cjson.decode, value)
if not ok or type(record) ~= 'table' or type(record.expiresAt) ~= 'number' then
  redis.call('DEL', KEYS[1])
  return false
end
local now = tonumber(ARGV[1])
local ttl = math.min(tonumber(ARGV[2]), record.expiresAt - now)
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('PEXPIRE', KEYS[1], math.floor(ttl))
return value
`;

/**
 * A store in Redis (`AuthTsSessionStore redis:…`), shared by every authts using the same server:
 * a logout on one is seen by all. Each session is one key whose TTL is the idle time left.
 *
 * @example
 * ```ts
 * const store = await createRedisSessionStore({ url: 'redis://127.0.0.1:6379' });
 * const record = await store.touch(id, Date.now(), 1800_000);
 * await store.close();
 * ```
 */
export async function createRedisSessionStore(options: RedisSessionStoreOptions): Promise<SessionStore> {
  if (typeof options?.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError('createRedisSessionStore: options.url must be a redis:// or rediss:// URL');
  }
  const prefix = options.prefix ?? 'authts:session:';
  const timeoutMs = options.timeoutMs ?? 250;
  const redis = await openBoundedRedis({ url: options.url, timeoutMs, code: 'SESSION_UNAVAILABLE', what: 'the session store' });
  const { client, bounded } = redis;
  return {
    kind: 'redis',
    create: async function redisCreate(id, record, at, idleMs) {
      const ttl = Math.max(1, Math.floor(Math.min(idleMs, record.expiresAt - at)));
      await bounded('SET', () => client.set(prefix + sessionKey(id), JSON.stringify(record), { expiration: { type: 'PX', value: ttl } }));
    },
    touch: async function redisTouch(id, at, idleMs) {
      const value = await bounded('EVAL', () => client.eval(TOUCH_SCRIPT, { keys: [prefix + sessionKey(id)], arguments: [String(at), String(idleMs)] }));
      if (typeof value !== 'string') return undefined;
      return parseRecord(value);
    },
    destroy: async function redisDestroy(id) {
      await bounded('DEL', () => client.del(prefix + sessionKey(id)));
    },
    close: function redisClose() {
      return redis.close();
    },
  };
}

/** A record read back from Redis, or `undefined` when it is not one (never trusted blindly). */
function parseRecord(value: string): SessionRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { user, createdAt, expiresAt } = parsed as Record<string, unknown>;
  if (typeof user !== 'string' || typeof createdAt !== 'number' || typeof expiresAt !== 'number') return undefined;
  return { user, createdAt, expiresAt };
}
