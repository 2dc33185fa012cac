/**
 * Password hashes as httpd's `apr_password_validate` knows them on Linux, verified (and
 * created) off the event loop.
 *
 * @example
 * ```ts
 * import { verifyPassword, makeDummyHash, closePasswordWorkers } from './passwords/index.js';
 * const ok = await verifyPassword(storedHash, password);
 * ```
 */
export { verifyPassword } from './verify.js';
export { createHash, type CreateHashOptions, type HashFormat } from './create.js';
export { makeDummyHash } from './dummy.js';
export { hashKind, type HashKind } from './hash-kind.js';
export { closePasswordWorkers } from './crypt-pool.js';
export { constantTimeEqual } from './constant-time.js';
