/**
 * The credential cache (mod_authn_socache) with the in-process store and an injected clock:
 * the key's framing and keying, what is cached and what never is, TTL, the user file's identity,
 * provider outages, contexts, and the directives' load errors.
 */
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuthnSocacheModule,
  credentialCacheKey,
  parseStoreSpec,
  authnSocache,
  type AuthnSocacheOptions,
} from '../../../src/authn/socache.js';
import { createMemoryCredentialStore } from '../../../src/authn/credential-store.js';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { ConfigErrors } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { Module } from '../../../src/module.js';
import { builtinModules } from '../../../src/modules.js';
import { authnFile, createAuthnFileModule } from '../../../src/providers/file.js';
import { closePasswordWorkers } from '../../../src/passwords/index.js';
import { check } from '../../helpers/engine.js';
import { countingModule } from '../../helpers/memory-provider.js';


const engines: AuthEngine[] = [];
const modulesMade: Module<any, any>[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.config.close()));
  await Promise.all(modulesMade.splice(0).map((m) => m.close?.()));
});
afterAll(async () => {
  await closePasswordWorkers();
});

/** An engine for `text` with a socache on `clock` and the extra modules. */
async function engineWith(text: string, extra: Module<any, any>[], options: AuthnSocacheOptions & { racyFile?: boolean } = {}) {
  const socache = createAuthnSocacheModule(options);
  const file = options.racyFile ? authnFile : createAuthnFileModule({ racyWindowMs: 0 });
  modulesMade.push(socache, file);
  const modules = builtinModules().map((m) => (m === authnSocache ? socache : m === authnFile ? file : m));
  const config = await loadConfig({ text, textName: 'test.conf', modules: [...modules, ...extra] });
  const engine = new AuthEngine(config, silentLogger);
  engines.push(engine);
  return engine;
}

const site = (body: string, providers = 'socache counting') => `<Location /p>
  AuthType Basic
  AuthName "Realm"
  AuthBasicProvider ${providers}
  Require valid-user
${body}
</Location>`;

describe('credentialCacheKey', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');

  it('frames every part unambiguously: a:b + c never equals a + b:c', () => {
    expect(credentialCacheKey(secret, 'ctx', 'gen', 'a:b', 'c')).not.toBe(credentialCacheKey(secret, 'ctx', 'gen', 'a', 'b:c'));
    expect(credentialCacheKey(secret, 'ctx', 'gen', 'ab', 'c')).not.toBe(credentialCacheKey(secret, 'ctx', 'gen', 'a', 'bc'));
    expect(credentialCacheKey(secret, 'ctx:a', 'gen', 'b', 'c')).not.toBe(credentialCacheKey(secret, 'ctx', 'gen', 'a:b', 'c'));
    expect(credentialCacheKey(secret, 'ctx', 'gena', '', 'c')).not.toBe(credentialCacheKey(secret, 'ctx', 'gen', 'a', 'c'));
    expect(credentialCacheKey(secret, 'c', 'g', 'u', 'p')).toBe(credentialCacheKey(secret, 'c', 'g', 'u', 'p'));
  });

  it('has no length cut: 100-byte passwords differing at byte 90 give different keys', () => {
    const a = 'x'.repeat(100);
    const b = `${'x'.repeat(89)}y${'x'.repeat(10)}`;
    expect(Buffer.byteLength(b)).toBe(100);
    expect(credentialCacheKey(secret, 'c', 'g', 'u', a)).not.toBe(credentialCacheKey(secret, 'c', 'g', 'u', b));
    const long = 'p'.repeat(10_000);
    expect(credentialCacheKey(secret, 'c', 'g', 'u', long)).not.toBe(credentialCacheKey(secret, 'c', 'g', 'u', `${long}q`));
  });

  it('is keyed: another secret gives another key, and the key is not an unkeyed hash', () => {
    const other = Buffer.from('fedcba9876543210fedcba9876543210');
    const key = credentialCacheKey(secret, 'c', 'g', 'alice', 'pw');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(credentialCacheKey(other, 'c', 'g', 'alice', 'pw')).not.toBe(key);
    expect(() => credentialCacheKey(Buffer.alloc(0), 'c', 'g', 'u', 'p')).toThrow(TypeError);
  });

  it('is HMAC-SHA256 of the length-prefixed UTF-8 parts: keys already in Redis stay valid across versions', () => {
    const parts = ['authts-authn-cache-v1', 'd:/p/', 'gen', 'alïce', 'pässword'];
    const framed = Buffer.concat(
      parts.flatMap((part) => {
        const bytes = Buffer.from(part, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return [length, bytes];
      }),
    );
    expect(credentialCacheKey(secret, 'd:/p/', 'gen', 'alïce', 'pässword')).toBe(createHmac('sha256', secret).update(framed).digest('hex'));
  });
});

describe('parseStoreSpec', () => {
  it('reads memory, shmcb (httpd) and redis forms', () => {
    expect(parseStoreSpec('memory')).toEqual({ kind: 'memory' });
    expect(parseStoreSpec('shmcb')).toEqual({ kind: 'memory' });
    expect(parseStoreSpec('shmcb:/var/run/authn_cache(512000)')).toEqual({ kind: 'memory' });
    expect(parseStoreSpec('redis:127.0.0.1:6379')).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(parseStoreSpec('redis:redis://127.0.0.1:6379/2')).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379/2' });
    expect(parseStoreSpec('dbm:/tmp/x')).toBeUndefined();
    expect(parseStoreSpec('redis:')).toBeUndefined();
  });
});

describe('memory store', () => {
  it('expires at the TTL on the injected clock', async () => {
    let clock = 1_000;
    const store = createMemoryCredentialStore({ now: () => clock });
    await store.put('k', 5_000);
    clock += 4_999;
    expect(await store.has('k')).toBe(true);
    clock += 1;
    expect(await store.has('k')).toBe(false);
  });

  it('evicts the least recently used key beyond maxEntries', async () => {
    const store = createMemoryCredentialStore({ maxEntries: 2, now: () => 0 });
    await store.put('a', 10);
    await store.put('b', 10);
    expect(await store.has('a')).toBe(true); // a is now the most recent
    await store.put('c', 10);
    expect(await store.has('b')).toBe(false);
    expect(await store.has('a')).toBe(true);
    expect(await store.has('c')).toBe(true);
  });

  it('checks its options', () => {
    expect(() => createMemoryCredentialStore({ maxEntries: 0 })).toThrow(TypeError);
  });
});

describe('AuthBasicProvider socache …', () => {
  it('answers a repeated credential from the cache: the provider is asked once', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting'), [module]);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    const second = await check(engine, { path: '/p/y', basic: 'alice:a-pw' });
    expect(second).toMatchObject({ status: 200, user: 'alice' });
    expect(state.calls).toBe(1);
  });

  it('never caches denied, not-found or errors', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting'), [module]);
    for (let i = 0; i < 2; i++) expect((await check(engine, { path: '/p/x', basic: 'alice:wrong' })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await check(engine, { path: '/p/x', basic: 'nobody:x' })).status).toBe(401);
    expect(state.calls).toBe(4);
    state.broken = true;
    for (let i = 0; i < 2; i++) expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(500);
    expect(state.calls).toBe(6);
    state.broken = false;
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect(state.calls).toBe(7);
  });

  it('a cached password does not stand for another one', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting'), [module]);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw2' })).status).toBe(401);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-p' })).status).toBe(401);
    expect(state.calls).toBe(3);
  });

  it('caches only for the providers named in AuthnCacheProvideFor', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site(''), [module]);
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(2);
  });

  it('an entry dies at AuthnCacheTimeout (injected clock)', async () => {
    let clock = 0;
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting\n  AuthnCacheTimeout 60'), [module], { now: () => clock });
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    clock += 59_999;
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(1);
    clock += 1;
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(2);
  });

  it('defaults to 300 s, as httpd', async () => {
    let clock = 0;
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting'), [module], { now: () => clock });
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    clock += 299_000;
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    clock += 1_000;
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(2);
  });

  it('a provider outage never makes the cache more trusting: an expired entry gives 500, not 200', async () => {
    let clock = 0;
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting\n  AuthnCacheTimeout 10'), [module], { now: () => clock });
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    state.broken = true;
    clock += 10_000;
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(500);
    // and the failure stored nothing: still 500 while the provider is down
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(500);
    expect((await check(engine, { path: '/p/x', basic: 'alice:other' })).status).toBe(500);
  });

  it('AuthnCacheContext directory (default) keeps directories apart; server shares them', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting'), [module]);
    await check(engine, { path: '/p/a/x', basic: 'alice:a-pw' });
    await check(engine, { path: '/p/b/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(2);
    const shared = countingModule({ alice: 'a-pw' }, 'counting2');
    const engine2 = await engineWith(site('AuthnCacheProvideFor counting2\n  AuthnCacheContext server', 'socache counting2'), [shared.module]);
    await check(engine2, { path: '/p/a/x', basic: 'alice:a-pw' });
    await check(engine2, { path: '/p/b/x', basic: 'alice:a-pw' });
    expect(shared.state.calls).toBe(1);
  });

  it('AuthnCacheTimeout 0 caches nothing', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting\n  AuthnCacheTimeout 0'), [module]);
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(2);
  });

  it('without socache in the chain nothing is looked up', async () => {
    const { module, state } = countingModule({ alice: 'a-pw' });
    const engine = await engineWith(site('AuthnCacheProvideFor counting', 'counting'), [module]);
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(state.calls).toBe(2);
  });
});

describe('with AuthUserFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authts-socache-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const record = (user: string, password: string) => execFileSync('htpasswd', ['-nbB', '-C', '4', user, password], { encoding: 'utf8' }).trim();

  it('an entry dies at once when the user file changes', async () => {
    const users = join(dir, 'users-change');
    await writeFile(users, `${record('alice', 'old-pw')}\n`);
    const engine = await engineWith(site(`AuthUserFile ${users}\n  AuthnCacheProvideFor file`, 'socache file'), []);
    expect((await check(engine, { path: '/p/x', basic: 'alice:old-pw' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', basic: 'alice:old-pw' })).status).toBe(200);
    await writeFile(users, `${record('alice', 'new-pw')}\n`);
    expect((await check(engine, { path: '/p/x', basic: 'alice:old-pw' })).status).toBe(401);
    expect((await check(engine, { path: '/p/x', basic: 'alice:new-pw' })).status).toBe(200);
  });

  it('a user removed from the file is not granted from the cache', async () => {
    const users = join(dir, 'users-remove');
    await writeFile(users, `${record('alice', 'a-pw')}\n${record('bob', 'b-pw')}\n`);
    const engine = await engineWith(site(`AuthUserFile ${users}\n  AuthnCacheProvideFor file`, 'socache file'), []);
    expect((await check(engine, { path: '/p/x', basic: 'bob:b-pw' })).status).toBe(200);
    await writeFile(users, `${record('alice', 'a-pw')}\n`);
    expect((await check(engine, { path: '/p/x', basic: 'bob:b-pw' })).status).toBe(401);
  });

  it('a missing user file is 500, never a grant from the cache', async () => {
    const users = join(dir, 'users-gone');
    await writeFile(users, `${record('alice', 'a-pw')}\n`);
    const engine = await engineWith(site(`AuthUserFile ${users}\n  AuthnCacheProvideFor file`, 'socache file'), []);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    await rm(users);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(500);
  });

  it('while the file changed too recently to be trusted, nothing is cached (racy window)', async () => {
    const users = join(dir, 'users-racy');
    await writeFile(users, `${record('alice', 'a-pw')}\n`);
    const socache = createAuthnSocacheModule();
    const file = createAuthnFileModule({ racyWindowMs: 60_000 });
    modulesMade.push(socache, file);
    const provider = file.authnProviders!['file']!;
    let calls = 0;
    const counted: Module = {
      name: 'counted_file',
      authnProviders: {
        cfile: { checkPassword: (...a) => (calls++, provider.checkPassword!(...a)), cacheIdentity: (req) => provider.cacheIdentity!(req) },
      },
    };
    const modules = builtinModules().map((m) => (m === authnSocache ? socache : m === authnFile ? file : m));
    const config = await loadConfig({
      text: site(`AuthUserFile ${users}\n  AuthnCacheProvideFor cfile`, 'socache cfile'),
      textName: 'test.conf',
      modules: [...modules, counted],
    });
    const engine = new AuthEngine(config, silentLogger);
    engines.push(engine);
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(calls).toBe(2);
  });
});

describe('directives', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authts-socache-conf-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loadErrors(text: string) {
    try {
      const config = await loadConfig({ text, textName: 'test.conf', modules: builtinModules(), logger: silentLogger });
      await config.close();
      return [];
    } catch (err) {
      if (!(err instanceof ConfigErrors)) throw err;
      return err.errors.map((e) => ({ code: e.code, line: e.line, directive: e.directive }));
    }
  }

  it('Redis without a shared secret is a load error naming the line', async () => {
    expect(await loadErrors('\nAuthnCacheSOCache redis:127.0.0.1:6379\n')).toEqual([
      { code: 'CONFIG_CACHE_SECRET', line: 2, directive: 'AuthnCacheSOCache' },
    ]);
  });

  it('AuthTsCacheSecret: file and env forms; missing, too short or inline secrets are load errors', async () => {
    const good = join(dir, 'secret');
    await writeFile(good, 'a'.repeat(64) + '\n');
    const short = join(dir, 'short');
    await writeFile(short, 'abc\n');
    expect(await loadErrors(`AuthnCacheSOCache redis:127.0.0.1:6379\nAuthTsCacheSecret file:${good}\n`)).toEqual([]);
    process.env['AUTHTS_TEST_CACHE_SECRET'] = 'b'.repeat(32);
    try {
      expect(await loadErrors('AuthTsCacheSecret env:AUTHTS_TEST_CACHE_SECRET\n')).toEqual([]);
    } finally {
      delete process.env['AUTHTS_TEST_CACHE_SECRET'];
    }
    expect(await loadErrors('AuthTsCacheSecret env:AUTHTS_TEST_CACHE_SECRET\n')).toEqual([
      { code: 'CONFIG_CACHE_SECRET', line: 1, directive: 'AuthTsCacheSecret' },
    ]);
    expect(await loadErrors(`AuthTsCacheSecret file:${short}\n`)).toMatchObject([{ code: 'CONFIG_CACHE_SECRET' }]);
    expect(await loadErrors(`AuthTsCacheSecret file:${join(dir, 'nope')}\n`)).toMatchObject([{ code: 'CONFIG_CACHE_SECRET' }]);
    expect(await loadErrors('AuthTsCacheSecret s3cr3ts3cr3ts3cr3t\n')).toMatchObject([{ code: 'CONFIG_CACHE_SECRET' }]);
  });

  it('rejects bad arguments and places', async () => {
    expect(await loadErrors('AuthnCacheSOCache dbm:/tmp/x\n')).toMatchObject([{ code: 'CONFIG_BAD_ARGUMENT', line: 1 }]);
    expect(await loadErrors('<Location /p>\nAuthnCacheTimeout soon\n</Location>\n')).toMatchObject([{ code: 'CONFIG_BAD_ARGUMENT', line: 2 }]);
    expect(await loadErrors('<Location /p>\nAuthnCacheProvideFor nosuch\n</Location>\n')).toMatchObject([{ code: 'CONFIG_UNKNOWN_PROVIDER', line: 2 }]);
    expect(await loadErrors('<Location /p>\nAuthnCacheProvideFor socache\n</Location>\n')).toMatchObject([{ code: 'CONFIG_BAD_ARGUMENT' }]);
    expect(await loadErrors('<Location /p>\nAuthnCacheSOCache memory\n</Location>\n')).toMatchObject([{ code: 'CONFIG_NOT_ALLOWED_HERE' }]);
    expect(await loadErrors('AuthnCacheTimeout 5\n')).toMatchObject([{ code: 'CONFIG_NOT_ALLOWED_HERE' }]);
  });

  it('loads the httpd forms: shmcb, AuthnCacheEnable, AuthnCacheContext', async () => {
    expect(
      await loadErrors(
        'AuthnCacheSOCache shmcb:/var/run/authn(512000)\nAuthnCacheEnable\n<Location /p>\nAuthType Basic\nAuthName x\nAuthBasicProvider socache file\nAuthUserFile /dev/null\nAuthnCacheProvideFor file\nAuthnCacheContext my-app\nAuthnCacheTimeout 600\nRequire valid-user\n</Location>\n',
      ),
    ).toEqual([]);
  });
});

describe('AuthDigestProvider socache …', () => {
  it('loads as in httpd, with a warning naming the line, and the socache provider never answers a realm hash', async () => {
    const text = 'AuthnCacheSOCache shmcb\n<Location /p>\nAuthType Digest\nAuthName x\nAuthDigestProvider socache file\nAuthUserFile /dev/null\nAuthnCacheProvideFor file\nRequire valid-user\n</Location>\n';
    const config = await loadConfig({ text, textName: 'digest.conf', modules: builtinModules() });
    try {
      expect(config.warnings).toHaveLength(1);
      expect(config.warnings[0]).toMatchObject({ file: 'digest.conf', line: 5 });
      expect(config.warnings[0]!.message).toContain('socache keeps no Digest realm hashes');
      const provider = authnSocache.authnProviders!['socache']!;
      expect(await provider.getRealmHash!({} as never, 'alice', 'x')).toBeUndefined();
    } finally {
      await config.close();
    }
  });
});

describe('documentation', () => {
  const directivesDoc = readFileSync(new URL('../../../docs/directives.md', import.meta.url), 'utf8');
  const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const spec of authnSocache.directives ?? []) {
    it(`docs/directives.md documents ${spec.name}`, () => {
      const start = directivesDoc.indexOf(`\n### ${spec.name}\n`);
      expect(start, spec.name).toBeGreaterThan(0);
      const entry = directivesDoc.slice(start, directivesDoc.indexOf('\n### ', start + 5));
      for (const field of ['Description', 'Syntax', 'Default', 'Context', 'Module']) expect(entry, `${spec.name} ${field}`).toContain(`- **${field}:**`);
      expect(entry).toContain(`\`${spec.syntax}\``);
      expect(directivesDoc).toContain(`| [\`${spec.name}\`](#${spec.name.toLowerCase()}) |`);
    });
  }
  it('docs/errors.md has a row for each cache code', () => {
    for (const code of ['CONFIG_CACHE_SECRET', 'CACHE_UNAVAILABLE']) expect(errorsDoc).toContain(`| \`${code}\` |`);
  });
});
