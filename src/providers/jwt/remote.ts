/**
 * Remote key sets (`AuthTsJwtKeys https://…/jwks.json`, `AuthTsJwtDiscovery <issuer>`), kept
 * across requests:
 *
 * - one fetch at a time per set: concurrent requests share the one in flight;
 * - a set older than `maxAgeMs` is refreshed in the background while the old keys keep serving;
 * - a token whose `kid` the set does not have triggers a refresh at most once per `cooldownMs`,
 *   so a stream of made-up `kid`s cannot make the server fetch once per request;
 * - a failed refresh keeps the last good keys (logged as `JWT_KEYS_STALE`); only a set that was
 *   never fetched fails (`JWT_KEYS_UNAVAILABLE`), and failed attempts are also spaced by
 *   `cooldownMs`;
 * - fetches time out after `timeoutMs`, follow no redirect, and read at most `maxBytes`.
 *
 * No timer runs: refreshes happen when requests ask for keys.
 */
import { AuthTsError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { KeyError, parseRemoteJwks, type VerifyKey } from './keys.js';

/** How a remote set is refreshed. @example `const o: RemoteKeySetOptions = { ...DEFAULT_REMOTE_OPTIONS, now: Date.now, log: silentLogger };` */
export interface RemoteKeySetOptions {
  /** Refresh a set older than this (ms). */
  readonly maxAgeMs: number;
  /** At least this long between two fetches that were not due to age (ms). */
  readonly cooldownMs: number;
  /** One fetch, body included, may take this long (ms). */
  readonly timeoutMs: number;
  /** A response body larger than this is refused (bytes). */
  readonly maxBytes: number;
  /** The clock (ms since the epoch). */
  readonly now: () => number;
  readonly log: Logger;
}

/** Default refresh settings (overridden by `AuthTsJwtKeysMaxAge`, `AuthTsJwtKeysCooldown`, `AuthTsJwtKeysTimeout`). @example `DEFAULT_REMOTE_OPTIONS.cooldownMs` → 30000 */
export const DEFAULT_REMOTE_OPTIONS = Object.freeze({
  maxAgeMs: 600_000,
  cooldownMs: 30_000,
  timeoutMs: 5_000,
  maxBytes: 512 * 1024,
});

/**
 * True for a URL keys may be fetched from: `https:`, or `http:` to a loopback host (keys over
 * plain HTTP elsewhere could be replaced by anyone on the path).
 *
 * @example
 * ```ts
 * isSafeKeyUrl(new URL('http://127.0.0.1:8080/jwks')); // true
 * isSafeKeyUrl(new URL('http://idp.example.org/jwks')); // false
 * ```
 */
export function isSafeKeyUrl(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * GETs `url` and parses its JSON body: no redirect, a timeout for the whole exchange, a size cap.
 *
 * @example
 * ```ts
 * const doc = await fetchJson('https://idp.example.org/.well-known/openid-configuration', 5000, 65536);
 * ```
 */
export async function fetchJson(url: string, timeoutMs: number, maxBytes: number): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/json, application/jwk-set+json' } });
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : `fetch failed (${describeCause(err)})`;
    throw new Error(`${url}: ${reason}`, { cause: err });
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`${url}: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`${url}: body larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > maxBytes) throw new Error(`${url}: body larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    await res.body?.cancel().catch(() => undefined);
    if (signal.aborted) throw new Error(`${url}: no answer within ${timeoutMs} ms`, { cause: err });
    throw err;
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new Error(`${url}: the body is not JSON`, { cause: err });
  }
}

function describeCause(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/**
 * A JWK set fetched from a URL, or from the `jwks_uri` of an OpenID Connect issuer
 * (`resolveUrl` is then the discovery step, retried with the fetch until it succeeds once).
 *
 * @example
 * ```ts
 * const set = new RemoteKeySet('https://idp.example.org/jwks', async () => 'https://idp.example.org/jwks', options);
 * const keys = await set.keys('kid-1');
 * ```
 */
export class RemoteKeySet {
  /** What the set is called in logs: the URL, or `discovery <issuer>`. */
  readonly label: string;
  /** How many fetches were started (for tests and diagnostics). */
  fetches = 0;
  /**
   * Changes every time a fetch brings keys that differ from the ones held (a refresh that brings
   * the same keys keeps {@link RemoteKeySet.current} as it is).
   */
  generation = 0;
  readonly #resolveUrl: () => Promise<string>;
  readonly #options: RemoteKeySetOptions;
  #keys: readonly VerifyKey[] | undefined;
  #fetchedAt = -Infinity;
  #attemptAt = -Infinity;
  #inflight: Promise<void> | undefined;
  #lastError: unknown;

  constructor(label: string, resolveUrl: () => Promise<string>, options: RemoteKeySetOptions) {
    this.label = label;
    this.#resolveUrl = resolveUrl;
    this.#options = options;
  }

  /**
   * The keys held now (`undefined` before the first successful fetch). The array is replaced,
   * never changed, when a fetch brings different keys: the cache of verified tokens keeps the
   * array its token's key came from and compares identities to notice a rotation.
   */
  get current(): readonly VerifyKey[] | undefined {
    return this.#keys;
  }

  /**
   * Starts a background refresh when the set is older than `maxAgeMs` and the cooldown allows
   * one, as {@link RemoteKeySet.keys} does; never waits. A cache hit calls it, so that a key
   * removed by the issuer is noticed even when every request is answered from the cache.
   */
  refreshIfDue(): void {
    if (this.#keys === undefined || this.#inflight) return;
    const now = this.#options.now();
    if (now - this.#fetchedAt >= this.#options.maxAgeMs && now - this.#attemptAt >= this.#options.cooldownMs) void this.#refresh();
  }

  /**
   * The keys to try for a token with `kid` (or none). Waits for a fetch only when there are no
   * keys yet, or `kid` is unknown and the cooldown allows one; otherwise answers at once (a stale
   * set is refreshed in the background). Throws `AuthTsError('JWT_KEYS_UNAVAILABLE')` when the
   * set was never fetched successfully.
   */
  async keys(kid: string | undefined): Promise<readonly VerifyKey[]> {
    const now = this.#options.now();
    const cooled = now - this.#attemptAt >= this.#options.cooldownMs;
    if (this.#keys === undefined) {
      if (this.#inflight) await this.#inflight;
      else if (cooled) await this.#refresh();
      if (this.#keys === undefined) {
        throw new AuthTsError('JWT_KEYS_UNAVAILABLE', `no keys from ${this.label} yet: ${errorText(this.#lastError)}`, { cause: this.#lastError });
      }
      return this.#keys;
    }
    const known = kid === undefined || this.#keys.some((k) => k.kid === kid);
    if (!known && (this.#inflight || cooled)) {
      await (this.#inflight ?? this.#refresh());
    } else if (now - this.#fetchedAt >= this.#options.maxAgeMs && !this.#inflight && cooled) {
      void this.#refresh();
    }
    return this.#keys;
  }

  /** Starts a fetch (or joins the one in flight); never rejects. */
  #refresh(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    this.#attemptAt = this.#options.now();
    this.fetches++;
    const run = async (): Promise<void> => {
      try {
        const url = await this.#resolveUrl();
        const keys = parseRemoteJwks(await fetchJson(url, this.#options.timeoutMs, this.#options.maxBytes), url);
        if (this.#keys === undefined || !sameKeys(this.#keys, keys)) {
          this.#keys = Object.freeze(keys);
          this.generation++;
        }
        this.#fetchedAt = this.#options.now();
        this.#lastError = undefined;
      } catch (err) {
        this.#lastError = err;
        if (this.#keys !== undefined) {
          this.#options.log.warn({ code: 'JWT_KEYS_STALE', keys: this.label, reason: errorText(err) }, 'key set refresh failed; the last good keys keep serving');
        } else {
          this.#options.log.error({ code: 'JWT_KEYS_UNAVAILABLE', keys: this.label, reason: errorText(err) }, 'key set could not be fetched');
        }
      } finally {
        this.#inflight = undefined;
      }
    };
    this.#inflight = run();
    return this.#inflight;
  }
}

/** True when two key lists hold the same keys, in the same order, with the same `kid` and `alg`. */
function sameKeys(a: readonly VerifyKey[], b: readonly VerifyKey[]): boolean {
  return a.length === b.length && a.every((k, i) => {
    const o = b[i]!;
    return k.kid === o.kid && k.alg === o.alg && k.kty === o.kty && k.crv === o.crv && k.key.equals(o.key);
  });
}

function errorText(err: unknown): string {
  if (err instanceof KeyError) return err.message;
  return err instanceof Error ? err.message : err === undefined ? 'not fetched yet' : String(err);
}

/**
 * The `jwks_uri` of an OpenID Connect issuer (OpenID Connect Discovery 1.0): fetched from
 * `<issuer>/.well-known/openid-configuration`, whose `issuer` must be the configured one exactly
 * (§4.3) and whose `jwks_uri` must be https (or loopback http). The answer is kept once found.
 *
 * @example
 * ```ts
 * const jwksUri = discoverJwksUri('https://idp.example.org/realms/demo', 5000, 65536);
 * const set = new RemoteKeySet('discovery https://idp.example.org/realms/demo', jwksUri, options);
 * ```
 */
export function discoverJwksUri(issuer: string, timeoutMs: number, maxBytes: number): () => Promise<string> {
  let found: string | undefined;
  const wellKnown = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  return async function jwksUri(): Promise<string> {
    if (found !== undefined) return found;
    const doc = await fetchJson(wellKnown, timeoutMs, maxBytes);
    if (doc === null || typeof doc !== 'object') throw new Error(`${wellKnown}: not a JSON object`);
    const { issuer: named, jwks_uri: uri } = doc as { issuer?: unknown; jwks_uri?: unknown };
    if (named !== issuer) throw new Error(`${wellKnown}: its "issuer" is not ${issuer}`);
    if (typeof uri !== 'string') throw new Error(`${wellKnown}: no "jwks_uri"`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new Error(`${wellKnown}: "jwks_uri" is not a URL`);
    }
    if (!isSafeKeyUrl(url)) throw new Error(`${wellKnown}: "jwks_uri" must be https`);
    found = url.href;
    return found;
  };
}
