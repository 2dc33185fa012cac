/**
 * The Redis nonce-count store (`AuthTsDigestNonceStore redis:`) against the real Redis on
 * 127.0.0.1:6379 (own key prefix per test, deleted after): counts shared by two engines as by
 * two workers of one run, one-time nonces, retention, and failing closed when Redis is away.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authDigest, createAuthDigestModule } from '../../../src/authn/digest.js';
import { createRedisNonceStore } from '../../../src/authn/digest-nonce.js';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { silentLogger } from '../../../src/log.js';
import { builtinModules } from '../../../src/modules.js';
import type { Verdict } from '../../../src/phases.js';
import { REDIS_URL, useRedis } from '../../helpers/redis.js';
import { digestAuthorization } from '../../e2e/digest-client.js';

const { admin, newPrefix, dir, engines, modules: modulesMade } = useRedis('digest');
const SECRET = Buffer.alloc(32, 9);

/** An engine as one worker of a run: the run's secret, the Redis store under `prefix`. */
async function worker(prefix: string, storeLine = `AuthTsDigestNonceStore redis:${REDIS_URL}`): Promise<AuthEngine> {
  const users = join(dir(), 'users');
  await writeFile(users, `alice:Private:${createHash('md5').update('alice:Private:alice-pw').digest('hex')}\n`);
  const digest = createAuthDigestModule({ secret: SECRET, redisPrefix: prefix });
  modulesMade.push(digest);
  const text = `${storeLine}
<Location /p>
  AuthType Digest
  AuthName "Private"
  AuthUserFile "${users}"
  Require valid-user
</Location>`;
  const config = await loadConfig({ text, textName: 'test.conf', modules: builtinModules().map((m) => (m === authDigest ? digest : m)), logger: silentLogger });
  const engine = new AuthEngine(config, silentLogger);
  engines.push(engine);
  return engine;
}

function send(engine: AuthEngine, authorization?: string): Promise<Verdict> {
  return engine.check({
    method: 'GET',
    path: '/p/x',
    unparsedUri: '/p/x',
    headers: authorization === undefined ? {} : { authorization },
    remoteAddress: '192.0.2.1',
    localAddress: '127.0.0.1',
  });
}

async function waitUntilConnected(engine: AuthEngine, header: string): Promise<Verdict> {
  // The store connects in the background on first use; until then a request fails closed (500).
  for (let i = 0; i < 50; i++) {
    const verdict = await send(engine, header);
    if (verdict.status !== 500) return verdict;
    await new Promise((r) => setTimeout(r, 20));
  }
  return send(engine, header);
}

describe('AuthTsDigestNonceStore redis:', () => {
  it('shares counts between workers: a request replayed to the other worker is refused', async () => {
    const prefix = newPrefix();
    const [a, b] = [await worker(prefix), await worker(prefix)];
    const challenge = (await send(a)).headers.get('WWW-Authenticate')!;
    const at = (nc: number): string => digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/p/x', nc });
    expect((await waitUntilConnected(a, at(1))).status).toBe(200);
    expect((await waitUntilConnected(b, at(1))).status).toBe(401);
    expect((await send(b, at(2))).status).toBe(200);
    expect((await send(a, at(2))).status).toBe(401);
    const keys = await admin.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(await admin.get(keys[0]!)).toBe('2');
    const ttl = await admin.pTTL(keys[0]!);
    expect(ttl).toBeGreaterThan(290_000);
    expect(ttl).toBeLessThanOrEqual(301_000);
  });

  it('fails closed (500) while Redis cannot be reached', async () => {
    const engine = await worker(newPrefix(), 'AuthTsDigestNonceStore redis:127.0.0.1:1');
    const challenge = (await send(engine)).headers.get('WWW-Authenticate')!;
    const verdict = await send(engine, digestAuthorization(challenge, { user: 'alice', password: 'alice-pw', uri: '/p/x' }));
    expect(verdict.status).toBe(500);
    expect(verdict.allowed).toBe(false);
  });

  it('refuses an unknown store at load', async () => {
    const error = await worker(newPrefix(), 'AuthTsDigestNonceStore memcache:1').catch((err: unknown) => err);
    expect(String(error)).toContain('test.conf:1: AuthTsDigestNonceStore: unknown Digest nonce store "memcache:1"');
  });
});

describe('createRedisNonceStore', () => {
  it('counts, one-time nonces, and a retention past which a non-expiring nonce is forgotten', async () => {
    let clock = 1_000_000;
    const prefix = newPrefix();
    const store = await createRedisNonceStore({ url: REDIS_URL, prefix, retentionMs: 60_000, now: () => clock, timeoutMs: 2_000 });
    try {
      for (let i = 0; i < 50 && (await store.use('warmup', clock, 1, false, clock + 1000).catch(() => 'down')) === 'down'; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await store.use('n1', clock, 1, false, clock + 300_000)).toBe('ok');
      expect(await store.use('n1', clock, 1, false, clock + 300_000)).toBe('replay');
      expect(await store.use('n1', clock, 5, false, clock + 300_000)).toBe('ok');
      expect(await store.use('n1', clock, 4, false, clock + 300_000)).toBe('replay');
      expect(await store.use('once', clock, 0, true)).toBe('ok');
      expect(await store.use('once', clock, 0, true)).toBe('replay');
      clock += 60_001;
      expect(await store.use('old', 1_000_000, 1, false)).toBe('forgotten');
    } finally {
      await store.close();
    }
  });

  it('rejects bad options', async () => {
    await expect(createRedisNonceStore({ url: REDIS_URL, timeoutMs: 0 })).rejects.toThrow('options.timeoutMs must be > 0');
    await expect(createRedisNonceStore({ url: REDIS_URL, retentionMs: -1 })).rejects.toThrow('options.retentionMs must be > 0');
  });
});
