/**
 * Brute-force regulation with the in-process store and an injected clock, and with the real
 * Redis on 127.0.0.1:6379 shared by two engines (own key prefix per test, deleted after). A
 * counting provider shows it is not asked while a request is banned.
 */
import { describe, expect, it } from 'vitest';
import {
  authTsRegulation,
  createRegulationModule,
  regulationAddressKey,
  regulationUserKey,
  type RegulationOptions,
} from '../../../src/authn/regulation.js';
import { loadConfig } from '../../../src/config/load.js';
import { AuthEngine } from '../../../src/engine.js';
import { ConfigErrors } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { Module } from '../../../src/module.js';
import { builtinModules } from '../../../src/modules.js';
import type { Verdict } from '../../../src/phases.js';
import { check } from '../../helpers/engine.js';
import { countingModule } from '../../helpers/memory-provider.js';
import { REDIS_URL, useRedis } from '../../helpers/redis.js';

const { admin, newPrefix, secretFile: secretPath, engines, modules: modulesMade } = useRedis('reg');

/** The counting provider's users. */
const USERS = { alice: 'alice-pw', bob: 'bob-pw' };


async function engineWith(head: string, extra: Module<any, any>[], options: RegulationOptions = {}, body = '') {
  const regulation = createRegulationModule(options);
  modulesMade.push(regulation);
  const modules = builtinModules().map((m) => (m === authTsRegulation ? regulation : m));
  const text = `${head}
<Location /p>
  AuthType Basic
  AuthName "Realm"
  AuthBasicProvider counting
  Require valid-user
${body}
</Location>`;
  const config = await loadConfig({ text, textName: 'test.conf', modules: [...modules, ...extra] });
  const engine = new AuthEngine(config, silentLogger);
  engines.push(engine);
  return engine;
}

const req = (basic: string, remoteAddress = '192.0.2.1') => ({ path: '/p/x', basic, remoteAddress });
const view = (v: Verdict) => ({ status: v.status, headers: Object.fromEntries(v.headers) });

describe('regulation with the in-process store', () => {
  it('is off by default: failures never ban', async () => {
    const { module, state } = countingModule(USERS);
    const engine = await engineWith('', [module]);
    for (let i = 0; i < 10; i++) expect((await check(engine, req('alice:bad'))).status).toBe(401);
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(200);
    expect(state.calls).toBe(11);
  });

  it('bans after MaxRetries failures with 429 + Retry-After, without asking the provider; the ban ends after BanTime', async () => {
    let clock = 1_000_000;
    const { module, state } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 3\nAuthTsRegulationBanTime 60\nAuthTsRegulationMode user', [module], { now: () => clock });
    for (let i = 0; i < 3; i++) expect((await check(engine, req('alice:bad'))).status).toBe(401);
    expect(state.calls).toBe(3);
    const banned = await check(engine, req('alice:alice-pw'));
    expect(view(banned)).toEqual({ status: 429, headers: { 'Retry-After': '60' } });
    expect(state.calls).toBe(3);
    clock += 59_500;
    expect(view(await check(engine, req('alice:alice-pw')))).toEqual({ status: 429, headers: { 'Retry-After': '1' } });
    clock += 500;
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(200);
    expect(state.calls).toBe(4);
  });

  it('answers an unknown user and a known user with a wrong password identically', async () => {
    const clock = 5_000;
    const { module, state } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 4\nAuthTsRegulationBanTime 120\nAuthTsRegulationMode user', [module], { now: () => clock });
    const known: Verdict[] = [];
    const unknown: Verdict[] = [];
    for (let i = 0; i < 6; i++) known.push(await check(engine, req('alice:wrong')));
    for (let i = 0; i < 6; i++) unknown.push(await check(engine, req('nobody:wrong')));
    expect(known.map(view)).toEqual(unknown.map(view));
    expect(known.map((v) => v.status)).toEqual([401, 401, 401, 401, 429, 429]);
    expect(view(known[5]!)).toEqual({ status: 429, headers: { 'Retry-After': '120' } });
    expect(state.calls).toBe(8);
  });

  it('counts failures within FindTime only: older ones are forgotten', async () => {
    let clock = 0;
    const { module } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 3\nAuthTsRegulationFindTime 10\nAuthTsRegulationMode user', [module], { now: () => clock });
    await check(engine, req('alice:bad'));
    await check(engine, req('alice:bad'));
    clock += 10_000;
    await check(engine, req('alice:bad'));
    await check(engine, req('alice:bad'));
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(200);
  });

  it('per address: spraying many users from one address is banned, and a success of another user does not clear it', async () => {
    const clock = 0;
    const { module, state } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 3\nAuthTsRegulationMode ip', [module], { now: () => clock });
    expect((await check(engine, req('u1:x'))).status).toBe(401);
    expect((await check(engine, req('u2:x'))).status).toBe(401);
    expect((await check(engine, req('bob:bob-pw'))).status).toBe(200); // the attacker's own account
    expect((await check(engine, req('u3:x'))).status).toBe(401);
    expect((await check(engine, req('u4:x'))).status).toBe(429);
    expect((await check(engine, req('bob:bob-pw'))).status).toBe(429);
    expect(state.calls).toBe(4);
    // Another address is not concerned; the IPv4-mapped form is the same address.
    expect((await check(engine, req('alice:alice-pw', '198.51.100.7'))).status).toBe(200);
    expect((await check(engine, req('alice:alice-pw', '::ffff:192.0.2.1'))).status).toBe(429);
  });

  it('a success forgets that user’s own failures', async () => {
    const { module } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 3\nAuthTsRegulationMode user', [module], { now: () => 0 });
    await check(engine, req('alice:bad'));
    await check(engine, req('alice:bad'));
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 10)); // the forget is not awaited by the request
    await check(engine, req('alice:bad'));
    await check(engine, req('alice:bad'));
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(200);
  });

  it('counts user names in a normalized form: Alice and alice share one counter', async () => {
    const { module } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 2\nAuthTsRegulationMode user', [module], { now: () => 0 });
    await check(engine, req('Alice:bad'));
    await check(engine, req('ALICE:bad'));
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(429);
  });

  it('section settings override the server ones; Off in a section disables it there', async () => {
    const { module } = countingModule(USERS);
    const engine = await engineWith('AuthTsRegulation On\nAuthTsRegulationMaxRetries 1', [module], { now: () => 0 }, '  AuthTsRegulation Off');
    for (let i = 0; i < 3; i++) expect((await check(engine, req('alice:bad'))).status).toBe(401);
  });

  it('keys never contain the user name and are keyed', () => {
    const a = Buffer.alloc(32, 1);
    const b = Buffer.alloc(32, 2);
    expect(regulationUserKey(a, 'alice')).not.toContain('alice');
    expect(regulationUserKey(a, 'alice')).not.toBe(regulationUserKey(b, 'alice'));
    expect(regulationAddressKey(a, '2001:db8::1')).toBe(regulationAddressKey(a, '2001:db8::ffff:2'));
    expect(regulationAddressKey(a, '2001:db8::1')).not.toBe(regulationAddressKey(a, '2001:db8:0:1::1'));
  });

  it('refuses bad arguments with file:line', async () => {
    const errors = async (text: string) => {
      try {
        await loadConfig({ text, textName: 't.conf', modules: builtinModules() });
        return [];
      } catch (err) {
        return (err as ConfigErrors).errors.map((e) => `${e.line}:${e.code}:${e.directive}`);
      }
    };
    expect(await errors('AuthTsRegulationMaxRetries 0\nAuthTsRegulationBanTime x\nAuthTsRegulationMode user user\nAuthTsRegulationStore shmcb\nAuthTsRegulation maybe')).toEqual([
      '1:CONFIG_BAD_ARGUMENT:AuthTsRegulationMaxRetries',
      '2:CONFIG_BAD_ARGUMENT:AuthTsRegulationBanTime',
      '3:CONFIG_BAD_ARGUMENT:AuthTsRegulationMode',
      '4:CONFIG_BAD_ARGUMENT:AuthTsRegulationStore',
      '5:CONFIG_BAD_ARGUMENT:AuthTsRegulation',
    ]);
    expect(await errors('\nAuthTsRegulationStore redis:127.0.0.1:6379')).toEqual(['2:CONFIG_CACHE_SECRET:AuthTsRegulationStore']);
    expect(await errors(`AuthTsRegulationStore redis:127.0.0.1:6379\nAuthTsRegulationSecret file:${secretPath()}`)).toEqual([]);
  });
});

describe('regulation with Redis', () => {
  const head = (store: string) => `AuthTsRegulation On
AuthTsRegulationMaxRetries 3
AuthTsRegulationMode user ip
AuthTsRegulationStore ${store}
AuthTsRegulationSecret file:${secretPath()}`;

  it('two engines share counters and bans; the provider is not asked while banned', async () => {
    const prefix = newPrefix();
    const one = countingModule(USERS);
    const two = countingModule(USERS);
    const a = await engineWith(head(REDIS_URL.replace('redis://', 'redis:')), [one.module], { redisPrefix: prefix });
    const b = await engineWith(head(REDIS_URL.replace('redis://', 'redis:')), [two.module], { redisPrefix: prefix });
    // The store connects on first use: one success each (bob, elsewhere), then time to connect.
    expect((await check(a, req('bob:bob-pw', '203.0.113.200'))).status).toBe(200);
    expect((await check(b, req('bob:bob-pw', '203.0.113.200'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await check(a, req('alice:bad'))).status).toBe(401);
    expect((await check(b, req('nobody:bad', '198.51.100.1'))).status).toBe(401);
    expect((await check(b, req('alice:bad', '198.51.100.2'))).status).toBe(401);
    expect((await check(a, req('alice:bad', '198.51.100.3'))).status).toBe(401); // third failure for alice
    const banned = await check(b, req('alice:alice-pw', '203.0.113.9'));
    expect(banned.status).toBe(429);
    expect(Number(banned.headers.get('Retry-After'))).toBeGreaterThan(590);
    expect(one.state.calls + two.state.calls).toBe(6);
    const keys = await admin.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain('alice');
      expect(key).not.toContain('198.51');
      expect(await admin.get(key)).not.toContain('alice-pw');
    }
  });

  it('fails open when Redis cannot answer: the provider decides', async () => {
    const { module, state } = countingModule(USERS);
    const engine = await engineWith(head('redis:127.0.0.1:1'), [module], { redisPrefix: newPrefix(), redisTimeoutMs: 100 });
    for (let i = 0; i < 5; i++) expect((await check(engine, req('alice:bad'))).status).toBe(401);
    expect((await check(engine, req('alice:alice-pw'))).status).toBe(200);
    expect(state.calls).toBe(6);
  });
});
