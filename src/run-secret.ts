/**
 * One random secret per run of authts, shared by every worker process of `authts serve
 * --workers N`: what a module signs and checks within one run (Digest nonces, CSRF tokens), so
 * that a value one worker issued is accepted by the others, and nothing signed outlives the run.
 *
 * The primary process makes it and hands it to its workers in the environment variable
 * {@link RUN_SECRET_ENV} (hex); a single process makes its own on first use. It is never logged
 * and never written to disk. A value that must survive restarts or be shared between machines
 * needs a configured secret instead (`file:`/`env:`, see ./authn/secret.ts).
 */
import { randomBytes } from 'node:crypto';

/** The environment variable that carries the run secret from the primary to its workers. */
export const RUN_SECRET_ENV = 'AUTHTS_RUN_SECRET';

const SECRET_BYTES = 32;

let secret: Buffer | undefined;

/** The run's secret (32 bytes): the one the primary handed down, else a new random one. */
export function runSecret(): Buffer {
  if (secret === undefined) {
    const inherited = process.env[RUN_SECRET_ENV];
    secret = inherited !== undefined && /^[0-9a-f]{64}$/.test(inherited) ? Buffer.from(inherited, 'hex') : randomBytes(SECRET_BYTES);
  }
  return secret;
}
