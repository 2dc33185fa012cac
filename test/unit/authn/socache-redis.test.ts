/**
 * The credential cache against the real Redis on 127.0.0.1:6379: each test has its own key
 * prefix and deletes its keys. Also Redis unreachable (nothing listening) and Redis hanging (a
 * TCP peer that never answers): the provider is asked, within a bounded wait, never a grant.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRedisCredentialStore } from '../../../src/authn/credential-store.js';
import { authnSocache, createAuthnSocacheModule, type AuthnSocacheOptions } from '../../../src/authn/socache.js';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import type { Module } from '../../../src/module.js';
import { builtinModules } from '../../../src/modules.js';
import { silentLogger } from '../../../src/log.js';
import { check } from '../../helpers/engine.js';
import { freePort } from '../../services/net.js';
import { countingModule } from '../../helpers/memory-provider.js';
import { REDIS_URL, useRedis } from '../../helpers/redis.js';

const { admin, newPrefix, secretFile: secretPath, dir: tempPath, engines, modules: modulesMade } = useRedis('cache');

/** A counting provider over `users` plus `warm`, the user that opens a store's connection first. */
const countingWithWarm = (users: Record<string, string>) => countingModule({ ...users, warm: 'warm-pw' });


async function engineWith(store: string, extra: Module<any, any>[], options: AuthnSocacheOptions, secret = secretPath()) {
  const socache = createAuthnSocacheModule(options);
  modulesMade.push(socache);
  const modules = builtinModules().map((m) => (m === authnSocache ? socache : m));
  const text = `AuthnCacheSOCache ${store}
AuthTsCacheSecret file:${secret}
<Location /p>
  AuthType Basic
  AuthName "Realm"
  AuthBasicProvider socache counting
  AuthnCacheProvideFor counting
  Require valid-user
</Location>
`;
  const config = await loadConfig({ text, textName: 'test.conf', modules: [...modules, ...extra] });
  const engine = new AuthEngine(config, silentLogger);
  engines.push(engine);
  return engine;
}

/**
 * The client connects in the background (until then lookups miss and the provider is asked):
 * grants the warm-up user until its entry shows up in Redis, then removes it and resets the count.
 */
async function waitReady(engine: AuthEngine, prefix: string, state: { calls: number }): Promise<void> {
  await waitUntil(async () => {
    await check(engine, { path: '/p/warm', basic: 'warm:warm-pw' });
    return (await admin.keys(`${prefix}*`)).length > 0;
  });
  await admin.del(await admin.keys(`${prefix}*`));
  state.calls = 0;
}

describe('redis store', () => {
  it('put/has with PX expiry under its prefix', async () => {
    const prefix = newPrefix();
    const store = await createRedisCredentialStore({ url: REDIS_URL, prefix });
    try {
      await waitUntil(async () => {
        try {
          await store.has('probe');
          return true;
        } catch {
          return false;
        }
      });
      await store.put('k1', 60_000);
      expect(await store.has('k1')).toBe(true);
      expect(await store.has('k2')).toBe(false);
      const pttl = await admin.pTTL(`${prefix}k1`);
      expect(pttl).toBeGreaterThan(55_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      await store.put('short', 30);
      await new Promise((r) => setTimeout(r, 150));
      expect(await store.has('short')).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('rejects at once with CACHE_UNAVAILABLE when nothing listens', async () => {
    const port = await freePort();
    const store = await createRedisCredentialStore({ url: `redis://127.0.0.1:${port}`, prefix: newPrefix() });
    try {
      const started = Date.now();
      await expect(store.has('k')).rejects.toMatchObject({ code: 'CACHE_UNAVAILABLE' });
      await expect(store.put('k', 1000)).rejects.toMatchObject({ code: 'CACHE_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await store.close();
    }
  });
});

async function waitUntil(predicate: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('AuthnCacheSOCache redis:…', () => {
  it('a hit skips the provider; stored keys hold neither the password nor an unkeyed hash', async () => {
    const prefix = newPrefix();
    const { module, state } = countingWithWarm({ alice: 'correct horse battery staple' });
    const engine = await engineWith('redis:127.0.0.1:6379', [module], { redisPrefix: prefix });
    await waitReady(engine, prefix, state);
    expect((await check(engine, { path: '/p/x', basic: 'alice:correct horse battery staple' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', basic: 'alice:correct horse battery staple' })).status).toBe(200);
    expect(state.calls).toBe(1);

    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const value = (await admin.get(keys[0]!)) ?? '';
    const password = 'correct horse battery staple';
    const forbidden = [
      password,
      'alice',
      createHash('sha256').update(password).digest('hex'),
      createHash('sha256').update(`alice:${password}`).digest('hex'),
      createHash('sha1').update(password).digest('hex'),
      createHash('md5').update(password).digest('hex'),
      Buffer.from(password).toString('base64'),
    ];
    for (const text of forbidden) {
      expect(keys[0]).not.toContain(text);
      expect(value).not.toContain(text);
    }
    expect(keys[0]!.slice(prefix.length)).toMatch(/^[0-9a-f]{64}$/);
    expect(value).toBe('1');
  });

  it('only a grant is stored', async () => {
    const prefix = newPrefix();
    const { module, state } = countingWithWarm({ alice: 'a-pw' });
    const engine = await engineWith('redis:redis://127.0.0.1:6379', [module], { redisPrefix: prefix });
    await waitReady(engine, prefix, state);
    await check(engine, { path: '/p/x', basic: 'alice:wrong' });
    await check(engine, { path: '/p/x', basic: 'nobody:x' });
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
  });

  it('is shared by two processes with the same secret, and useless to one with another secret', async () => {
    const prefix = newPrefix();
    const first = countingWithWarm({ alice: 'a-pw' });
    const second = countingWithWarm({ alice: 'a-pw' });
    const third = countingWithWarm({ alice: 'a-pw' });
    const otherSecret = join(tempPath(), 'other-secret');
    await writeFile(otherSecret, randomBytes(32).toString('hex'));
    const e1 = await engineWith('redis:127.0.0.1:6379', [first.module], { redisPrefix: prefix });
    const e2 = await engineWith('redis:127.0.0.1:6379', [second.module], { redisPrefix: prefix });
    await waitReady(e1, prefix, first.state);
    await waitReady(e2, prefix, second.state);

    expect((await check(e1, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect((await check(e2, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect(first.state.calls).toBe(1);
    expect(second.state.calls).toBe(0); // the credential came from e1's entry
    // Another deployment secret over the same keys: e1's entry is useless to it.
    const e3 = await engineWith('redis:127.0.0.1:6379', [third.module], { redisPrefix: prefix }, otherSecret);
    // Ready once its warm-up grant is stored beside alice's entry.
    await waitUntil(async () => {
      await check(e3, { path: '/p/warm', basic: 'warm:warm-pw' });
      return (await admin.keys(`${prefix}*`)).length >= 2;
    });
    third.state.calls = 0;
    expect((await check(e3, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect(third.state.calls).toBe(1);
  });

  it('Redis unreachable: the provider is asked (bounded wait), never a grant from nothing', async () => {
    const port = await freePort();
    const { module, state } = countingWithWarm({ alice: 'a-pw' });
    const engine = await engineWith(`redis:127.0.0.1:${port}`, [module], { redisPrefix: newPrefix() });
    const started = Date.now();
    expect((await check(engine, { path: '/p/x', basic: 'alice:wrong' })).status).toBe(401);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', basic: 'nobody:x' })).status).toBe(401);
    expect(state.calls).toBe(4);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('Redis hanging (connects, never answers): bounded, the provider decides', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const { module, state } = countingWithWarm({ alice: 'a-pw' });
      const engine = await engineWith(`redis:127.0.0.1:${port}`, [module], { redisPrefix: newPrefix(), redisTimeoutMs: 100 });
      const started = Date.now();
      expect((await check(engine, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
      expect((await check(engine, { path: '/p/x', basic: 'alice:wrong' })).status).toBe(401);
      expect(state.calls).toBe(2);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
