/**
 * Digest nonces and the nonce-count store.
 *
 * A nonce is base64url of 8 bytes of issue time (ms since the epoch, big-endian), 8 random
 * bytes, and an HMAC-SHA256 with the run secret over those 16 bytes, the realm, the opaque
 * value and the algorithm. Any authts process of the same run (`authts serve --workers N`)
 * can check a nonce another one issued, no state is kept per challenge, and a nonce is worth
 * nothing in another realm, with another opaque, for another algorithm or after a restart.
 *
 * Replay protection keeps, per nonce in use, the highest `nc` accepted ({@link NonceCountStore}):
 * a count that does not increase is a replay. The in-process store is bounded (least recently
 * used nonces are forgotten first); a forgotten nonce is never trusted again: every nonce issued
 * no later than the newest forgotten one is answered as stale, so the client takes a new one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { openBoundedRedis } from './redis.js';

const TIME_BYTES = 8;
const RANDOM_BYTES = 8;
const MAC_BYTES = 32;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
const NONCE_RE = /^[A-Za-z0-9_-]{64}$/;

/** What a nonce is bound to besides its time. */
export interface NonceBinding {
  readonly realm: string;
  readonly opaque: string;
  readonly algorithm: string;
}

function mac(secret: Buffer, head: Buffer, binding: NonceBinding): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update('authts-digest-nonce-v1\0');
  hmac.update(head);
  for (const part of [binding.realm, binding.opaque, binding.algorithm]) {
    hmac.update(`\0${Buffer.byteLength(part)}:`);
    hmac.update(part, 'utf8');
  }
  return hmac.digest();
}

/**
 * A new nonce issued at `now` (ms), bound to `binding`.
 *
 * @example
 * ```ts
 * const nonce = issueNonce(runSecret(), Date.now(), { realm: 'Private', opaque, algorithm: 'MD5' });
 * ```
 */
export function issueNonce(secret: Buffer, now: number, binding: NonceBinding): string {
  const head = Buffer.alloc(TIME_BYTES + RANDOM_BYTES);
  head.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 0);
  randomBytes(RANDOM_BYTES).copy(head, TIME_BYTES);
  return Buffer.concat([head, mac(secret, head, binding)]).toString('base64url');
}

/**
 * The issue time (ms) of `nonce` when it is one of ours for `binding` (HMAC compared in
 * constant time), else undefined (malformed, forged, another realm/opaque/algorithm, or issued
 * under another run secret).
 */
export function nonceIssuedAt(secret: Buffer, nonce: string, binding: NonceBinding): number | undefined {
  if (!NONCE_RE.test(nonce)) return undefined;
  const bytes = Buffer.from(nonce, 'base64url');
  if (bytes.length !== NONCE_BYTES) return undefined;
  const head = bytes.subarray(0, TIME_BYTES + RANDOM_BYTES);
  if (!timingSafeEqual(bytes.subarray(TIME_BYTES + RANDOM_BYTES), mac(secret, head, binding))) return undefined;
  return Number(head.readBigUInt64BE(0));
}

/** A fresh `opaque` value (hex), sent with each challenge and bound into its nonce. */
export function newOpaque(): string {
  return randomBytes(8).toString('hex');
}

/** What the store says about one use of a nonce. */
export type NonceUse =
  /** First use, or a count above every one accepted before: recorded. */
  | 'ok'
  /** The count does not increase (or a one-time nonce was used before): a replay. */
  | 'replay'
  /** The store no longer knows this nonce (or never can): the client must take a new one. */
  | 'forgotten';

/**
 * Where nonce counts are kept. `use` records `nc` for `nonce` (issued at `issuedAt` ms) when it
 * is higher than every count accepted for that nonce; with `oneTime`, a nonce is accepted once.
 * `expiresAt` (ms) is when the nonce expires, after which its count need not be kept; undefined
 * for nonces that do not expire by time (lifetime < 0, or one-time nonces). A store that cannot
 * answer rejects (`AuthTsError`), and the request fails with 500.
 */
export interface NonceCountStore {
  use(nonce: string, issuedAt: number, nc: number, oneTime: boolean, expiresAt?: number): Promise<NonceUse>;
  close(): Promise<void>;
}

/** The default bound of the in-process store (nonces). */
export const DEFAULT_NONCE_ENTRIES = 100_000;

/**
 * The in-process nonce-count store: at most `maxEntries` nonces, least recently used forgotten
 * first. A forgotten nonce may have been used with any count, so from then on a nonce that is
 * not in the store and was issued no later than the newest forgotten one is `forgotten`
 * (answered as stale), never accepted as new.
 *
 * @example
 * ```ts
 * const store = createMemoryNonceStore(1000);
 * await store.use(nonce, issuedAt, 1, false); // 'ok'
 * await store.use(nonce, issuedAt, 1, false); // 'replay'
 * ```
 */
export function createMemoryNonceStore(maxEntries = DEFAULT_NONCE_ENTRIES): NonceCountStore {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('createMemoryNonceStore: maxEntries must be an integer >= 1');
  const seen = new Map<string, { nc: number; issuedAt: number }>();
  let forgottenUpTo = -Infinity;
  return {
    use: async function memoryNonceUse(nonce, issuedAt, nc, oneTime) {
      const last = seen.get(nonce);
      if (last === undefined) {
        if (issuedAt <= forgottenUpTo) return 'forgotten';
      } else {
        if (oneTime || nc <= last.nc) return 'replay';
        seen.delete(nonce);
      }
      seen.set(nonce, { nc, issuedAt });
      while (seen.size > maxEntries) {
        const oldest = seen.entries().next();
        if (oldest.done) break;
        seen.delete(oldest.value[0]);
        forgottenUpTo = Math.max(forgottenUpTo, oldest.value[1].issuedAt);
      }
      return 'ok';
    },
    close: async function memoryNonceClose() {
      seen.clear();
    },
  };
}

/** Options of {@link createRedisNonceStore}. */
export interface RedisNonceStoreOptions {
  /** `redis://host:port[/db]` (or `rediss://`). */
  readonly url: string;
  /** Prepended to every key (default `authts:digest:`); tests use their own. */
  readonly prefix?: string;
  /** The longest an operation may take before it fails (default 250 ms). */
  readonly timeoutMs?: number;
  /**
   * How long the count of a nonce that does not expire by time is kept (default 24 h); such a
   * nonce older than this is answered `forgotten` (stale), never accepted as new.
   */
  readonly retentionMs?: number;
  /** The clock, in ms (default `Date.now`). */
  readonly now?: () => number;
}

// One use, atomically: refuse a count that does not increase (or any second use of a one-time
// nonce), else record it with its time to live. KEYS: the nonce's key; ARGV: nc, ttl ms, one-time.
const USE_SCRIPT = `
local last = redis.call('GET', KEYS[1])
if last and (ARGV[3] == '1' or tonumber(last) >= tonumber(ARGV[1])) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * A nonce-count store in Redis (`AuthTsDigestNonceStore redis:…`), shared by every authts
 * process of the run: a replay sent to another worker is refused there too. A key is
 * `prefix` + the nonce (a public value: nothing secret is stored) holding the highest count,
 * kept until the nonce expires (or `retentionMs` for nonces that do not). An outage or a slow
 * answer rejects with `AuthTsError` `DIGEST_STORE_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const store = await createRedisNonceStore({ url: 'redis://127.0.0.1:6379' });
 * await store.use(nonce, issuedAt, 1, false, issuedAt + 300_000); // 'ok'
 * ```
 */
export async function createRedisNonceStore(options: RedisNonceStoreOptions): Promise<NonceCountStore> {
  const prefix = options.prefix ?? 'authts:digest:';
  const timeoutMs = options.timeoutMs ?? 250;
  const retentionMs = options.retentionMs ?? 86_400_000;
  const now = options.now ?? Date.now;
  if (!(timeoutMs > 0)) throw new TypeError('createRedisNonceStore: options.timeoutMs must be > 0');
  if (!(retentionMs > 0)) throw new TypeError('createRedisNonceStore: options.retentionMs must be > 0');
  const redis = await openBoundedRedis({ url: options.url, timeoutMs, code: 'DIGEST_STORE_UNAVAILABLE', what: 'the Digest nonce store' });
  return {
    use: async function redisNonceUse(nonce, issuedAt, nc, oneTime, expiresAt) {
      const at = now();
      const keepUntil = expiresAt ?? issuedAt + retentionMs;
      if (expiresAt === undefined && keepUntil <= at) return 'forgotten';
      // A second past the end, so that the count outlives every clock the nonce is checked by.
      const ttl = Math.max(1, Math.ceil(keepUntil - at) + 1000);
      const answer = await redis.bounded('EVAL', () =>
        redis.client.eval(USE_SCRIPT, { keys: [`${prefix}${nonce}`], arguments: [String(nc), String(ttl), oneTime ? '1' : '0'] }),
      );
      return answer === 1 ? 'ok' : 'replay';
    },
    close: function redisNonceClose() {
      return redis.close();
    },
  };
}
