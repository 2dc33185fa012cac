/**
 * The hashes of RFC 7616 §3.4.1–3.4.3: HA1 (`user:realm:password`, or its `-sess` form), HA2
 * (`method:uri`) and the `response`, for MD5 and SHA-256. Every input is hashed as the bytes the
 * client sent (latin1 strings, one character per byte) except HA1, which is stored.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The algorithms of `AuthDigestAlgorithm`, as RFC 7616 spells them. */
export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

/** Every {@link DigestAlgorithm}, for directive checks. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'];

/** The hash function behind an algorithm (`md5` or `sha256`). */
export function hashName(algorithm: DigestAlgorithm): 'md5' | 'sha256' {
  return algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
}

/** Length in hex digits of the hash behind an algorithm (32 or 64): the length of its HA1. */
export function hexLength(algorithm: DigestAlgorithm): 32 | 64 {
  return hashName(algorithm) === 'sha256' ? 64 : 32;
}

/** Lower-case hex of the hash of `text`'s latin1 bytes. */
export function hexHash(hash: 'md5' | 'sha256', text: string): string {
  return createHash(hash).update(Buffer.from(text, 'latin1')).digest('hex');
}

/**
 * The stored HA1: lower-case hex of `H(user:realm:password)` over UTF-8 bytes, what `htdigest`
 * writes for MD5 (and `authts-htdigest --sha256` for SHA-256).
 *
 * @example
 * ```ts
 * realmHash('md5', 'Mufasa', 'http-auth@example.org', 'Circle of Life'); // '939e7578ed9e3c518a452acee763bce9'
 * ```
 */
export function realmHash(hash: 'md5' | 'sha256', user: string, realm: string, password: string): string {
  return createHash(hash).update(`${user}:${realm}:${password}`, 'utf8').digest('hex');
}

/** What the `response` is computed from, besides HA1. */
export interface ResponseInput {
  readonly algorithm: DigestAlgorithm;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  /** `auth` as the client spelled it, or undefined for an RFC 2069 style answer (no qop, no nc, no cnonce). */
  readonly qop: string | undefined;
  readonly nc: string | undefined;
  readonly cnonce: string | undefined;
}

/** HA1 for the request: the stored one, or for `-sess` `H(HA1:nonce:cnonce)`. */
function sessionHa1(ha1: string, input: ResponseInput): string {
  return input.algorithm.endsWith('-sess') ? hexHash(hashName(input.algorithm), `${ha1}:${input.nonce}:${input.cnonce ?? ''}`) : ha1;
}

/** `KD(HA1, nonce:nc:cnonce:qop:HA2)`, or without qop `KD(HA1, nonce:HA2)`. */
function kd(ha1: string, ha2: string, input: ResponseInput): string {
  const hash = hashName(input.algorithm);
  const secret = sessionHa1(ha1, input);
  if (input.qop === undefined) return hexHash(hash, `${secret}:${input.nonce}:${ha2}`);
  return hexHash(hash, `${secret}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}:${ha2}`);
}

/**
 * The `response` the client must send, from the stored HA1 (lower-case hex).
 *
 * @example
 * ```ts
 * digestResponse(ha1, { algorithm: 'MD5', method: 'GET', uri: '/dir/index.html', nonce, qop: 'auth', nc: '00000001', cnonce });
 * ```
 */
export function digestResponse(ha1: string, input: ResponseInput): string {
  return kd(ha1, hexHash(hashName(input.algorithm), `${input.method}:${input.uri}`), input);
}

/** The `rspauth` of `Authentication-Info`: as the response, with an empty method in HA2. */
export function digestRspauth(ha1: string, input: ResponseInput): string {
  return kd(ha1, hexHash(hashName(input.algorithm), `:${input.uri}`), input);
}

/**
 * True when `sent` is `expected` (both hex), in time that does not depend on where they
 * differ; a different length compares `expected` with itself, so it costs the same.
 */
export function sameHex(sent: string, expected: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(sent, 'latin1');
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
