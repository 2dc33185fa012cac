/**
 * `authts/providers/jwt`: the JWT provider on its own (`jwtProvider`), the module, and the key
 * helpers. See docs/providers/jwt.md.
 *
 * @example
 * ```ts
 * import { jwtProvider } from 'authts/providers/jwt';
 * const jwt = await jwtProvider({ discovery: 'https://idp.example.org/realms/demo', audience: 'api' });
 * const answer = await jwt.checkToken(token); // { result: 'granted', user, claims } | { result: 'denied' | 'not-found', reason }
 * await jwt.close();
 * ```
 */
import { readFile } from 'node:fs/promises';
import { silentLogger, type Logger } from '../../log.js';
import type { TokenChecker, TokenResult } from '../../module.js';
import { ASYMMETRIC_ALGORITHMS, HMAC_MIN_BYTES, isHmac, isJwsAlgorithm, KeyError, parseKeyText, type JwsAlgorithm, type VerifyKey } from './keys.js';
import { DEFAULT_REMOTE_OPTIONS, discoverJwksUri, isSafeKeyUrl, RemoteKeySet, type RemoteKeySetOptions } from './remote.js';
import { checkTokenCached, DEFAULT_CACHE_ENTRIES, MAX_CACHE_ENTRIES, scopeOf, VerifiedTokenCache } from './cache.js';
import { DEFAULT_POLICY, verifyJwt, type JwtPolicy } from './verify.js';

export { authnzJwt, createAuthnzJwtModule, tokenScopes, type AuthnzJwtSettings, type AuthnzJwtServerSettings, type AuthnzJwtModuleOptions, type KeySpec } from './module.js';
export { JWS_ALGORITHMS, parseKeyText, type JwsAlgorithm, type VerifyKey } from './keys.js';
export type { JwtPolicy } from './verify.js';
export { DEFAULT_CACHE_ENTRIES, VerifiedTokenCache, type TokenCacheStats } from './cache.js';

/**
 * Options of {@link jwtProvider}; the directive each one mirrors is named. At least one of
 * `keys`, `secret` and `discovery` is needed.
 *
 * @example
 * ```ts
 * const options: JwtProviderOptions = { keys: ['keys/issuer.pem'], issuer: 'https://issuer.example', audience: 'api' };
 * ```
 */
export interface JwtProviderOptions {
  /** `AuthTsJwtKeys`: PEM, JWK or JWKS files (read now), or JWKS URLs (https, or loopback http). */
  readonly keys?: readonly string[];
  /** `AuthTsJwtSecret`: the HMAC secret's bytes (at least 32). */
  readonly secret?: Uint8Array;
  /** `AuthTsJwtDiscovery`: an OpenID Connect issuer whose `jwks_uri` holds the keys. */
  readonly discovery?: string;
  /** `AuthTsJwtIssuer` (default: the `discovery` issuer, else not checked). */
  readonly issuer?: string | readonly string[];
  /** `AuthTsJwtAudience` (default: not checked). */
  readonly audience?: string | readonly string[];
  /** `AuthTsJwtAlgorithms` (default: every asymmetric one, plus HS* when a secret is given). */
  readonly algorithms?: readonly JwsAlgorithm[];
  /** `AuthTsJwtClockSkew`, seconds (default 60). */
  readonly clockSkew?: number;
  /** `AuthTsJwtUserClaim` (default `sub`). */
  readonly userClaim?: string;
  /** `AuthTsJwtRequireClaims` (default `['exp']`). */
  readonly requiredClaims?: readonly string[];
  /** `AuthTsJwtType` (default: not checked). */
  readonly type?: string;
  /** `AuthTsJwtMaxTokenSize`, bytes (default 8192). */
  readonly maxTokenSize?: number;
  /** `AuthTsJwtMaxAge`, seconds (default: not checked). */
  readonly maxAge?: number;
  /** `AuthTsJwtKeysMaxAge`, `AuthTsJwtKeysCooldown`, `AuthTsJwtKeysTimeout`, seconds (defaults 600, 30, 5). */
  readonly keysMaxAge?: number;
  readonly keysCooldown?: number;
  readonly keysTimeout?: number;
  /** `AuthTsJwtCache`: remember verified tokens (default `true`); see docs/providers/jwt.md. */
  readonly cache?: boolean;
  /** `AuthTsJwtCacheEntries`: the most tokens remembered (default 10000). */
  readonly cacheEntries?: number;
  /** The clock (ms since the epoch; default `Date.now`). */
  readonly now?: () => number;
  /** Where key-set failures are logged (never a token). */
  readonly logger?: Logger;
}

/**
 * A {@link TokenChecker} with its remote key sets visible (fetch counts, for monitoring).
 *
 * @example
 * ```ts
 * const jwt: JwtTokenChecker = await jwtProvider({ keys: ['https://idp.example.org/jwks'] });
 * jwt.keySets[0]?.fetches; // 0 until the first token
 * ```
 */
export interface JwtTokenChecker extends TokenChecker {
  readonly keySets: readonly RemoteKeySet[];
  /** The cache of verified tokens (`undefined` with `cache: false`): `stats()` for monitoring. */
  readonly cache: VerifiedTokenCache | undefined;
}

function misuse(message: string): TypeError {
  return new TypeError(`jwtProvider: ${message}`);
}

function strings(name: string, value: string | readonly string[] | undefined): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string' || v === '')) {
    throw misuse(`options.${name} must be a non-empty string or a non-empty array of them`);
  }
  return Object.freeze([...list]);
}

function seconds(name: string, value: number | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw misuse(`options.${name} must be a whole number ≥ ${min}`);
  return value;
}

function safeUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw misuse(`options.${name}: "${value}" is not a URL`);
  }
  if (!isSafeKeyUrl(url)) throw misuse(`options.${name}: keys must come over https (http only for loopback hosts)`);
  return value;
}

/**
 * The `jwt` provider on its own: verifies tokens exactly as `AuthBearerProvider jwt` does (see
 * docs/providers/jwt.md), outside any configuration. Options are checked eagerly (`TypeError`
 * naming the option); key files are read now; remote sets are fetched at the first token.
 * `checkToken` answers `granted` (with the user and the claims), `denied` or `not-found` (with a
 * reason fit for an RFC 6750 `error_description`), and throws `AuthTsError`
 * `JWT_KEYS_UNAVAILABLE` only when a remote set was never reachable and no other key fits.
 *
 * @example
 * ```ts
 * const jwt = await jwtProvider({ keys: ['https://idp.example.org/protocol/openid-connect/certs'], audience: 'api', algorithms: ['RS256'] });
 * app.use(async (req, res, next) => {
 *   const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
 *   const answer = token ? await jwt.checkToken(token) : undefined;
 *   if (answer?.result !== 'granted') return res.status(401).set('WWW-Authenticate', 'Bearer realm="api"').end();
 *   req.user = answer.user;
 *   next();
 * });
 * ```
 */
export async function jwtProvider(options: JwtProviderOptions): Promise<JwtTokenChecker> {
  if (options === null || typeof options !== 'object') throw misuse('options must be an object');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw misuse('options.now must be a function');
  const logger = options.logger ?? silentLogger;
  const remoteOptions: RemoteKeySetOptions = {
    maxAgeMs: seconds('keysMaxAge', options.keysMaxAge, 1, DEFAULT_REMOTE_OPTIONS.maxAgeMs / 1000) * 1000,
    cooldownMs: seconds('keysCooldown', options.keysCooldown, 0, DEFAULT_REMOTE_OPTIONS.cooldownMs / 1000) * 1000,
    timeoutMs: seconds('keysTimeout', options.keysTimeout, 1, DEFAULT_REMOTE_OPTIONS.timeoutMs / 1000) * 1000,
    maxBytes: DEFAULT_REMOTE_OPTIONS.maxBytes,
    now,
    log: logger,
  };
  const local: VerifyKey[] = [];
  const remotes: RemoteKeySet[] = [];
  if (options.keys !== undefined && (!Array.isArray(options.keys) || options.keys.some((k) => typeof k !== 'string' || k === ''))) {
    throw misuse('options.keys must be an array of file paths and URLs');
  }
  for (const spec of options.keys ?? []) {
    if (/^https?:\/\//i.test(spec)) {
      const url = safeUrl('keys', spec);
      remotes.push(new RemoteKeySet(url, async () => url, remoteOptions));
      continue;
    }
    let text: string;
    try {
      text = await readFile(spec, 'utf8');
    } catch (err) {
      throw misuse(`options.keys: cannot read ${spec} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    try {
      local.push(...parseKeyText(text, spec));
    } catch (err) {
      if (err instanceof KeyError) throw misuse(`options.keys: ${err.message}`);
      throw err;
    }
  }
  let secret: Uint8Array | undefined;
  if (options.secret !== undefined) {
    if (!(options.secret instanceof Uint8Array)) throw misuse('options.secret must be a Uint8Array (or Buffer) of at least 32 bytes');
    if (options.secret.length < 32) throw misuse(`options.secret has ${options.secret.length} bytes; HS256 needs at least 32`);
    secret = new Uint8Array(options.secret);
  }
  if (options.discovery !== undefined) {
    if (typeof options.discovery !== 'string') throw misuse('options.discovery must be an issuer URL');
    const issuer = safeUrl('discovery', options.discovery);
    remotes.push(new RemoteKeySet(`discovery ${issuer}`, discoverJwksUri(issuer, remoteOptions.timeoutMs, remoteOptions.maxBytes), remoteOptions));
  }
  if (local.length === 0 && secret === undefined && remotes.length === 0) throw misuse('give at least one of options.keys, options.secret and options.discovery');
  let algorithms: readonly JwsAlgorithm[];
  if (options.algorithms !== undefined) {
    if (!Array.isArray(options.algorithms) || options.algorithms.length === 0) throw misuse('options.algorithms must be a non-empty array');
    for (const alg of options.algorithms as unknown[]) {
      if (typeof alg !== 'string' || !isJwsAlgorithm(alg)) throw misuse(`options.algorithms: "${String(alg)}" is not an algorithm authts verifies ("none" never is)`);
      if (isHmac(alg) && (secret === undefined || secret.length < HMAC_MIN_BYTES[alg]!)) {
        throw misuse(`options.algorithms: ${alg} needs options.secret of at least ${HMAC_MIN_BYTES[alg]} bytes`);
      }
    }
    algorithms = Object.freeze([...options.algorithms]);
  } else {
    const hmac = secret ? (['HS256', 'HS384', 'HS512'] as const).filter((a) => secret.length >= HMAC_MIN_BYTES[a]!) : [];
    algorithms = Object.freeze([...ASYMMETRIC_ALGORITHMS, ...hmac]);
  }
  for (const [name, value] of [['userClaim', options.userClaim], ['type', options.type]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw misuse(`options.${name} must be a non-empty string`);
  }
  const policy: JwtPolicy = Object.freeze({
    algorithms,
    issuers: strings('issuer', options.issuer) ?? (options.discovery !== undefined ? [options.discovery] : undefined),
    audiences: strings('audience', options.audience),
    clockSkewSec: seconds('clockSkew', options.clockSkew, 0, DEFAULT_POLICY.clockSkewSec),
    requiredClaims: options.requiredClaims === undefined ? DEFAULT_POLICY.requiredClaims : (strings('requiredClaims', options.requiredClaims.length === 0 ? undefined : options.requiredClaims) ?? []),
    type: options.type,
    maxTokenBytes: seconds('maxTokenSize', options.maxTokenSize, 64, DEFAULT_POLICY.maxTokenBytes),
    maxAgeSec: options.maxAge === undefined ? undefined : seconds('maxAge', options.maxAge, 1, 0),
    userClaim: options.userClaim ?? DEFAULT_POLICY.userClaim,
  });
  if (options.cache !== undefined && typeof options.cache !== 'boolean') throw misuse('options.cache must be true or false');
  const entries = seconds('cacheEntries', options.cacheEntries, 1, DEFAULT_CACHE_ENTRIES);
  if (entries > MAX_CACHE_ENTRIES) throw misuse(`options.cacheEntries must be at most ${MAX_CACHE_ENTRIES}`);
  const sources = Object.freeze({ local: Object.freeze(local), secret, remotes: Object.freeze(remotes) });
  const cache = options.cache === false ? undefined : new VerifiedTokenCache(entries);
  const scope = scopeOf(policy, sources);
  let closed = false;
  return Object.freeze({
    name: 'jwt',
    keySets: sources.remotes,
    cache,
    async checkToken(token: string): Promise<TokenResult> {
      if (closed) throw new TypeError('jwtProvider: checkToken after close()');
      if (typeof token !== 'string') throw new TypeError('jwtProvider: checkToken(token) takes the token as a string');
      if (cache === undefined) return verifyJwt(token, policy, sources, now());
      return checkTokenCached(token, policy, sources, now(), cache, scope);
    },
    async close(): Promise<void> {
      closed = true;
      cache?.clear();
    },
  });
}
