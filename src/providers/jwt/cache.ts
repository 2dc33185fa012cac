/**
 * The cache of verified tokens (`AuthTsJwtCache`, `AuthTsJwtCacheEntries`): a token that
 * verified is remembered, so that the same token on a later request costs a SHA-256 and a map
 * look-up instead of a signature check. Its rules:
 *
 * - **Keyed by a hash.** An entry's key is the SHA-256 of the token (with the scope of the
 *   policy and keys that verified it); the token itself is never stored. A token that differs by
 *   one character, a tampered payload under the same header, has another hash and is verified.
 * - **Only grants.** A denied or not-found answer, and a failure to answer (keys unreachable),
 *   is never stored: such a token is verified again every time.
 * - **Never longer than the token.** An entry serves only while now < `exp` (the clock skew that
 *   verification tolerates past `exp` is not extended to it), and, under `AuthTsJwtMaxAge`,
 *   while now < `iat` + max age; never before `nbf` − skew or `iat` − skew (a clock stepped back).
 *   A token without a numeric `exp` is not cached.
 * - **Never longer than its key.** An entry verified with a key of a remote set serves only while
 *   the set holds the very key list the key was taken from; a refresh that brings different
 *   keys (a rotation, a removed key) drops it, and the token is verified again with the new
 *   keys. A hit starts a refresh that is due by age, as a verification would.
 * - **Bounded.** At most `capacity` entries, least recently used evicted first.
 * - **One verification at a time per token**: concurrent requests with the same uncached token
 *   wait for the one in flight (a grant is then read from the cache at each request's own time).
 *
 * Local keys and the HMAC secret do not change while a configuration is loaded; a reload makes a
 * new cache.
 */
import { createHash } from 'node:crypto';
import type { TokenResult } from '../../module.js';
import { verifyJwtDetailed, type JwtPolicy, type KeyOrigin, type KeySources } from './verify.js';

/**
 * The default number of entries (`AuthTsJwtCacheEntries`).
 *
 * @example
 * ```ts
 * new VerifiedTokenCache(DEFAULT_CACHE_ENTRIES);
 * ```
 */
export const DEFAULT_CACHE_ENTRIES = 10_000;

/** The largest `AuthTsJwtCacheEntries` accepted. @example `MAX_CACHE_ENTRIES` → 1000000 */
export const MAX_CACHE_ENTRIES = 1_000_000;

type Granted = Extract<TokenResult, { result: 'granted' }>;

interface Entry {
  readonly answer: Granted;
  /** The entry serves from this instant (ms)… */
  readonly validFromMs: number;
  /** …until just before this one (ms). */
  readonly expiresAtMs: number;
  readonly origin: KeyOrigin;
}

/**
 * What a cache has done so far.
 *
 * @example
 * ```ts
 * const { hits, misses, entries } = cache.stats();
 * ```
 */
export interface TokenCacheStats {
  /** Answers given from the cache. */
  readonly hits: number;
  /** Verifications run for a token the cache did not hold (concurrent requests share one). */
  readonly misses: number;
  /** Entries held now. */
  readonly entries: number;
  /** Entries evicted to stay within the capacity. */
  readonly evictions: number;
}

/**
 * A bounded LRU map from token hashes to granted answers, with the rules of this module. Time is
 * passed in by the caller (the injected clock).
 *
 * @example
 * ```ts
 * const cache = new VerifiedTokenCache(10_000);
 * const answer = await checkTokenCached(token, policy, sources, Date.now(), cache, scopeOf(policy, sources));
 * ```
 */
export class VerifiedTokenCache {
  /** The most entries held at once. */
  readonly capacity: number;
  #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<TokenResult>>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(capacity: number = DEFAULT_CACHE_ENTRIES) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CACHE_ENTRIES) {
      throw new TypeError(`VerifiedTokenCache: capacity must be a whole number from 1 to ${MAX_CACHE_ENTRIES}`);
    }
    this.capacity = capacity;
  }

  /** Counters and size. */
  stats(): TokenCacheStats {
    return { hits: this.#hits, misses: this.#misses, entries: this.#entries.size, evictions: this.#evictions };
  }

  /** Forgets every entry (counters are kept). */
  clear(): void {
    this.#entries = new Map();
  }

  /**
   * The granted answer held for `key` at `nowMs`, or `undefined`. An entry out of its time
   * window, or whose key set has changed, is dropped.
   */
  lookup(key: string, nowMs: number): TokenResult | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const origin = entry.origin;
    if (!(nowMs >= entry.validFromMs && nowMs < entry.expiresAtMs) || (origin !== undefined && origin.set.current !== origin.keys)) {
      this.#entries.delete(key);
      return undefined;
    }
    origin?.set.refreshIfDue();
    // Most recently used last: Map keeps insertion order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#hits++;
    return entry.answer;
  }

  /**
   * Remembers a granted answer under `key` when its claims allow (a numeric `exp`; see the module
   * comment for the time window), evicting the least recently used entries beyond the capacity.
   */
  store(key: string, answer: TokenResult, origin: KeyOrigin, policy: JwtPolicy, nowMs: number): void {
    if (answer.result !== 'granted') return;
    const window = cacheWindow(answer.claims, policy);
    if (window === undefined || !(nowMs >= window.validFromMs && nowMs < window.expiresAtMs)) return;
    this.#entries.delete(key);
    this.#entries.set(key, { answer, origin, ...window });
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#evictions++;
    }
  }

  /** The verification in flight for `key`, if any. */
  pending(key: string): Promise<TokenResult> | undefined {
    return this.#pending.get(key);
  }

  /** Runs `verify` for `key` (a miss), as the verification in flight for it until it settles. */
  verify(key: string, verify: () => Promise<TokenResult>): Promise<TokenResult> {
    this.#misses++;
    const run = verify().finally(() => {
      if (this.#pending.get(key) === run) this.#pending.delete(key);
    });
    this.#pending.set(key, run);
    return run;
  }
}

/** When a granted token may be answered from the cache, in ms; `undefined`: not cached. */
function cacheWindow(claims: Readonly<Record<string, unknown>>, policy: JwtPolicy): { validFromMs: number; expiresAtMs: number } | undefined {
  const exp = claims['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  let expiresAtMs = exp * 1000;
  let validFromMs = -Infinity;
  const iat = claims['iat'];
  const nbf = claims['nbf'];
  if (policy.maxAgeSec !== undefined) {
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined;
    expiresAtMs = Math.min(expiresAtMs, (iat + policy.maxAgeSec) * 1000);
  }
  for (const t of [iat, nbf]) {
    if (typeof t === 'number' && Number.isFinite(t)) validFromMs = Math.max(validFromMs, (t - policy.clockSkewSec) * 1000);
  }
  return { validFromMs, expiresAtMs };
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
const scopes = new Map<string, string>();
/** Distinct scopes remembered; past this the table is cleared (scopes are only ever compared). */
const MAX_SCOPES = 10_000;

function idOf(value: object): number {
  let id = objectIds.get(value);
  if (id === undefined) objectIds.set(value, (id = nextObjectId++));
  return id;
}

/**
 * A short name for what decides whether a token verifies: the policy's values and the identity
 * of each key source. Two sections (or provider-alias views) with the same policy and keys share
 * cache entries; any difference (another audience, another key file) gives another scope, so a
 * token granted under one policy is never answered from the cache under another.
 *
 * @example
 * ```ts
 * const scope = scopeOf(policy, sources); // e.g. "s3"
 * ```
 */
export function scopeOf(policy: JwtPolicy, sources: KeySources): string {
  const description = JSON.stringify([
    policy.algorithms, policy.issuers ?? null, policy.audiences ?? null, policy.clockSkewSec, policy.requiredClaims,
    policy.type ?? null, policy.maxTokenBytes, policy.maxAgeSec ?? null, policy.userClaim,
    sources.local.map((k) => idOf(k)), sources.secret ? idOf(sources.secret) : null, sources.remotes.map((r) => idOf(r)),
  ]);
  let scope = scopes.get(description);
  if (scope === undefined) {
    if (scopes.size >= MAX_SCOPES) scopes.clear();
    scope = `s${nextObjectId++}`;
    scopes.set(description, scope);
  }
  return scope;
}

/**
 * The cache key of `token` under `scope`: the scope and the token's SHA-256 (base64url), never
 * the token.
 *
 * @example
 * ```ts
 * tokenCacheKey('s1', token); // "s1:3q2+7w…"
 * ```
 */
export function tokenCacheKey(scope: string, token: string): string {
  return `${scope}:${createHash('sha256').update(token).digest('base64url')}`;
}

/**
 * Verifies `token` as {@link verifyJwtDetailed} does, answering from `cache` when it holds the
 * token under `scope` and storing a grant. Tokens longer than the policy allows are refused before
 * anything is hashed.
 *
 * @example
 * ```ts
 * const answer = await checkTokenCached(token, policy, sources, now(), cache, scopeOf(policy, sources));
 * ```
 */
export async function checkTokenCached(
  token: string,
  policy: JwtPolicy,
  sources: KeySources,
  nowMs: number,
  cache: VerifiedTokenCache,
  scope: string,
): Promise<TokenResult> {
  if (token.length > policy.maxTokenBytes) return (await verifyJwtDetailed(token, policy, sources, nowMs)).answer;
  const key = tokenCacheKey(scope, token);
  const hit = cache.lookup(key, nowMs);
  if (hit !== undefined) return hit;
  const inflight = cache.pending(key);
  if (inflight !== undefined) {
    // Join the verification of the same token already running; a grant is then taken from the
    // cache at this request's own time, so the time window applies to it too.
    const shared = await inflight;
    if (shared.result !== 'granted') return shared;
    const stored = cache.lookup(key, nowMs);
    if (stored !== undefined) return stored;
    return (await verifyJwtDetailed(token, policy, sources, nowMs)).answer;
  }
  return cache.verify(key, async () => {
    const { answer, origin } = await verifyJwtDetailed(token, policy, sources, nowMs);
    cache.store(key, answer, origin, policy, nowMs);
    return answer;
  });
}
