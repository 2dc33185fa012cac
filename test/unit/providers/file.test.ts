import { createHash } from 'node:crypto';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthTsError, ConfigError } from '../../../src/errors.js';
import type { AuthnProvider, AuthnResult, Module } from '../../../src/module.js';
import { closePasswordWorkers } from '../../../src/passwords/index.js';
import {
  createAuthnFileModule,
  parseUserFile,
  realmKey,
  type AuthnFileSettings,
} from '../../../src/providers/file.js';
import { FIXTURES_DIR, manifest } from '../passwords/fixtures.js';
import { applyDirective, captureLogger, fakeRequest, tempDir } from './helpers.js';

let dir = '';
let remove: () => Promise<void> = async () => {};
let module: Module<AuthnFileSettings>;
let provider: AuthnProvider;

beforeEach(async () => {
  ({ dir, remove } = await tempDir());
  module = createAuthnFileModule();
  provider = module.authnProviders!['file']!;
});
afterEach(async () => {
  await module.close?.();
  await remove();
});
afterAll(async () => {
  await closePasswordWorkers();
});

const alice = manifest.passwords['alice']!;
const bob = manifest.passwords['bob']!;

/** A request for which AuthUserFile is `userFile` (absolute). */
function requestFor(userFile: string | undefined, log = captureLogger().log) {
  const settings: AuthnFileSettings = userFile === undefined ? {} : { userFile };
  return fakeRequest({ settings: new Map([[module, settings]]), log });
}

async function check(userFile: string | undefined, user: string, password: string): Promise<AuthnResult> {
  return provider.checkPassword!(requestFor(userFile), user, password);
}

async function rejection(promise: Promise<unknown>): Promise<AuthTsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthTsError);
  return err as AuthTsError;
}

/** The `user:hash` line of `user` in a fixture file. */
async function fixtureLine(file: string, user: string): Promise<string> {
  const text = await readFile(join(FIXTURES_DIR, file), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no ${user} in ${file}`);
  return line;
}

describe('parseUserFile', () => {
  it('reads users as mod_authn_file does', () => {
    const file = parseUserFile(
      [
        '# comment',
        '',
        '   # indented comment',
        'alice:$apr1$first$x',
        'alice:$apr1$second$y',
        '  bob:hashb  ',
        'carol::hashc',
        'dave:hashd:extra:fields',
        'erin',
        'frank :hashf',
      ].join('\n'),
    );
    expect([...file.users]).toEqual([
      ['alice', '$apr1$first$x'],
      ['bob', 'hashb'],
      ['carol', 'hashc'],
      ['dave', 'hashd'],
      ['erin', ''],
      ['frank ', 'hashf'],
    ]);
    expect(file.dummyModel).toBe('$apr1$first$x');
    expect(file.tooLongAt).toBeUndefined();
  });

  it('takes the first hash that can verify as the dummy model', () => {
    expect(parseUserFile('a:plain\nb:$2y$05$abc\nc:$apr1$x$y\n').dummyModel).toBe('$2y$05$abc');
    expect(parseUserFile('a:plain\nb:other\n').dummyModel).toBe('plain');
    expect(parseUserFile('# nothing\n').dummyModel).toBeUndefined();
  });

  it('indexes htdigest lines by user and realm, first match wins', () => {
    const file = parseUserFile('alice:Realm A:aaa\nalice:Realm B:bbb\nalice:Realm A:zzz\nbob:Realm A:ccc:extra\n');
    expect(file.realms.get(realmKey('alice', 'Realm A'))).toBe('aaa');
    expect(file.realms.get(realmKey('alice', 'Realm B'))).toBe('bbb');
    expect(file.realms.get(realmKey('bob', 'Realm A'))).toBe('ccc');
    expect(file.realms.get(realmKey('bob', 'Realm B'))).toBeUndefined();
    expect(realmKey('a:b', 'c')).not.toBe(realmKey('a', 'b:c'));
  });
});

describe('AuthUserFile directive', () => {
  it('resolves a relative path against the server root and an absolute one as is', () => {
    const settings: AuthnFileSettings = {};
    const warnings = applyDirective(module, 'AuthUserFile', ['conf/users'], settings, '/srv/authts');
    expect(settings.userFile).toBe('/srv/authts/conf/users');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('does not exist');
    applyDirective(module, 'AuthUserFile', [join(FIXTURES_DIR, 'apr1.htpasswd')], settings, '/srv/authts');
    expect(settings.userFile).toBe(join(FIXTURES_DIR, 'apr1.htpasswd'));
  });

  it('does not warn when the file exists', () => {
    const settings: AuthnFileSettings = {};
    expect(applyDirective(module, 'AuthUserFile', ['apr1.htpasswd'], settings, FIXTURES_DIR)).toEqual([]);
  });

  it('rejects an empty path at load time', () => {
    expect(() => applyDirective(module, 'AuthUserFile', [''], {}, dir)).toThrow(ConfigError);
  });

  it('is a one-argument section directive', () => {
    const spec = module.directives!.find((d) => d.name === 'AuthUserFile')!;
    expect(spec.context).toBe('section');
    expect(spec.minArgs).toBe(1);
    expect(spec.maxArgs).toBe(1);
  });

  it('merges: an inner AuthUserFile replaces the outer one, none inherits it', () => {
    const outer: AuthnFileSettings = { userFile: '/a' };
    const inner: AuthnFileSettings = { userFile: '/b' };
    expect(module.mergeDirSettings!(outer, inner)).toEqual({ userFile: '/b' });
    expect(module.mergeDirSettings!(outer, module.createDirSettings!())).toEqual({ userFile: '/a' });
    expect(module.mergeDirSettings!(module.createDirSettings!(), module.createDirSettings!())).toEqual({});
    expect(outer).toEqual({ userFile: '/a' });
    expect(inner).toEqual({ userFile: '/b' });
  });
});

describe('provider "file": checkPassword', () => {
  for (const file of ['apr1.htpasswd', 'bcrypt-cost5.htpasswd', 'sha512.htpasswd', 'sha1.htpasswd', 'argon2.htpasswd']) {
    it(`${file}: granted, denied, not-found`, async () => {
      const path = join(FIXTURES_DIR, file);
      expect(await check(path, 'alice', alice)).toBe('granted');
      expect(await check(path, 'bob', bob)).toBe('granted');
      expect(await check(path, 'alice', bob)).toBe('denied');
      expect(await check(path, 'nobody', alice)).toBe('not-found');
      expect(await check(path, 'Alice', alice)).toBe('not-found');
    });
  }

  it('plain-text records are found but never granted', async () => {
    const path = join(FIXTURES_DIR, 'plain.htpasswd');
    expect(await check(path, 'alice', alice)).toBe('denied');
    expect(await check(path, 'nobody', alice)).toBe('not-found');
  });

  it('the first line of a user wins; later lines are never consulted', async () => {
    const path = join(dir, 'users');
    const first = (await fixtureLine('apr1.htpasswd', 'alice')).slice('alice:'.length);
    const second = (await fixtureLine('bcrypt-cost4.htpasswd', 'bob')).slice('bob:'.length);
    await writeFile(path, `alice:${first}\nalice:${second}\n`);
    expect(await check(path, 'alice', alice)).toBe('granted');
    expect(await check(path, 'alice', bob)).toBe('denied');
  });

  it('skips comments and blank lines, ignores extra fields, tolerates CRLF and surrounding spaces', async () => {
    const path = join(dir, 'users');
    const hash = (await fixtureLine('apr1.htpasswd', 'alice')).slice('alice:'.length);
    await writeFile(path, `# alice:${hash}\r\n\r\n   \r\n  alice:${hash}:Alice Example:admin  \r\n`);
    expect(await check(path, 'alice', alice)).toBe('granted');
    expect(await check(path, '# alice', alice)).toBe('not-found');
  });

  it('a password may contain ":" (only the user name ends at the first colon)', async () => {
    const path = join(FIXTURES_DIR, 'bcrypt-cost4.htpasswd');
    expect(await check(path, 'carol', manifest.passwords['carol']!)).toBe('granted');
    expect(await check(path, 'carol', 'colon')).toBe('denied');
  });

  it('reloads after the file changes: a new user, a changed password, a removed user', async () => {
    const path = join(dir, 'users');
    const aliceLine = await fixtureLine('apr1.htpasswd', 'alice');
    const bobLine = await fixtureLine('apr1.htpasswd', 'bob');
    await writeFile(path, `${aliceLine}\n`);
    expect(await check(path, 'bob', bob)).toBe('not-found');
    await writeFile(path, `${aliceLine}\n${bobLine}\n`);
    expect(await check(path, 'bob', bob)).toBe('granted');
    // alice's password becomes bob's (same length record: only mtime/ctime tell).
    await writeFile(path, `alice:${bobLine.slice('bob:'.length)}\n${bobLine}\n`);
    expect(await check(path, 'alice', alice)).toBe('denied');
    expect(await check(path, 'alice', bob)).toBe('granted');
    await writeFile(path, `${bobLine}\n`);
    expect(await check(path, 'alice', bob)).toBe('not-found');
  });

  it('a missing file throws FILE_UNREADABLE (→ 500), and works again once the file is back', async () => {
    const path = join(dir, 'users');
    await copyFile(join(FIXTURES_DIR, 'apr1.htpasswd'), path);
    expect(await check(path, 'alice', alice)).toBe('granted');
    await rm(path);
    expect((await rejection(check(path, 'alice', alice))).code).toBe('FILE_UNREADABLE');
    expect((await rejection(check(path, 'nobody', alice))).code).toBe('FILE_UNREADABLE');
    await copyFile(join(FIXTURES_DIR, 'apr1.htpasswd'), path);
    expect(await check(path, 'alice', alice)).toBe('granted');
  });

  it('no AuthUserFile throws an AuthTsError', async () => {
    const err = await rejection(check(undefined, 'alice', alice));
    expect(err.code).toBe('FILE_UNREADABLE');
    expect(err.message).toContain('AuthUserFile');
  });

  it('a record in a format authts cannot verify throws HASH_UNSUPPORTED for that user only', async () => {
    const path = join(dir, 'users');
    const aliceLine = await fixtureLine('apr1.htpasswd', 'alice');
    await writeFile(path, `yes:$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ5XiVCe.\n${aliceLine}\n`);
    expect((await rejection(check(path, 'yes', 'secret'))).code).toBe('HASH_UNSUPPORTED');
    expect(await check(path, 'alice', alice)).toBe('granted');
    expect(await check(path, 'nobody', alice)).toBe('not-found');
  });

  it('an empty file finds nobody', async () => {
    const path = join(dir, 'users');
    await writeFile(path, '');
    expect(await check(path, 'alice', alice)).toBe('not-found');
  });

  it('logs (without the password) when reading stopped at an over-long line', async () => {
    const path = join(dir, 'users');
    const bobLine = await fixtureLine('apr1.htpasswd', 'bob');
    await writeFile(path, `x:${'a'.repeat(9000)}\n${bobLine}\n`);
    const { log, lines } = captureLogger();
    expect(await provider.checkPassword!(requestFor(path, log), 'bob', bob)).toBe('not-found');
    expect(lines.some((l) => String(l['msg']).includes('over-long line') && l['line'] === 1)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(bob);
  });

  it('shares one index per path among requests and sections, and close() drops it', async () => {
    const path = join(dir, 'users');
    await copyFile(join(FIXTURES_DIR, 'sha1.htpasswd'), path);
    const results = await Promise.all([
      check(path, 'alice', alice),
      check(path, 'bob', bob),
      check(path, 'nobody', alice),
      check(path, 'alice', 'x'),
    ]);
    expect(results).toEqual(['granted', 'granted', 'not-found', 'denied']);
    await module.close!();
    expect(await check(path, 'alice', alice)).toBe('granted');
  });
});

describe('provider "file": chain semantics (AuthBasicProvider a b)', () => {
  /** httpd's loop: only 'not-found' moves on to the next provider. */
  async function chain(files: string[], user: string, password: string): Promise<AuthnResult> {
    let result: AuthnResult = 'not-found';
    for (const file of files) {
      result = await check(file, user, password);
      if (result !== 'not-found') break;
    }
    return result;
  }

  it('a user missing from the first file is looked up in the second', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await writeFile(first, `${await fixtureLine('apr1.htpasswd', 'alice')}\n`);
    await writeFile(second, `${await fixtureLine('bcrypt-cost4.htpasswd', 'bob')}\n`);
    expect(await chain([first, second], 'bob', bob)).toBe('granted');
    expect(await chain([first, second], 'nobody', bob)).toBe('not-found');
  });

  it('a wrong password in the first file stops the chain, even if the second would accept', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await writeFile(first, `alice:${(await fixtureLine('apr1.htpasswd', 'bob')).slice('bob:'.length)}\n`);
    await writeFile(second, `${await fixtureLine('apr1.htpasswd', 'alice')}\n`);
    expect(await check(second, 'alice', alice)).toBe('granted');
    expect(await chain([first, second], 'alice', alice)).toBe('denied');
  });
});

describe('provider "file": getRealmHash (htdigest files)', () => {
  const path = join(FIXTURES_DIR, manifest.digest.file);
  const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

  for (const r of manifest.digest.records) {
    it(`${r.user} in "${r.realm}" gives MD5(user:realm:password) as htdigest wrote it`, async () => {
      const hash = await provider.getRealmHash!(requestFor(path), r.user, r.realm);
      expect(hash).toBe(md5(`${r.user}:${r.realm}:${r.password}`));
    });
  }

  it('unknown user or realm → undefined', async () => {
    expect(await provider.getRealmHash!(requestFor(path), 'nobody', 'Private Area')).toBeUndefined();
    expect(await provider.getRealmHash!(requestFor(path), 'bob', 'Other Realm')).toBeUndefined();
    expect(await provider.getRealmHash!(requestFor(path), 'alice', 'private area')).toBeUndefined();
  });

  it('a missing file throws FILE_UNREADABLE', async () => {
    const err = await rejection(provider.getRealmHash!(requestFor(join(dir, 'nope')), 'alice', 'Private Area'));
    expect(err.code).toBe('FILE_UNREADABLE');
  });
});
