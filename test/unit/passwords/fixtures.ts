/**
 * Reads the password fixtures made by test/fixtures/make-password-fixtures.sh with the real
 * tools (htpasswd, htdigest, openssl, crypt(3), argon2).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The fixtures directory. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/passwords/', import.meta.url));

/** What manifest.json says about one fixture file. */
export interface FixtureFile {
  readonly kind: string;
  readonly tool: string;
  readonly users?: readonly string[];
  readonly truncatesTo?: number;
  readonly neverVerifies?: boolean;
}

/** manifest.json. */
export interface Manifest {
  readonly passwords: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, FixtureFile>>;
  readonly digest: {
    readonly file: string;
    readonly records: readonly { user: string; realm: string; password: string }[];
  };
}

/** The manifest written with the fixtures. */
export const manifest = JSON.parse(readFileSync(`${FIXTURES_DIR}manifest.json`, 'utf8')) as Manifest;

/** One record of a fixture file. */
export interface FixtureRecord {
  readonly file: string;
  readonly meta: FixtureFile;
  readonly user: string;
  readonly password: string;
  readonly hash: string;
}

/** Every `user:hash` record of every fixture file (split the simple way: these files are plain). */
export function fixtureRecords(): FixtureRecord[] {
  const out: FixtureRecord[] = [];
  for (const [file, meta] of Object.entries(manifest.files)) {
    const text = readFileSync(`${FIXTURES_DIR}${file}`, 'utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const rest = line.slice(colon + 1);
      const password = manifest.passwords[user];
      if (password === undefined) throw new Error(`fixture ${file}: unknown user ${user}`);
      // Plain-text records may contain ':' (carol's password); the hash field still ends there.
      const end = rest.indexOf(':');
      out.push({ file, meta, user, password, hash: end < 0 ? rest : rest.slice(0, end) });
    }
  }
  return out;
}
