/**
 * Verification keys: the JWS algorithms authts accepts, the key each one needs, and reading keys
 * from PEM, JWK and JWKS text. Only public keys are read from files and key sets; symmetric
 * (`oct`) keys never are: HMAC verifies only with `AuthTsJwtSecret`, so no public key can ever
 * serve as an HMAC secret (the RS256 → HS256 confusion attack).
 */
import { createPublicKey, X509Certificate, type JsonWebKeyInput, type KeyObject } from 'node:crypto';

/** The JWS algorithms authts verifies (RFC 7518 and RFC 8037); `none` is never one of them. @example `JWS_ALGORITHMS.includes('ES256')` → true */
export const JWS_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519',
] as const;

/** A JWS algorithm name authts verifies. @example `const alg: JwsAlgorithm = 'ES256';` */
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** The asymmetric algorithms: the default allow-list when no secret is configured. @example `ASYMMETRIC_ALGORITHMS.includes('HS256')` → false */
export const ASYMMETRIC_ALGORITHMS: readonly JwsAlgorithm[] = JWS_ALGORITHMS.filter((a) => !a.startsWith('HS'));

/** HMAC algorithms and the smallest secret each accepts (RFC 7518 §3.2: the hash size). @example `HMAC_MIN_BYTES['HS512']` → 64 */
export const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** True for `HS256`/`HS384`/`HS512`. @example `isHmac('HS256')` → true */
export function isHmac(alg: string): boolean {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512';
}

/** True when `alg` is one authts verifies. @example `isJwsAlgorithm('none')` → false */
export function isJwsAlgorithm(alg: string): alg is JwsAlgorithm {
  return (JWS_ALGORITHMS as readonly string[]).includes(alg);
}

/** The key type (and curve) an asymmetric algorithm verifies with. */
function shapeOf(alg: string): { kty: 'RSA' | 'EC' | 'OKP'; crv: string | undefined } | undefined {
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return { kty: 'RSA', crv: undefined };
  if (alg === 'ES256') return { kty: 'EC', crv: 'P-256' };
  if (alg === 'ES384') return { kty: 'EC', crv: 'P-384' };
  if (alg === 'ES512') return { kty: 'EC', crv: 'P-521' };
  if (alg === 'EdDSA' || alg === 'Ed25519') return { kty: 'OKP', crv: 'Ed25519' };
  return undefined;
}

/**
 * One public verification key, with what restricts its use: its `kid`, and the `alg` its JWK
 * named (a key with an `alg` verifies only that algorithm).
 *
 * @example
 * ```ts
 * const [key] = parseKeyText(readFileSync('issuer.pem', 'utf8'), 'issuer.pem');
 * keyFits(key!, 'RS256'); // true for an RSA key
 * ```
 */
export interface VerifyKey {
  readonly kid: string | undefined;
  readonly alg: string | undefined;
  readonly kty: 'RSA' | 'EC' | 'OKP';
  readonly crv: string | undefined;
  readonly key: KeyObject;
  /** The file or URL the key came from, for logs. */
  readonly source: string;
}

/** True when `key` may verify a token signed with `alg`: right type and curve, same `alg` if it names one. @example `keyFits(rsaKey, 'HS256')` → false */
export function keyFits(key: VerifyKey, alg: string): boolean {
  const shape = shapeOf(alg);
  if (!shape || key.kty !== shape.kty || key.crv !== shape.crv) return false;
  if (key.alg !== undefined && key.alg !== alg && !(key.kty === 'OKP' && (key.alg === 'EdDSA' || key.alg === 'Ed25519') && (alg === 'EdDSA' || alg === 'Ed25519'))) {
    return false;
  }
  return true;
}

/** Why a key could not be read (the message names the source, never key material). @example `throw new KeyError('issuer.pem: a private key');` */
export class KeyError extends Error {
  override readonly name = 'KeyError';
}

const NIST: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Describes a public KeyObject; throws KeyError for a type authts does not verify with. */
function describeKey(key: KeyObject, source: string, kid: string | undefined, alg: string | undefined): VerifyKey {
  if (key.type !== 'public') throw new KeyError(`${source}: not a public key`);
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new KeyError(`${source}: RSA key of ${bits} bits (RS*/PS* need at least 2048)`);
    return { kid, alg, kty: 'RSA', crv: undefined, key, source };
  }
  if (type === 'ec') {
    const crv = NIST[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!crv) throw new KeyError(`${source}: EC curve ${key.asymmetricKeyDetails?.namedCurve ?? '?'} is not P-256, P-384 or P-521`);
    return { kid, alg, kty: 'EC', crv, key, source };
  }
  if (type === 'ed25519') return { kid, alg, kty: 'OKP', crv: 'Ed25519', key, source };
  throw new KeyError(`${source}: ${type ?? 'unknown'} keys cannot verify JWTs`);
}

/**
 * One JWK as a verification key. Throws {@link KeyError} for a symmetric key, a private key, a
 * type authts does not verify with, or malformed key material (a local file refuses to load; a
 * remote set skips the key). Keys whose `use` is not `sig`, whose `key_ops` lack `verify` or
 * whose `alg` is not an asymmetric JWS algorithm are skipped (`undefined`).
 *
 * @example
 * ```ts
 * const key = jwkToKey({ kty: 'EC', crv: 'P-256', x: '…', y: '…', kid: 'k1' }, 'jwks.json');
 * ```
 */
export function jwkToKey(jwk: unknown, source: string): VerifyKey | undefined {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new KeyError(`${source}: a JWK must be a JSON object`);
  const j = jwk as Record<string, unknown>;
  if (j['kty'] === 'oct') throw new KeyError(`${source}: a symmetric ("oct") JWK; HMAC secrets go in AuthTsJwtSecret`);
  if (j['d'] !== undefined || j['p'] !== undefined || j['priv'] !== undefined) {
    throw new KeyError(`${source}: a private JWK; give only the public key`);
  }
  if (j['use'] !== undefined && j['use'] !== 'sig') return undefined;
  if (Array.isArray(j['key_ops']) && !j['key_ops'].includes('verify')) return undefined;
  const kid = typeof j['kid'] === 'string' ? j['kid'] : undefined;
  const alg = typeof j['alg'] === 'string' ? j['alg'] : undefined;
  if (alg !== undefined && (!isJwsAlgorithm(alg) || isHmac(alg))) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: j as JsonWebKeyInput['key'], format: 'jwk' });
  } catch (err) {
    throw new KeyError(`${source}: not a usable JWK (${err instanceof Error ? err.message : String(err)})`);
  }
  return describeKey(key, source, kid, alg);
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * The keys of a PEM, JWK or JWKS text (a local file's content). PEM may hold `PUBLIC KEY`,
 * `RSA PUBLIC KEY` and `CERTIFICATE` blocks (the certificate's key is used; its chain and dates
 * are not checked); a private key is refused. Throws {@link KeyError}.
 *
 * @example
 * ```ts
 * const keys = parseKeyText(readFileSync('jwks.json', 'utf8'), 'jwks.json');
 * ```
 */
export function parseKeyText(text: string, source: string): VerifyKey[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    const keys: VerifyKey[] = [];
    for (const m of trimmed.matchAll(PEM_BLOCK)) {
      const label = m[1]!;
      if (label.includes('PRIVATE')) throw new KeyError(`${source}: a private key; give the public key (openssl pkey -pubout)`);
      try {
        if (label === 'CERTIFICATE') keys.push(describeKey(new X509Certificate(m[0]).publicKey, source, undefined, undefined));
        else keys.push(describeKey(createPublicKey(m[0]), source, undefined, undefined));
      } catch (err) {
        if (err instanceof KeyError) throw err;
        throw new KeyError(`${source}: the ${label} block cannot be read (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    if (keys.length === 0) throw new KeyError(`${source}: no PEM block`);
    return keys;
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    throw new KeyError(`${source}: neither PEM nor JSON (JWK or JWKS)`);
  }
  if (json !== null && typeof json === 'object' && Array.isArray((json as { keys?: unknown }).keys)) {
    const keys = (json as { keys: unknown[] }).keys.map((jwk, i) => jwkToKey(jwk, `${source} (key ${i + 1})`)).filter((k): k is VerifyKey => k !== undefined);
    if (keys.length === 0) throw new KeyError(`${source}: no key of the set can verify signatures`);
    return keys;
  }
  const key = jwkToKey(json, source);
  if (!key) throw new KeyError(`${source}: the JWK is not for signatures ("use" or "key_ops")`);
  return [key];
}

/**
 * The keys of a remote JWKS document, leniently: keys authts cannot or must not use (symmetric,
 * private, other types, encryption keys, malformed) are skipped. Throws {@link KeyError} when
 * the document is not a JWKS or no key is left.
 *
 * @example
 * ```ts
 * const keys = parseRemoteJwks(await response.json(), 'https://idp.example.org/jwks');
 * ```
 */
export function parseRemoteJwks(json: unknown, source: string): VerifyKey[] {
  if (json === null || typeof json !== 'object' || !Array.isArray((json as { keys?: unknown }).keys)) {
    throw new KeyError(`${source}: not a JWK set (no "keys" array)`);
  }
  const keys: VerifyKey[] = [];
  for (const jwk of (json as { keys: unknown[] }).keys) {
    try {
      const key = jwkToKey(jwk, source);
      if (key) keys.push(key);
    } catch {
      // skipped: a key this server cannot or must not use
    }
  }
  if (keys.length === 0) throw new KeyError(`${source}: no key of the set can verify signatures`);
  return keys;
}

/**
 * Reads `AuthTsJwtSecret`'s value: `file:<path>` (the file's bytes, one trailing newline
 * removed) or `env:<NAME>` (the variable's UTF-8 bytes). Throws {@link KeyError}.
 *
 * @example
 * ```ts
 * const secret = readSecret('env:JWT_SECRET', (p) => readFileSync(p), process.env);
 * ```
 */
export function readSecret(
  spec: string,
  readFile: (path: string) => Buffer,
  env: Readonly<Record<string, string | undefined>>,
): Uint8Array {
  let bytes: Buffer;
  if (spec.startsWith('file:')) {
    const path = spec.slice(5);
    if (path === '') throw new KeyError('file: needs a path');
    try {
      bytes = readFile(path);
    } catch (err) {
      throw new KeyError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0a) end--;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    bytes = bytes.subarray(0, end);
  } else if (spec.startsWith('env:')) {
    const name = spec.slice(4);
    const value = env[name];
    if (name === '' || value === undefined) throw new KeyError(`the environment variable ${name || '(empty name)'} is not set`);
    bytes = Buffer.from(value, 'utf8');
  } else {
    throw new KeyError('the secret must be given as file:<path> or env:<NAME>, never inline');
  }
  if (bytes.length < 32) throw new KeyError(`the secret has ${bytes.length} bytes; HS256 needs at least 32`);
  return new Uint8Array(bytes);
}
