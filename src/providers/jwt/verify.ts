/**
 * Verifying one JWT against a policy and the configured keys, with `jose`. Shared by the `jwt`
 * provider of `AuthBearerProvider` and by `jwtProvider()`.
 *
 * The key is always chosen by this server: by the token's `alg` (which must be on the allow-list
 * and fit the key's type) and `kid`. The `jku`, `x5u`, `jwk` and `x5c` headers are never read, so
 * a token cannot bring its own key. HMAC tokens verify only with the configured secret.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTVerifyOptions } from 'jose';
import type { TokenResult } from '../../module.js';
import { HMAC_MIN_BYTES, isHmac, keyFits, type JwsAlgorithm, type VerifyKey } from './keys.js';
import type { RemoteKeySet } from './remote.js';

/**
 * What a token must satisfy (the `AuthTsJwt*` directives, or `jwtProvider`'s options).
 *
 * @example
 * ```ts
 * const policy: JwtPolicy = { ...DEFAULT_POLICY, algorithms: ['ES256'], audiences: ['api'] };
 * ```
 */
export interface JwtPolicy {
  /** Accepted `alg` values (never `none`; HMAC only with a secret). */
  readonly algorithms: readonly JwsAlgorithm[];
  /** Accepted `iss` values (any of them); undefined: not checked. */
  readonly issuers: readonly string[] | undefined;
  /** Accepted `aud` values (the token's `aud` must name one); undefined: not checked. */
  readonly audiences: readonly string[] | undefined;
  /** Tolerance for `exp`, `nbf` and `iat` (seconds). */
  readonly clockSkewSec: number;
  /** Claims that must be present. */
  readonly requiredClaims: readonly string[];
  /** Required `typ` header (`at+jwt` matches `application/at+jwt`); undefined: not checked. */
  readonly type: string | undefined;
  /** Longest token accepted (characters). */
  readonly maxTokenBytes: number;
  /** Oldest `iat` accepted (seconds); undefined: not checked. */
  readonly maxAgeSec: number | undefined;
  /** The claim that names the user. */
  readonly userClaim: string;
}

/**
 * The defaults of {@link JwtPolicy} (the directives' defaults).
 *
 * @example
 * ```ts
 * DEFAULT_POLICY.clockSkewSec; // 60
 * ```
 */
export const DEFAULT_POLICY: Omit<JwtPolicy, 'algorithms'> = Object.freeze({
  issuers: undefined,
  audiences: undefined,
  clockSkewSec: 60,
  requiredClaims: Object.freeze(['exp']),
  type: undefined,
  maxTokenBytes: 8192,
  maxAgeSec: undefined,
  userClaim: 'sub',
});

/**
 * Where keys come from: public keys read at load, the HMAC secret, remote sets.
 *
 * @example
 * ```ts
 * const sources: KeySources = { local: parseKeyText(pem, 'issuer.pem'), secret: undefined, remotes: [] };
 * ```
 */
export interface KeySources {
  readonly local: readonly VerifyKey[];
  readonly secret: Uint8Array | undefined;
  readonly remotes: readonly RemoteKeySet[];
}

/** Attempts per token when several keys fit (no `kid`, or a shared one): bounds the work. */
const MAX_CANDIDATES = 8;
const B64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

function denied(reason: string): TokenResult {
  return { result: 'denied', reason };
}

/**
 * Where the key that verified a token came from: a remote set and the exact key list (array
 * identity) it was taken from, or `undefined` for a local key or the HMAC secret (fixed for the
 * life of a configuration). The cache of verified tokens drops an entry when its set no longer
 * holds that list.
 *
 * @example
 * ```ts
 * const { answer, origin } = await verifyJwtDetailed(token, policy, sources, Date.now());
 * const rotated = origin !== undefined && origin.set.current !== origin.keys;
 * ```
 */
export type KeyOrigin = { readonly set: RemoteKeySet; readonly keys: readonly VerifyKey[] } | undefined;

/** A key that may verify a token, and where it came from. */
interface Candidate {
  readonly key: VerifyKey['key'] | Uint8Array;
  readonly origin: KeyOrigin;
}

/**
 * Verifies `token` under `policy` with the keys of `sources` at time `nowMs`. Answers
 * `granted` (user and claims), `denied` (with a reason fit for `error_description`), or
 * `not-found` (no configured key fits the token). Throws `AuthTsError('JWT_KEYS_UNAVAILABLE')`
 * when a remote set was never fetched and no other key fits.
 *
 * @example
 * ```ts
 * const answer = await verifyJwt(token, policy, sources, Date.now());
 * ```
 */
export async function verifyJwt(token: string, policy: JwtPolicy, sources: KeySources, nowMs: number): Promise<TokenResult> {
  return (await verifyJwtDetailed(token, policy, sources, nowMs)).answer;
}

/**
 * {@link verifyJwt}, also telling where the verifying key came from ({@link KeyOrigin}; set only
 * when the answer is `granted`). The claims of a granted answer are deeply frozen: a cached
 * answer is shared by every request that presents the same token.
 *
 * @example
 * ```ts
 * const { answer, origin } = await verifyJwtDetailed(token, policy, sources, Date.now());
 * ```
 */
export async function verifyJwtDetailed(
  token: string,
  policy: JwtPolicy,
  sources: KeySources,
  nowMs: number,
): Promise<{ readonly answer: TokenResult; readonly origin: KeyOrigin }> {
  const answer = (result: TokenResult): { answer: TokenResult; origin: KeyOrigin } => ({ answer: result, origin: undefined });
  if (token.length > policy.maxTokenBytes) return answer(denied(`the token is longer than ${policy.maxTokenBytes} bytes`));
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL_SEGMENT.test(p))) return answer(denied('the token is not a signed JWT'));
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return answer(denied('the token header is malformed'));
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || !(policy.algorithms as readonly string[]).includes(alg)) {
    return answer(denied('the token algorithm is not accepted'));
  }
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = await candidateKeys(alg, kid, sources);
  if (candidates.length === 0) {
    return answer({ result: 'not-found', reason: kid === undefined ? 'no key of this server fits the token' : 'the token key id is unknown' });
  }
  const options: JWTVerifyOptions = {
    algorithms: [alg],
    clockTolerance: policy.clockSkewSec,
    currentDate: new Date(nowMs),
    requiredClaims: [...policy.requiredClaims],
    ...(policy.issuers ? { issuer: [...policy.issuers] } : {}),
    ...(policy.audiences ? { audience: [...policy.audiences] } : {}),
    ...(policy.type !== undefined ? { typ: policy.type } : {}),
    ...(policy.maxAgeSec !== undefined ? { maxTokenAge: policy.maxAgeSec } : {}),
  };
  for (const { key, origin } of candidates.slice(0, MAX_CANDIDATES)) {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, options));
    } catch (err) {
      if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof TypeError) continue;
      return answer(denied(describeJoseError(err)));
    }
    const iat = payload['iat'];
    if (typeof iat === 'number' && iat > nowMs / 1000 + policy.clockSkewSec) return answer(denied('the token was issued in the future'));
    const user = userOf(payload[policy.userClaim]);
    if (user === undefined) return answer(denied(`the token has no usable "${printable(policy.userClaim)}" claim`));
    return { answer: Object.freeze({ result: 'granted', user, claims: deepFreeze(payload) }), origin };
  }
  return answer(denied('the token signature is invalid'));
}

/** The keys that may verify a token with `alg` and `kid`, chosen by this server only. */
async function candidateKeys(alg: string, kid: string | undefined, sources: KeySources): Promise<readonly Candidate[]> {
  if (isHmac(alg)) {
    const secret = sources.secret;
    return secret && secret.length >= (HMAC_MIN_BYTES[alg] ?? Infinity) ? [{ key: secret, origin: undefined }] : [];
  }
  let pool: { readonly k: VerifyKey; readonly origin: KeyOrigin }[] = sources.local.filter((k) => keyFits(k, alg)).map((k) => ({ k, origin: undefined }));
  let failure: unknown;
  for (const remote of sources.remotes) {
    try {
      const keys = await remote.keys(kid);
      const origin = { set: remote, keys };
      pool = pool.concat(keys.filter((k) => keyFits(k, alg)).map((k) => ({ k, origin })));
    } catch (err) {
      failure ??= err;
    }
  }
  let chosen = kid === undefined ? pool : pool.filter((c) => c.k.kid === kid);
  // A locally configured key without a kid (a PEM file) verifies tokens whatever their kid.
  if (chosen.length === 0 && kid !== undefined) chosen = pool.filter((c) => c.k.kid === undefined && sources.local.includes(c.k));
  if (chosen.length === 0 && failure !== undefined) throw failure;
  return chosen.map((c) => ({ key: c.k.key, origin: c.origin }));
}

/** Freezes a JSON value and everything in it (claims are parsed JSON: no cycles). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The user named by a claim: a non-empty string (or an integer) without control characters. */
function userOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string' || value === '' || CONTROL.test(value)) return undefined;
  return value;
}

/** Only what RFC 6750 allows in a quoted `error_description` (%x20-21 / %x23-5B / %x5D-7E). */
function printable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?');
}

/** A short reason for a jose failure, naming claims but never their values. */
function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return err.claim === 'iat' ? 'the token is too old' : 'the token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `the token has no "${printable(err.claim)}" claim`;
    switch (err.claim) {
      case 'nbf':
        return 'the token is not valid yet';
      case 'iss':
        return 'the token issuer is not accepted';
      case 'aud':
        return 'the token audience is not accepted';
      case 'typ':
        return 'the token type is not accepted';
      case 'iat':
        return 'the token was issued in the future';
      default:
        return `the token "${printable(err.claim)}" claim is invalid`;
    }
  }
  if (err instanceof joseErrors.JWTInvalid) return 'the token claims are not a JSON object';
  if ((err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JOSENotSupported) && /"crit"|Extension Header/i.test(err.message)) {
    return 'the token has a critical header this server does not understand';
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return 'the token algorithm is not accepted';
  if (err instanceof joseErrors.JWSInvalid) return 'the token is malformed';
  return 'the token is invalid';
}
