/**
 * The piscina worker that computes the crypt() hashes implemented in pure JavaScript
 * (md5-crypt / apr1, sha-crypt, traditional DES), for verification and for new hashes. They take
 * milliseconds of CPU each, so they run here instead of on the event loop. This file is loaded
 * by `crypt-pool.ts` only.
 */
import { createRequire } from 'node:module';
import { shaCrypt } from './sha-crypt.js';

const require = createRequire(import.meta.url);
// Both packages are CommonJS exporting one function; their typings do not survive NodeNext
// interop, so they are required with the signature they actually have.
const aprMd5 = require('apache-md5') as (password: string, salt?: string) => string;
const desCrypt = require('apache-crypt') as (password: string, salt?: string) => string;

/**
 * One computation: `setting` is the salt part of a stored hash (`$apr1$salt`, `$6$rounds=N$salt`,
 * `ab`). A string password is hashed as its UTF-8 bytes; bytes are hashed as they are (a
 * password read from a terminal or standard input need not be UTF-8).
 */
export interface CryptTask {
  readonly scheme: 'md5' | 'sha-crypt' | 'des';
  readonly password: string | Uint8Array;
  readonly setting: string;
}

/**
 * `crypt(password, setting)` for one scheme; `null` when the library rejects the setting (a
 * malformed stored hash), so that the caller can tell "no match" from a broken pool.
 *
 * The md5 and DES libraries hash each UTF-16 code unit as one byte, so the password is handed
 * to them as its bytes, one character per byte — the bytes `htpasswd` hashed.
 */
export default async function crypt(task: CryptTask): Promise<string | null> {
  const bytes = typeof task.password === 'string' ? Buffer.from(task.password, 'utf8') : Buffer.from(task.password);
  try {
    switch (task.scheme) {
      case 'md5':
        return aprMd5(bytes.toString('latin1'), task.setting);
      case 'des':
        return desCrypt(bytes.toString('latin1'), task.setting);
      case 'sha-crypt':
        return shaCrypt(bytes, task.setting);
    }
  } catch {
    return null;
  }
}

