import { timingSafeEqual } from 'node:crypto';

/**
 * Compares two strings (as UTF-8 bytes) in time that depends only on the length of `expected`,
 * never on where they first differ.
 *
 * `timingSafeEqual` throws on buffers of different lengths, and returning early on a length
 * mismatch would tell an attacker the length; so a mismatch still runs one full comparison of
 * `expected` against itself before answering `false`.
 *
 * @example
 * ```ts
 * constantTimeEqual(recomputed, stored); // true only for identical strings
 * ```
 */
export function constantTimeEqual(actual: string, expected: string): boolean {
  const a = Buffer.from(actual, 'utf8');
  const e = Buffer.from(expected, 'utf8');
  const sameLength = a.length === e.length;
  const equal = timingSafeEqual(sameLength ? a : e, e);
  return sameLength && equal;
}
