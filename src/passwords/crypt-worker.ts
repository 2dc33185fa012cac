/**
 * The piscina worker that recomputes the crypt() hashes implemented in pure JavaScript
 * (md5-crypt / apr1, sha-crypt, traditional DES). They take milliseconds of CPU each, so they
 * run here instead of on the event loop. This file is loaded by `crypt-pool.ts` only.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Both packages are CommonJS exporting one function; their typings do not survive NodeNext
// interop, so they are required with the signature they actually have.
const aprMd5 = require('apache-md5') as (password: string, salt?: string) => string;
const desCrypt = require('apache-crypt') as (password: string, salt?: string) => string;

/**
 * unixcrypt is ESM-only (an `import`-only export map) and is loaded with a dynamic `import()`:
 * when the pool runs this file from source on Node 20, tsx can only hook `require` inside a
 * worker thread, so this module is compiled to CommonJS there and a static import would become
 * a `require()` the package refuses.
 */
let unixcrypt: Promise<typeof import('unixcrypt')> | undefined;

/** One recomputation: `setting` is the salt part of a stored hash (`$apr1$salt`, `$6$rounds=N$salt`, `ab`). */
export interface CryptTask {
  readonly scheme: 'md5' | 'sha-crypt' | 'des';
  readonly password: string;
  readonly setting: string;
}

/**
 * `crypt(password, setting)` for one scheme; `null` when the library rejects the setting (a
 * malformed stored hash), so that the caller can tell "no match" from a broken pool.
 *
 * The md5 and DES libraries hash each UTF-16 code unit as one byte, so the password is handed
 * to them as its UTF-8 bytes, one character per byte — the bytes `htpasswd` hashed. unixcrypt
 * encodes its input as UTF-8 itself.
 */
export default async function crypt(task: CryptTask): Promise<string | null> {
  const compute = await implementation(task.scheme);
  try {
    return compute(task.password, task.setting);
  } catch {
    return null;
  }
}

type CryptFunction = (password: string, setting: string) => string;

async function implementation(scheme: CryptTask['scheme']): Promise<CryptFunction> {
  switch (scheme) {
    case 'md5':
      return (password, setting) => aprMd5(utf8Bytes(password), setting);
    case 'des':
      return (password, setting) => desCrypt(utf8Bytes(password), setting);
    case 'sha-crypt':
      return (await (unixcrypt ??= import('unixcrypt'))).encrypt;
  }
}

function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
