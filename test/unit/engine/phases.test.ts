import { describe, expect, it } from 'vitest';
import type { Module } from '../../../src/module.js';
import { check, engineFor } from '../../helpers/engine.js';
import { memoryModule } from '../../helpers/memory-provider.js';

const users = memoryModule({
  users: { alice: 'a-pw', bob: 'b-pw', carol: 'c-pw' },
  groups: { admins: ['alice'], staff: ['bob', 'carol'] },
  broken: ['broken'],
});

const basic = (body: string) => `<Location /p>
  AuthType Basic
  AuthName "Realm"
  AuthBasicProvider memory
${body}
</Location>`;

describe('phases: access → authn → authz', () => {
  it('asks for credentials with the challenge, then grants', async () => {
    const engine = await engineFor(basic('Require valid-user'), [users]);
    const anon = await check(engine, { path: '/p/x' });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('WWW-Authenticate')).toBe('Basic realm="Realm"');
    const ok = await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(ok).toMatchObject({ allowed: true, status: 200, user: 'alice', authType: 'Basic' });
  });

  it('does not authenticate at all when the userless pass grants', async () => {
    const engine = await engineFor(basic('Require all granted'), [users]);
    const verdict = await check(engine, { path: '/p/x', basic: 'alice:wrong' });
    expect(verdict).toMatchObject({ status: 200, user: undefined });
  });

  it('gives 500 when a provider cannot answer, never a grant', async () => {
    const engine = await engineFor(basic('Require valid-user'), [users]);
    const verdict = await check(engine, { path: '/p/x', basic: 'broken:x' });
    expect(verdict.status).toBe(500);
    expect(verdict.headers.has('WWW-Authenticate')).toBe(false);
  });

  it('maps a provider error under AuthBasicAuthoritative Off to 500 via authn_core', async () => {
    const engine = await engineFor(basic('AuthBasicAuthoritative Off\nRequire valid-user'), [users]);
    expect((await check(engine, { path: '/p/x', basic: 'nobody:x' })).status).toBe(500);
    expect((await check(engine, { path: '/p/x', basic: 'alice:no' })).status).toBe(401);
  });

  it('AuthBasicUseDigestAlgorithm MD5 with a provider that has no realm hashes is 500 (httpd AH02493)', async () => {
    const engine = await engineFor(basic('AuthBasicUseDigestAlgorithm md5\nRequire valid-user'), [users]);
    const verdict = await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(verdict.status).toBe(500);
    expect(verdict.allowed).toBe(false);
  });

  it('AuthBasicUseDigestAlgorithm MD5 with a user file that is missing is 500, never a grant', async () => {
    const engine = await engineFor(`<Location /p>
  AuthType Basic
  AuthName "Realm"
  AuthUserFile /nonexistent/authts-test/users.htdigest
  AuthBasicUseDigestAlgorithm MD5
  Require valid-user
</Location>`);
    const verdict = await check(engine, { path: '/p/x', basic: 'alice:a-pw' });
    expect(verdict.status).toBe(500);
    expect(verdict.allowed).toBe(false);
  });

  it('AuthBasicUseDigestAlgorithm takes MD5 or Off, in any case', async () => {
    await expect(engineFor(basic('AuthBasicUseDigestAlgorithm SHA-256\nRequire valid-user'), [users])).rejects.toThrow(
      'Invalid algorithm in AuthBasicUseDigestAlgorithm: SHA-256',
    );
    const off = await engineFor(basic('AuthBasicUseDigestAlgorithm OFF\nRequire valid-user'), [users]);
    expect((await check(off, { path: '/p/x', basic: 'alice:a-pw' })).status).toBe(200);
  });

  it('refuses malformed Basic credentials with 400 and never calls a provider', async () => {
    const engine = await engineFor(basic('Require valid-user'), [users]);
    const cases = ['Basic !!!!', 'Basic YWxpY2U=' /* "alice", no colon */, `Basic ${Buffer.from('al\0ice:a-pw').toString('base64')}`, 'Basic a'];
    for (const header of cases) {
      const verdict = await check(engine, { path: '/p/x', headers: { authorization: header } });
      expect({ header, status: verdict.status }).toEqual({ header, status: 400 });
      expect(verdict.user).toBeUndefined();
    }
  });

  it('refuses two Authorization headers with 400', async () => {
    const engine = await engineFor(basic('Require valid-user'), [users]);
    const good = `Basic ${Buffer.from('alice:a-pw').toString('base64')}`;
    const verdict = await check(engine, { path: '/p/x', headers: { authorization: [good, good] } });
    expect(verdict.status).toBe(400);
  });

  it('answers a different scheme with 401 and the Basic challenge', async () => {
    const engine = await engineFor(basic('Require valid-user'), [users]);
    const verdict = await check(engine, { path: '/p/x', headers: { authorization: 'Bearer abc' } });
    expect(verdict.status).toBe(401);
    expect(verdict.headers.get('WWW-Authenticate')).toBe('Basic realm="Realm"');
  });

  it('escapes quotes in the realm', async () => {
    const engine = await engineFor('<Location /p>\nAuthType Basic\nAuthName "say \\"hi\\""\nAuthBasicProvider memory\nRequire valid-user\n</Location>', [users]);
    const verdict = await check(engine, { path: '/p' });
    expect(verdict.headers.get('WWW-Authenticate')).toBe('Basic realm="say \\"hi\\""');
  });

  it('Satisfy Any: an access pass that allows skips authentication', async () => {
    const engine = await engineFor(basic('Require valid-user\nOrder Deny,Allow\nDeny from all\nAllow from 192.0.2.0/24\nSatisfy Any'), [users]);
    expect((await check(engine, { path: '/p/x' })).status).toBe(200);
    expect((await check(engine, { path: '/p/x', remoteAddress: '198.51.100.7' })).status).toBe(401);
    expect((await check(engine, { path: '/p/x', remoteAddress: '198.51.100.7', basic: 'bob:b-pw' })).status).toBe(200);
  });

  it('Satisfy All (default): a host denial is final', async () => {
    const engine = await engineFor(basic('Require valid-user\nOrder Deny,Allow\nDeny from 192.0.2.1'), [users]);
    expect((await check(engine, { path: '/p/x', basic: 'bob:b-pw' })).status).toBe(403);
    expect((await check(engine, { path: '/p/x', basic: 'bob:b-pw', remoteAddress: '192.0.2.2' })).status).toBe(200);
  });
});

describe('phase handlers that misbehave', () => {
  const handlerModule = (result: () => unknown): Module => ({
    name: 'test_handler',
    hooks: [{ phase: 'access', order: 10, handler: () => result() as never }],
  });

  it('a handler that throws gives 500', async () => {
    const engine = await engineFor('<Location />\nRequire all granted\n</Location>', [
      handlerModule(() => {
        throw new Error('boom');
      }),
    ]);
    expect((await check(engine)).status).toBe(500);
  });

  it('a handler answering 200 or nonsense cannot grant', async () => {
    for (const value of [200, 204, 'yes', undefined, 99, 1000, Number.NaN]) {
      const engine = await engineFor('<Location />\nRequire all granted\n</Location>', [handlerModule(() => value)]);
      expect({ value, status: (await check(engine)).status }).toEqual({ value, status: 500 });
    }
  });

  it('a handler may end the request with its own status', async () => {
    const engine = await engineFor('<Location />\nRequire all granted\n</Location>', [handlerModule(() => 429)]);
    expect((await check(engine)).status).toBe(429);
  });
});

describe('Require trees (mod_authz_core evaluation)', () => {
  const table: { name: string; body: string; request: { basic?: string; method?: string; remoteAddress?: string }; status: number }[] = [
    { name: 'implicit Any: ip or valid-user, no creds', body: 'Require ip 10.0.0.0/8\nRequire valid-user', request: {}, status: 401 },
    { name: 'All: ip denied short-circuits to 403', body: '<RequireAll>\nRequire ip 10.0.0.0/8\nRequire valid-user\n</RequireAll>', request: {}, status: 403 },
    { name: 'All: denied-no-user wins over granted', body: '<RequireAll>\nRequire ip 192.0.2.0/24\nRequire valid-user\n</RequireAll>', request: {}, status: 401 },
    { name: 'All with not user: negated grant denies', body: '<RequireAll>\nRequire valid-user\nRequire not user bob\n</RequireAll>', request: { basic: 'bob:b-pw' }, status: 401 },
    { name: 'All with not user: others pass', body: '<RequireAll>\nRequire valid-user\nRequire not user bob\n</RequireAll>', request: { basic: 'carol:c-pw' }, status: 200 },
    { name: 'None inside All', body: '<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire memory-group staff\n</RequireNone>\n</RequireAll>', request: { basic: 'carol:c-pw' }, status: 401 },
    { name: 'None inside All, not in group', body: '<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire memory-group staff\n</RequireNone>\n</RequireAll>', request: { basic: 'alice:a-pw' }, status: 200 },
    { name: 'Limit: other methods pass under AND', body: '<Limit POST>\nRequire valid-user\n</Limit>', request: {}, status: 200 },
    { name: 'Limit: the limited method needs a user', body: '<Limit POST>\nRequire valid-user\n</Limit>', request: { method: 'POST' }, status: 401 },
    { name: 'Limit GET covers HEAD', body: '<Limit GET>\nRequire all denied\n</Limit>\nRequire all granted', request: { method: 'HEAD' }, status: 200 },
    { name: 'Require method', body: 'Require method GET POST', request: { method: 'PUT' }, status: 403 },
  ];
  for (const row of table) {
    it(row.name, async () => {
      const engine = await engineFor(basic(row.body), [users]);
      const verdict = await check(engine, { path: '/p/x', ...row.request });
      expect(verdict.status).toBe(row.status);
    });
  }
});

describe('merging across sections', () => {
  const outer = basic('Require memory-group admins');
  const inner = (body: string) => `${outer}\n<Location /p/sub>\n${body}\n</Location>`;

  it('AuthMerging Off (default) replaces', async () => {
    const engine = await engineFor(inner('Require user bob'), [users]);
    expect((await check(engine, { path: '/p/sub/x', basic: 'alice:a-pw' })).status).toBe(401);
    expect((await check(engine, { path: '/p/sub/x', basic: 'bob:b-pw' })).status).toBe(200);
  });

  it('AuthMerging And requires both', async () => {
    const engine = await engineFor(inner('AuthMerging And\nRequire user alice'), [users]);
    expect((await check(engine, { path: '/p/sub/x', basic: 'alice:a-pw' })).status).toBe(200);
    const bobEngine = await engineFor(inner('AuthMerging And\nRequire user bob'), [users]);
    expect((await check(bobEngine, { path: '/p/sub/x', basic: 'bob:b-pw' })).status).toBe(401);
  });

  it('AuthMerging Or accepts either', async () => {
    const engine = await engineFor(inner('AuthMerging Or\nRequire user bob'), [users]);
    expect((await check(engine, { path: '/p/sub/x', basic: 'alice:a-pw' })).status).toBe(200);
    expect((await check(engine, { path: '/p/sub/x', basic: 'bob:b-pw' })).status).toBe(200);
    expect((await check(engine, { path: '/p/sub/x', basic: 'carol:c-pw' })).status).toBe(401);
  });

  it('AuthMerging is not inherited by deeper sections', async () => {
    const engine = await engineFor(
      `${inner('AuthMerging Or\nRequire user bob')}\n<Location /p/sub/deep>\nRequire user carol\n</Location>`,
      [users],
    );
    expect((await check(engine, { path: '/p/sub/deep/x', basic: 'alice:a-pw' })).status).toBe(401);
    expect((await check(engine, { path: '/p/sub/deep/x', basic: 'carol:c-pw' })).status).toBe(200);
  });

  it('a section with only AuthzSendForbiddenOnFailure keeps the outer tree', async () => {
    const engine = await engineFor(inner('AuthzSendForbiddenOnFailure On'), [users]);
    expect((await check(engine, { path: '/p/sub/x', basic: 'bob:b-pw' })).status).toBe(403);
    expect((await check(engine, { path: '/p/sub/x', basic: 'alice:a-pw' })).status).toBe(200);
  });

  it('AuthType None in an inner section switches authentication off', async () => {
    const engine = await engineFor(inner('AuthType None\nRequire all granted'), [users]);
    expect((await check(engine, { path: '/p/sub/x' })).status).toBe(200);
  });

  it('a provider alias runs with its own settings', async () => {
    const second = memoryModule({ users: { dave: 'd-pw', alice: 'other' } }, 'memory2');
    const engine = await engineFor(
      '<AuthnProviderAlias memory2 extra>\n</AuthnProviderAlias>\n<Location /p>\nAuthType Basic\nAuthName R\nAuthBasicProvider memory extra\nRequire valid-user\n</Location>',
      [users, second],
    );
    expect((await check(engine, { path: '/p', basic: 'dave:d-pw' })).status).toBe(200);
    // alice is found (wrong password) by the first provider: the chain stops there.
    expect((await check(engine, { path: '/p', basic: 'alice:other' })).status).toBe(401);
  });
});

describe('Require env', () => {
  const setsEnv: Module = {
    name: 'test_setenv',
    hooks: [
      {
        phase: 'access',
        order: 5,
        handler(req) {
          if (req.headers['x-trusted'] === 'yes') req.env.set('trusted', '1');
          return 'declined';
        },
      },
    ],
  };

  it('grants when a named variable is set by an earlier phase', async () => {
    const engine = await engineFor('<Location />\nRequire env trusted other\n</Location>', [setsEnv]);
    expect((await check(engine, { headers: { 'x-trusted': 'yes' } })).status).toBe(200);
    expect((await check(engine, { headers: { 'x-trusted': 'no' } })).status).toBe(403);
  });
});
