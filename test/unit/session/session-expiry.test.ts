/**
 * Session lifetimes with an injected clock, through the engine (the `AuthType Form` authn hook):
 * the idle timeout, restarted by each request; the absolute end (`SessionMaxAge`), whatever the
 * activity; logout; and the same on the real Redis (own key prefix per test), where the store
 * holds only a hash of the session id and a record it cannot be tricked by.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { silentLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import { createAuthRequest } from '../../../src/request-state.js';
import { authTsSession, createSessionModule } from '../../../src/session/module.js';
import { createMemorySessionStore, sessionKey } from '../../../src/session/store.js';
import { check } from '../../helpers/engine.js';
import { useRedis } from '../../helpers/redis.js';

const { admin, newPrefix, engines, modules: modulesMade } = useRedis('session');

const CONF = (store: string) => `
AuthTsSessionStore ${store}
Session On
SessionCookieName sess
SessionCryptoPassphrase "a passphrase long enough for the tests"
SessionMaxAge 3600
AuthTsSessionIdleTimeout 600
<Location /p>
  AuthType Form
  AuthFormLoginRequiredLocation /login
  Require valid-user
</Location>
`;

async function setup(store: string, options: { now: () => number; redisPrefix?: string }) {
  const session = createSessionModule(options);
  modulesMade.push(session);
  const modules = builtinModules().map((m) => (m === authTsSession ? session : m));
  const config = await loadConfig({ text: CONF(store), textName: 'test.conf', modules });
  const engine = new AuthEngine(config, silentLogger);
  engines.push(engine);
  /** Starts a session for `user` as a login would, answering the Cookie header to send. */
  const login = async (user: string, cookie?: string): Promise<string> => {
    const dir = config.resolve({ path: '/login' });
    const req = createAuthRequest(config, dir, { method: 'POST', path: '/login', headers: cookie ? { cookie } : {}, remoteAddress: '192.0.2.1' }, silentLogger);
    const line = await session.start(req, user);
    return line.slice(0, line.indexOf(';'));
  };
  const logout = async (cookie: string): Promise<void> => {
    const req = createAuthRequest(config, config.resolve({ path: '/logout' }), { method: 'GET', path: '/logout', headers: { cookie }, remoteAddress: '192.0.2.1' }, silentLogger);
    await session.end(req);
  };
  const status = async (cookie: string) => (await check(engine, { path: '/p/x', headers: { cookie } })).status;
  return { session, login, logout, status, engine };
}

/** Retries `op` while the Redis client is still connecting (it connects on first use). */
async function connected<T>(op: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await op();
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('session lifetimes, in-process store', () => {
  it('ends a session after the idle timeout; each request restarts it', async () => {
    let clock = 1_000_000;
    const { login, status } = await setup('memory', { now: () => clock });
    const cookie = await login('alice');
    expect(await status(cookie)).toBe(200);
    for (let i = 0; i < 5; i++) {
      clock += 599_000;
      expect(await status(cookie)).toBe(200);
    }
    clock += 600_000;
    expect(await status(cookie)).toBe(302);
    // Gone for good: going back in time does not revive it.
    clock -= 600_000;
    expect(await status(cookie)).toBe(302);
  });

  it('ends a session at SessionMaxAge however active it is', async () => {
    let clock = 5_000_000;
    const { login, status } = await setup('memory', { now: () => clock });
    const cookie = await login('alice');
    while (clock < 5_000_000 + 3_600_000 - 300_000) {
      clock += 300_000;
      expect(await status(cookie)).toBe(200);
    }
    clock = 5_000_000 + 3_600_000 - 1;
    expect(await status(cookie)).toBe(200);
    clock += 1;
    expect(await status(cookie)).toBe(302);
  });

  it('logout destroys the session; a login with an old cookie destroys that session', async () => {
    const clock = 9_000_000;
    const { login, logout, status } = await setup('memory', { now: () => clock });
    const a = await login('alice');
    await logout(a);
    expect(await status(a)).toBe(302);
    const b = await login('bob');
    const c = await login('carol', b);
    expect(await status(b)).toBe(302);
    expect(await status(c)).toBe(200);
  });

  it('the memory store drops expired sessions first, then the oldest, when full', async () => {
    const store = createMemorySessionStore({ maxEntries: 2 });
    const record = (user: string) => ({ user, createdAt: 0, expiresAt: 10_000 });
    await store.create('a', record('a'), 0, 100);
    await store.create('b', record('b'), 0, 5_000);
    await store.create('c', record('c'), 200, 5_000);
    expect(await store.touch('a', 200, 100)).toBeUndefined();
    expect((await store.touch('b', 200, 5_000))?.user).toBe('b');
    await store.create('d', record('d'), 300, 5_000);
    expect(await store.touch('b', 300, 5_000)).toBeUndefined();
    expect((await store.touch('c', 300, 5_000))?.user).toBe('c');
    expect((await store.touch('d', 300, 5_000))?.user).toBe('d');
  });
});

describe('session lifetimes, Redis store', () => {
  it('keeps each session under the hash of its id, with the idle time as TTL, restarted by requests', async () => {
    const clock = Date.now();
    const prefix = newPrefix();
    const { login, status } = await setup('redis:127.0.0.1:6379', { now: () => clock, redisPrefix: prefix });
    const cookie = await connected(() => login('alice'));
    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}[0-9a-f]{64}$`));
    const stored = JSON.parse((await admin.get(keys[0]!))!) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual(['createdAt', 'expiresAt', 'user']);
    expect(stored['user']).toBe('alice');
    expect(JSON.stringify(stored)).not.toContain(cookie.slice(5, 40));
    const ttl = await admin.pTTL(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600_000);
    await admin.pExpire(keys[0]!, 100_000);
    expect(await status(cookie)).toBe(200);
    expect(await admin.pTTL(keys[0]!)).toBeGreaterThan(100_000);
  });

  it('refuses a session past its absolute end (its key dies by its own TTL, never past that end)', async () => {
    let clock = Date.now();
    const prefix = newPrefix();
    const { login, status } = await setup('redis:127.0.0.1:6379', { now: () => clock, redisPrefix: prefix });
    const cookie = await connected(() => login('alice'));
    expect(await status(cookie)).toBe(200);
    clock += 3_600_000;
    expect(await status(cookie)).toBe(302);
    const [key] = await admin.keys(`${prefix}*`);
    expect(await admin.pTTL(key!)).toBeLessThanOrEqual(600_000);
  });

  it('refuses a session whose record was replaced by another user or by garbage', async () => {
    const clock = Date.now();
    const prefix = newPrefix();
    const { login, status } = await setup('redis:127.0.0.1:6379', { now: () => clock, redisPrefix: prefix });
    const cookie = await connected(() => login('alice'));
    const [key] = await admin.keys(`${prefix}*`);
    const stored = JSON.parse((await admin.get(key!))!) as Record<string, unknown>;
    await admin.set(key!, JSON.stringify({ ...stored, user: 'mallory' }), { PX: 60_000 });
    expect(await status(cookie)).toBe(302);
    // A record past its absolute end is refused and deleted by the store itself.
    await admin.set(key!, JSON.stringify({ ...stored, expiresAt: clock - 1 }), { PX: 60_000 });
    expect(await status(cookie)).toBe(302);
    expect(await admin.exists(key!)).toBe(0);
    await admin.set(key!, 'not json', { PX: 60_000 });
    expect(await status(cookie)).toBe(302);
    expect(await admin.exists(key!)).toBe(0);
  });

  it('logout deletes the key', async () => {
    const clock = Date.now();
    const prefix = newPrefix();
    const { login, logout, status } = await setup('redis:127.0.0.1:6379', { now: () => clock, redisPrefix: prefix });
    const cookie = await connected(() => login('alice'));
    await logout(cookie);
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
    expect(await status(cookie)).toBe(302);
  });

  it('sessionKey is the hex SHA-256 of the id', () => {
    expect(sessionKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

