/**
 * mod_authnz_ldap semantics against a real OpenLDAP started here (test/services/slapd.ts):
 * search-then-bind, TLS modes, attacks, pooling without identity leaks, restarts, authz.
 * slapd logs at `stats` level, so the tests can count connections and binds on the server side.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuth, type Auth } from '../../src/api.js';
import { ConfigErrors } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { ldapProvider } from '../../src/providers/ldap/index.js';
import { DEFAULT_CONNECTION_SETTINGS, LdapConnections, ldapResultCode } from '../../src/providers/ldap/connections.js';
import { parseLdapUrl } from '../../src/providers/ldap/url.js';
import { addAliasesAndReferrals, ALIASES_DN, BASE_DN, BIND_DN, BIND_PASSWORD, JDOE_DN, PEOPLE_DN, REFERRED_DN, startSlapd, type SlapdInstance } from '../services/slapd.js';

let slapd: SlapdInstance;
let tmp: string;
const auths: Auth[] = [];

beforeAll(async () => {
  slapd = await startSlapd({ logLevel: 'stats' });
  tmp = await mkdtemp(join(tmpdir(), 'authts-ldap-test-'));
});

afterAll(async () => {
  await Promise.all(auths.map((a) => a.close()));
  await slapd?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

interface Opts {
  readonly url?: string;
  readonly mode?: string;
  readonly server?: string;
  readonly section?: string;
  readonly require?: string;
  readonly providers?: string;
  readonly bind?: boolean;
}

/** A config with one LDAP-protected <Location /p>. */
function config(o: Opts = {}): string {
  const url = o.url ?? `${slapd.url}/${PEOPLE_DN}?uid,mail,cn?sub?(objectClass=inetOrgPerson)`;
  return [
    `LDAPTrustedGlobalCert CA_BASE64 "${slapd.caFile}"`,
    o.server ?? '',
    '<Location /p>',
    '  AuthType Basic',
    '  AuthName "LDAP area"',
    `  AuthBasicProvider ${o.providers ?? 'ldap'}`,
    `  AuthLDAPURL "${url}" ${o.mode ?? 'STARTTLS'}`,
    ...(o.bind === false ? [] : [`  AuthLDAPBindDN "${BIND_DN}"`, `  AuthLDAPBindPassword "${BIND_PASSWORD}"`]),
    o.section ?? '',
    `  Require ${o.require ?? 'valid-user'}`,
    '</Location>',
    '',
  ].join('\n');
}

/** What the configurations of this file logged at error level (shown when an assertion fails). */
const errors: string[] = [];
const logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (obj: unknown, msg?: string) => {
    const err = (obj as { err?: Error })?.err;
    errors.push(`${msg ?? ''} ${err?.message ?? JSON.stringify(obj)}`);
  },
  child: () => logger,
} as unknown as Logger;

async function load(text: string): Promise<Auth> {
  const auth = await createAuth({ config: { text, name: 'ldap-test.conf' }, logger });
  auths.push(auth);
  return auth;
}

function ask(auth: Auth, user?: string, password?: string, path = '/p/x') {
  return auth.check({
    method: 'GET',
    url: path,
    headers: user === undefined ? {} : { authorization: basic(user, password ?? '') },
    remoteAddress: '127.0.0.1',
  });
}

/** slapd stats lines after `from` (a length of the log). */
async function logSince(from: number): Promise<string> {
  return (await slapd.log()).slice(from);
}

describe('authentication (search-then-bind)', () => {
  let auth: Auth;
  beforeAll(async () => {
    auth = await load(config());
  });

  it('grants alice and sets AUTHENTICATE_<ATTR> from the URL attributes', async () => {
    const v = await ask(auth, 'alice', 'alice-pw');
    expect(v.status).toBe(200);
    expect(v.user).toBe('alice');
    expect(Object.fromEntries(v.env)).toMatchObject({
      AUTHENTICATE_UID: 'alice',
      AUTHENTICATE_MAIL: 'alice@example.org',
      AUTHENTICATE_CN: 'Alice Anderson',
    });
  });

  it('answers 401 with the challenge for a wrong password, an unknown user, no credentials', async () => {
    for (const [u, p] of [['alice', 'wrong'], ['nobody', 'alice-pw'], [undefined, undefined]] as const) {
      const v = await ask(auth, u, p);
      expect(v.status).toBe(401);
      expect(v.headers.get('WWW-Authenticate')).toBe('Basic realm="LDAP area"');
    }
  });

  it('refuses an empty password before asking the server (the anonymous-bind trap)', async () => {
    const from = (await slapd.log()).length;
    const v = await ask(auth, 'alice', '');
    expect(v.status).toBe(401);
    // This slapd accepts DN + empty password as an anonymous bind; authts must not send it.
    expect(await logSince(from)).not.toMatch(/BIND dn="uid=alice/);
  });

  it('finds users with spaces, commas and plus signs in the DN, and UTF-8 names and passwords', async () => {
    for (const [u, p] of [['john smith', 'john-pw'], ['jdoe', 'jdoe-pw'], ['jürgen', 'grüße-123'], ['star', 'star-pw']]) {
      const v = await ask(auth, u!, p!);
      expect({ u, status: v.status }).toEqual({ u, status: 200 });
    }
    expect((await ask(auth, 'jürgen', 'grusse-123')).status).toBe(401);
  });

  it('refuses locked accounts and accounts without a password (49 = denied)', async () => {
    expect((await ask(auth, 'locked', 'locked-pw')).status).toBe(401);
    expect((await ask(auth, 'nopass', 'x')).status).toBe(401);
  });

  it('escapes filter metacharacters in user names (RFC 4515): *, )(, \\00, \\', async () => {
    for (const user of ['*', 'al*', '*)(uid=*', 'alice)(uid=*', 'alice\\00', '\\2a', 'alice\\']) {
      const v = await ask(auth, user, 'alice-pw');
      expect({ user, status: v.status }).toEqual({ user, status: 401 });
    }
    // A NUL byte itself never reaches a provider: Basic decoding refuses control characters.
    expect((await ask(auth, 'alice\u0000', 'alice-pw')).status).toBe(400);
  });

  it('keeps the typed name as REMOTE_USER (LDAP matching ignores case), as httpd', async () => {
    const v = await ask(auth, 'ALICE', 'alice-pw');
    expect(v.status).toBe(200);
    expect(v.user).toBe('ALICE');
  });

  it('refuses a name two entries match (not unique), and finds it under a narrower base', async () => {
    const wide = await load(config({ url: `${slapd.url}/dc=example,dc=org?uid` }));
    expect((await ask(wide, 'dup', 'dup-pw-1')).status).toBe(401);
    expect((await ask(wide, 'dup', 'dup-pw-2')).status).toBe(401);
    const narrow = await load(config({ url: `${slapd.url}/${PEOPLE_DN}?uid` }));
    expect((await ask(narrow, 'dup', 'dup-pw-1')).status).toBe(200);
  });

  it('AuthLDAPRemoteUserAttribute and AuthLDAPRemoteUserIsDN set the user', async () => {
    const byMail = await load(config({ section: '  AuthLDAPRemoteUserAttribute mail' }));
    expect((await ask(byMail, 'ALICE', 'alice-pw')).user).toBe('alice@example.org');
    const byDn = await load(config({ section: '  AuthLDAPRemoteUserIsDN On' }));
    expect((await ask(byDn, 'jdoe', 'jdoe-pw')).user?.toLowerCase()).toBe(`cn=doe\\2c john \\2b jr.,${PEOPLE_DN}`.toLowerCase());
  });
});

describe('TLS', () => {
  it('works over ldaps:// (SSL), StartTLS and plain ldap://', async () => {
    for (const [url, mode] of [
      [`${slapd.ldapsUrl}/${PEOPLE_DN}?uid`, ''],
      [`${slapd.url}/${PEOPLE_DN}?uid`, 'SSL'.replace('SSL', 'TLS')],
      [`${slapd.url}/${PEOPLE_DN}?uid`, 'STARTTLS'],
      [`${slapd.url}/${PEOPLE_DN}?uid`, 'NONE'],
    ] as const) {
      const auth = await load(config({ url, mode }));
      expect({ url, mode, status: (await ask(auth, 'bob', 'bob-pw')).status }).toEqual({ url, mode, status: 200 });
    }
  });

  it('refuses a server whose certificate is not signed by the trusted CA, and never falls back to plain text', async () => {
    for (const [url, mode] of [
      [`${slapd.url}/${PEOPLE_DN}?uid`, 'STARTTLS'],
      [`${slapd.ldapsUrl}/${PEOPLE_DN}?uid`, ''],
    ] as const) {
      const text = config({ url, mode }).replace(slapd.caFile, slapd.otherCaFile);
      const auth = await load(text);
      const from = (await slapd.log()).length;
      const v = await ask(auth, 'bob', 'bob-pw');
      expect(v.status).toBe(500);
      expect(await logSince(from)).not.toMatch(/BIND dn=/);
    }
  });

  it('LDAPVerifyServerCert Off accepts the certificate (with a load warning)', async () => {
    const auth = await load(config({ server: 'LDAPVerifyServerCert Off' }).replace(slapd.caFile, slapd.otherCaFile));
    expect(auth.config.warnings.map((w) => w.message).join('\n')).toMatch(/LDAPVerifyServerCert Off/);
    expect((await ask(auth, 'bob', 'bob-pw')).status).toBe(200);
  });
});

describe('connections', () => {
  it('pools service connections: 40 requests open 2 connections, and no service connection is ever bound as a user', async () => {
    const auth = await load(config());
    expect((await ask(auth, 'carol', 'carol-pw')).status).toBe(200);
    const from = (await slapd.log()).length;
    for (let i = 0; i < 20; i++) {
      expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
      expect((await ask(auth, 'bob', i % 2 ? 'bob-pw' : 'wrong')).status).toBe(i % 2 ? 200 : 401);
    }
    const log = await logSince(from);
    expect(log.match(/ACCEPT from/g) ?? []).toHaveLength(0);
    // Every bind on a connection, in order: the service account binds once when its connection
    // opens, so after the warm-up request no BIND as the service account happens at all.
    const binds = [...log.matchAll(/conn=(\d+) op=\d+ BIND dn="([^"]*)"/g)].map((m) => ({ conn: m[1]!, dn: m[2]! }));
    expect(binds.filter((b) => b.dn === BIND_DN)).toHaveLength(0);
    const searchConns = new Set([...log.matchAll(/conn=(\d+) op=\d+ SRCH /g)].map((m) => m[1]!));
    const userConns = new Set(binds.map((b) => b.conn));
    expect(searchConns.size).toBe(1);
    expect(userConns.size).toBe(1);
    for (const conn of searchConns) expect(userConns.has(conn)).toBe(false);
  });

  it('concurrent requests share one service connection, never one a user bound; AuthTsLDAPPoolSize bounds the user binds', async () => {
    const auth = await load(config({ server: 'AuthTsLDAPPoolSize 3' }));
    expect((await ask(auth, 'carol', 'carol-pw')).status).toBe(200);
    const from = (await slapd.log()).length;
    const cases: [string, string, number][] = [];
    for (let i = 0; i < 8; i++) cases.push(['alice', 'alice-pw', 200], ['bob', 'alice-pw', 401], ['dave', 'dave-pw', 200], ['*', 'alice-pw', 401]);
    const statuses = await Promise.all(cases.map(([user, password]) => ask(auth, user, password).then((v) => v.status)));
    expect(statuses).toEqual(cases.map((c) => c[2]));
    const log = await logSince(from);
    const binds = [...log.matchAll(/conn=(\d+) op=\d+ BIND dn="([^"]*)"/g)].map((m) => ({ conn: m[1]!, dn: m[2]! }));
    expect(binds.filter((b) => b.dn === BIND_DN)).toHaveLength(0);
    const searchConns = new Set([...log.matchAll(/conn=(\d+) op=\d+ SRCH /g)].map((m) => m[1]!));
    const userConns = new Set(binds.map((b) => b.conn));
    expect(searchConns.size).toBe(1);
    expect(userConns.size).toBeGreaterThan(1);
    expect(userConns.size).toBeLessThanOrEqual(3);
    for (const conn of searchConns) expect(userConns.has(conn)).toBe(false);
    // Every user bind names the user of its own request: alice's password only ever went with alice's DN.
    const requested = [...log.matchAll(/ BIND dn="([^"]*)" method=128/g)].map((m) => m[1]!.split(',')[0]);
    expect(requested.filter((dn) => dn === 'uid=alice')).toHaveLength(8);
    expect(requested.filter((dn) => dn === 'uid=bob')).toHaveLength(8);
    const bad = await createAuth({ config: { text: config({ server: 'AuthTsLDAPPoolSize 0' }), name: 'pool.conf' } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigErrors);
    expect((bad as ConfigErrors).errors.map((e) => e.code)).toEqual(['CONFIG_BAD_ARGUMENT']);
  });

  it('LdapConnections: service operations run side by side on one connection; user binds each hold one, at most maxPerKey', async () => {
    const url = parseLdapUrl(`${slapd.url}/${PEOPLE_DN}?uid`, 'STARTTLS');
    const pool = new LdapConnections({ ...DEFAULT_CONNECTION_SETTINGS, ca: [await readFile(slapd.caFile)], maxPerKey: 2 });
    const bind = { dn: BIND_DN, password: BIND_PASSWORD };
    try {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let searched = 0;
      const searches = ['alice', 'bob', 'carol', 'dave', 'star'].map((uid) =>
        pool.asService(url, bind, async (client) => {
          const { searchEntries } = await client.search(PEOPLE_DN, { scope: 'sub', filter: `(uid=${uid})`, attributes: ['uid'] });
          searched++;
          await gate;
          return searchEntries.map((e) => e['uid']);
        }),
      );
      await vi.waitFor(() => expect(searched).toBe(5));
      expect(pool.opened).toBe(1);
      expect(pool.stats(url, bind)).toEqual({ busy: 1, idle: 0 });
      open();
      expect(await Promise.all(searches)).toEqual([['alice'], ['bob'], ['carol'], ['dave'], ['star']]);
      expect(pool.stats(url, bind)).toEqual({ busy: 0, idle: 1 });

      let bound = 0;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const users = [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['carol', 'wrong'], ['dave', 'dave-pw']].map(([uid, pw]) =>
        pool.asUser(url, `uid=${uid},${PEOPLE_DN}`, pw!, async (client) => {
          bound++;
          await held;
          // "Who am I?" (RFC 4532): the identity the server holds this connection for.
          return (await client.exop('1.3.6.1.4.1.4203.1.11.3')).value ?? '';
        }).catch((err: unknown) => ldapResultCode(err)),
      );
      await vi.waitFor(() => expect(bound).toBe(2));
      expect(pool.stats(url, 'user')).toEqual({ busy: 2, idle: 0 });
      release();
      expect(await Promise.all(users)).toEqual([
        `dn:uid=alice,${PEOPLE_DN}`,
        `dn:uid=bob,${PEOPLE_DN}`,
        49,
        `dn:uid=dave,${PEOPLE_DN}`,
      ]);
      expect(pool.opened).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('LDAPConnectionPoolTTL: 0 opens new connections per request; n closes them after n idle seconds', async () => {
    const never = await load(config({ server: 'LDAPConnectionPoolTTL 0' }));
    let from = (await slapd.log()).length;
    for (let i = 0; i < 3; i++) expect((await ask(never, 'alice', 'alice-pw')).status).toBe(200);
    expect((await logSince(from)).match(/ACCEPT from/g) ?? []).toHaveLength(6);
    const ttl = await load(config({ server: 'LDAPConnectionPoolTTL 1' }));
    expect((await ask(ttl, 'alice', 'alice-pw')).status).toBe(200);
    from = (await slapd.log()).length;
    expect((await ask(ttl, 'alice', 'alice-pw')).status).toBe(200);
    expect((await logSince(from)).match(/ACCEPT from/g) ?? []).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 2_600));
    from = (await slapd.log()).length;
    expect((await ask(ttl, 'alice', 'alice-pw')).status).toBe(200);
    expect((await logSince(from)).match(/ACCEPT from/g) ?? []).toHaveLength(2);
  });

  it('tries the servers of AuthLDAPURL in order', async () => {
    const dead = await (await import('../services/net.js')).freePort();
    const auth = await load(config({ url: `ldap://127.0.0.1:${dead} 127.0.0.1:${slapd.port}/${PEOPLE_DN}?uid` }));
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
  });

  it('answers 500 while slapd is down and recovers on its own when it is back (restart mid-test)', async () => {
    const auth = await load(config({ server: 'LDAPRetries 1\nLDAPConnectionTimeout 2' }));
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
    await slapd.stopServer();
    try {
      expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(500);
      expect((await ask(auth, 'alice', 'wrong')).status).toBe(500);
    } finally {
      await slapd.startServer();
    }
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
    expect((await ask(auth, 'alice', 'wrong')).status).toBe(401);
    expect((await ask(auth, 'bob', 'bob-pw')).status).toBe(200);
  });

  it('bounds the wait on a server that accepts but never answers (LDAPTimeout), then recovers', async () => {
    const auth = await load(config({ server: 'LDAPRetries 0\nLDAPTimeout 2' }));
    errors.length = 0;
    expect((await ask(auth, 'alice', 'alice-pw')).status, errors.join('\n')).toBe(200);
    process.kill(slapd.pid, 'SIGSTOP');
    const t0 = Date.now();
    try {
      expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(500);
    } finally {
      process.kill(slapd.pid, 'SIGCONT');
    }
    expect(Date.now() - t0).toBeLessThan(7_000);
    errors.length = 0;
    expect((await ask(auth, 'alice', 'alice-pw')).status, errors.join('\n')).toBe(200);
  });

  it('a wrong service password is a 500, not a 401 for everyone', async () => {
    const auth = await load(config().replace(`"${BIND_PASSWORD}"`, '"not-it"'));
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(500);
  });
});

describe('AuthLDAP* options', () => {
  it('AuthLDAPBindPassword exec: runs the program at load', async () => {
    const script = join(tmp, 'pw.sh');
    await writeFile(script, `#!/bin/sh\necho ${BIND_PASSWORD}\n`);
    await chmod(script, 0o755);
    const auth = await load(config().replace(`"${BIND_PASSWORD}"`, `"exec:${script}"`));
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
  });

  it('AuthLDAPInitialBindAsUser + Pattern: searches bound as the user; captures are DN-escaped', async () => {
    const auth = await load(
      config({
        bind: false,
        section: `  AuthLDAPInitialBindAsUser On\n  AuthLDAPInitialBindPattern "^(.+)$" "uid=$1,${PEOPLE_DN}"`,
      }),
    );
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
    expect((await ask(auth, 'alice', 'wrong')).status).toBe(401);
    expect((await ask(auth, 'john smith', 'john-pw')).status).toBe(200);
    expect((await ask(auth, 'alice,ou=x', 'alice-pw')).status).toBe(401);
  });

  it('AuthLDAPBindAuthoritative: On stops the provider chain at a wrong password, Off moves on', async () => {
    const users = join(tmp, 'users');
    const { execFileSync } = await import('node:child_process');
    await writeFile(users, execFileSync('htpasswd', ['-nbB', 'alice', 'file-pw'], { encoding: 'utf8' }));
    const chain = (authoritative: string): string =>
      config({ providers: 'ldap file', section: `  AuthUserFile "${users}"\n  AuthLDAPBindAuthoritative ${authoritative}` });
    const on = await load(chain('On'));
    expect((await ask(on, 'alice', 'file-pw')).status).toBe(401);
    expect((await ask(on, 'alice', 'alice-pw')).status).toBe(200);
    const off = await load(chain('Off'));
    expect((await ask(off, 'alice', 'file-pw')).status).toBe(200);
  });

  it('reports bad directives with file:line at load', async () => {
    const bad = [
      'LDAPTrustedGlobalCert CA_BASE64 /nonexistent/ca.pem',
      '<Location /p>',
      '  AuthLDAPURL "http://x/dc=org"',
      '  AuthLDAPURL "ldap://h/dc=org?uid?sideways"',
      '  AuthLDAPURL "ldap://h/dc=org" STARTLS',
      '  AuthLDAPMaxSubGroupDepth -1',
      '  Require ldap-filter (uid=a',
      '  Require ldap-attribute novalue',
      '</Location>',
    ].join('\n');
    const err = await createAuth({ config: { text: bad, name: 'bad.conf' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigErrors);
    const lines = (err as ConfigErrors).errors.map((e) => `${e.line} ${e.code}`);
    expect(lines).toEqual([
      '1 CONFIG_BAD_ARGUMENT',
      '3 CONFIG_BAD_ARGUMENT',
      '4 CONFIG_BAD_ARGUMENT',
      '5 CONFIG_BAD_ARGUMENT',
      '6 CONFIG_BAD_ARGUMENT',
      '7 CONFIG_BAD_REQUIRE',
      '8 CONFIG_BAD_REQUIRE',
    ]);
  });
});

describe('authorization', () => {
  const req = async (require: string, section = ''): Promise<Auth> => load(config({ require, section }));

  it('Require ldap-user: the line and each word compared on the server', async () => {
    const auth = await req('ldap-user alice "john smith"');
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
    expect((await ask(auth, 'john smith', 'john-pw')).status).toBe(200);
    expect((await ask(auth, 'bob', 'bob-pw')).status).toBe(401);
    expect((await ask(auth)).status).toBe(401);
  });

  it('Require ldap-group: direct, nested (staff ⊃ developers), groupOfUniqueNames', async () => {
    const staff = await req('ldap-group cn=staff,ou=groups,dc=example,dc=org');
    expect((await ask(staff, 'carol', 'carol-pw')).status).toBe(200);
    expect((await ask(staff, 'bob', 'bob-pw')).status).toBe(200);
    expect((await ask(staff, 'jdoe', 'jdoe-pw')).status).toBe(200);
    expect((await ask(staff, 'jürgen', 'grüße-123')).status).toBe(200);
    expect((await ask(staff, 'alice', 'alice-pw')).status).toBe(401);
    const auditors = await req('ldap-group cn=auditors,ou=groups,dc=example,dc=org');
    expect((await ask(auditors, 'dave', 'dave-pw')).status).toBe(200);
    expect((await ask(auditors, 'alice', 'alice-pw')).status).toBe(401);
  });

  it('nested groups: cycles end, AuthLDAPMaxSubGroupDepth bounds the walk, 0 turns it off', async () => {
    const cycle = await req('ldap-group cn=cycle-a,ou=groups,dc=example,dc=org');
    expect((await ask(cycle, 'carol', 'carol-pw')).status).toBe(200);
    expect((await ask(cycle, 'dave', 'dave-pw')).status).toBe(401);
    const deep = await req('ldap-group cn=deep-1,ou=groups,dc=example,dc=org');
    expect((await ask(deep, 'dave', 'dave-pw')).status).toBe(200);
    const shallow = await req('ldap-group cn=deep-1,ou=groups,dc=example,dc=org', '  AuthLDAPMaxSubGroupDepth 2');
    expect((await ask(shallow, 'dave', 'dave-pw')).status).toBe(401);
    const three = await req('ldap-group cn=deep-1,ou=groups,dc=example,dc=org', '  AuthLDAPMaxSubGroupDepth 3');
    expect((await ask(three, 'dave', 'dave-pw')).status).toBe(200);
    const off = await req('ldap-group cn=staff,ou=groups,dc=example,dc=org', '  AuthLDAPMaxSubGroupDepth 0');
    expect((await ask(off, 'bob', 'bob-pw')).status).toBe(401);
    expect((await ask(off, 'carol', 'carol-pw')).status).toBe(200);
  });

  it('posixGroup memberUid with AuthLDAPGroupAttribute memberUid + AuthLDAPGroupAttributeIsDN Off', async () => {
    const auth = await req('ldap-group cn=ops,ou=groups,dc=example,dc=org', '  AuthLDAPGroupAttribute memberUid\n  AuthLDAPGroupAttributeIsDN Off');
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(200);
    expect((await ask(auth, 'john smith', 'john-pw')).status).toBe(200);
    expect((await ask(auth, 'carol', 'carol-pw')).status).toBe(401);
  });

  it('Require ldap-dn compares normalized DNs (escapes, case)', async () => {
    const auth = await req(`ldap-dn cn=DOE\\2c John \\2B Jr.,OU=People,dc=example,dc=org`);
    expect((await ask(auth, 'jdoe', 'jdoe-pw')).status).toBe(200);
    expect((await ask(auth, 'bob', 'bob-pw')).status).toBe(401);
    const local = await req(`ldap-dn ${JDOE_DN.toUpperCase()}`, '  AuthLDAPCompareDNOnServer Off');
    expect((await ask(local, 'jdoe', 'jdoe-pw')).status).toBe(200);
    const server = await req(`ldap-dn ${JDOE_DN}`, '  AuthLDAPCompareDNOnServer On');
    expect((await ask(server, 'jdoe', 'jdoe-pw')).status).toBe(200);
    expect((await ask(server, 'bob', 'bob-pw')).status).toBe(401);
    const missing = await req(`ldap-dn cn=nobody,${PEOPLE_DN}`, '  AuthLDAPCompareDNOnServer On');
    expect((await ask(missing, 'bob', 'bob-pw')).status).toBe(401);
  });

  it('Require ldap-attribute and ldap-filter, with AuthLDAPAuthorizePrefix', async () => {
    const attr = await req('ldap-attribute employeeType=contractor departmentNumber="dev"', '  AuthLDAPAuthorizePrefix AUTHZ_');
    const dave = await ask(attr, 'dave', 'dave-pw');
    expect(dave.status).toBe(200);
    expect(dave.env.get('AUTHZ_UID')).toBe('dave');
    expect((await ask(attr, 'bob', 'bob-pw')).status).toBe(200);
    expect((await ask(attr, 'alice', 'alice-pw')).status).toBe(401);
    const filter = await req('ldap-filter &(employeeType=active)(|(departmentNumber=dev)(departmentNumber=sales))');
    expect(filter.config.warnings).toEqual([]);
    expect((await ask(filter, 'carol', 'carol-pw')).status).toBe(200);
    expect((await ask(filter, 'bob', 'bob-pw')).status).toBe(200);
    expect((await ask(filter, 'alice', 'alice-pw')).status).toBe(401);
    expect((await ask(filter, 'dave', 'dave-pw')).status).toBe(401);
  });

  it('users authenticated by another provider are looked up for ldap-* (AUTHORIZE_ vars)', async () => {
    const users = join(tmp, 'users-authz');
    const { execFileSync } = await import('node:child_process');
    await writeFile(users, execFileSync('htpasswd', ['-nbB', 'alice', 'file-pw'], { encoding: 'utf8' }) + execFileSync('htpasswd', ['-nbB', 'ghost', 'g'], { encoding: 'utf8' }));
    const auth = await load(
      config({ providers: 'file', section: `  AuthUserFile "${users}"`, require: 'ldap-group cn=admins,ou=groups,dc=example,dc=org' }),
    );
    const v = await ask(auth, 'alice', 'file-pw');
    expect(v.status).toBe(200);
    expect(v.env.get('AUTHORIZE_MAIL')).toBe('alice@example.org');
    expect((await ask(auth, 'ghost', 'g')).status).toBe(401);
  });

  it('AuthLDAPCompareAsUser: compares run as the user (who may not read the group here)', async () => {
    const group = 'ldap-group cn=admins,ou=groups,dc=example,dc=org';
    expect((await ask(await req(group), 'alice', 'alice-pw')).status).toBe(200);
    expect((await ask(await req(group, '  AuthLDAPCompareAsUser On'), 'alice', 'alice-pw')).status).toBe(401);
    const own = await req('ldap-attribute employeeType=active', '  AuthLDAPCompareAsUser On\n  AuthLDAPSearchAsUser On');
    expect((await ask(own, 'alice', 'alice-pw')).status).toBe(200);
  });

  it('an authz check while the directory is down is denied (httpd), never granted', async () => {
    const auth = await load(config({ providers: 'file', section: `  AuthUserFile "${join(tmp, 'users-authz')}"`, require: 'ldap-user alice', server: 'LDAPRetries 0' }));
    await slapd.stopServer();
    try {
      expect((await ask(auth, 'alice', 'file-pw')).status).toBe(401);
    } finally {
      await slapd.startServer();
    }
    expect((await ask(auth, 'alice', 'file-pw')).status).toBe(200);
  });
});

describe('ldapProvider (standalone, authts/providers/ldap)', () => {
  it('checks passwords like AuthBasicProvider ldap, over the pool', async () => {
    const ldap = await ldapProvider({
      url: `${slapd.url}/${PEOPLE_DN}?uid`,
      tls: 'STARTTLS',
      bindDN: BIND_DN,
      bindPassword: BIND_PASSWORD,
      ca: (await import('node:fs')).readFileSync(slapd.caFile),
    });
    try {
      expect(ldap.name).toBe('ldap');
      expect(await ldap.checkPassword('alice', 'alice-pw')).toBe('granted');
      expect(await ldap.checkPassword('alice', 'nope')).toBe('denied');
      expect(await ldap.checkPassword('alice', '')).toBe('denied');
      expect(await ldap.checkPassword('*', 'alice-pw')).toBe('not-found');
      const r = await ldap.authenticate('jürgen', 'grüße-123');
      expect(r.result).toBe('granted');
      if (r.result === 'granted') expect(r.entry.dn).toBe(`uid=jürgen,${PEOPLE_DN}`);
    } finally {
      await ldap.close();
    }
  });

  it('refuses bad options with TypeError', async () => {
    await expect(ldapProvider({ url: 'http://x' })).rejects.toThrow(TypeError);
    await expect(ldapProvider({ url: 'ldap://h/dc=x', bindDN: 'cn=a' })).rejects.toThrow(/go together/);
    await expect(ldapProvider({ url: 'ldap://h/dc=x', retries: -2 })).rejects.toThrow(/retries/);
    await expect(ldapProvider(42 as never)).rejects.toThrow(TypeError);
  });
});

describe('aliases and referrals (httpd defaults: AuthLDAPDereferenceAliases always, LDAPReferrals On)', () => {
  beforeAll(async () => {
    // ou=aliases: uid=alias-of-alice → alice; ou=referred: a referral to ou=people on this
    // slapd; ou=loop: a referral to itself. Added last: wide searches elsewhere would meet them.
    await addAliasesAndReferrals(slapd, { loop: true });
  });
  const at = (base: string): string => `${slapd.url}/${base}?uid,mail?sub`;

  it('dereferences aliases by default (always), finding the user through an alias entry', async () => {
    const auth = await load(config({ url: at(ALIASES_DN), section: '  AuthLDAPRemoteUserIsDN On' }));
    const v = await ask(auth, 'alice', 'alice-pw');
    expect(v.status).toBe(200);
    expect(v.user).toBe(`uid=alice,${PEOPLE_DN}`);
    expect((await ask(auth, 'alice', 'wrong')).status).toBe(401);
  });

  it('AuthLDAPDereferenceAliases never|finding does not find the user through the alias; searching does', async () => {
    const status = async (word: string): Promise<number> =>
      (await ask(await load(config({ url: at(ALIASES_DN), section: `  AuthLDAPDereferenceAliases ${word}` })), 'alice', 'alice-pw')).status;
    expect({ never: await status('never'), finding: await status('finding'), searching: await status('searching'), always: await status('always') })
      .toEqual({ never: 401, finding: 401, searching: 200, always: 200 });
  });

  it('chases a search reference with the same bind, and the user binds on the server it points to', async () => {
    const auth = await load(config({ url: at(REFERRED_DN), section: '  AuthLDAPRemoteUserIsDN On' }));
    const from = (await slapd.log()).length;
    const v = await ask(auth, 'alice', 'alice-pw');
    expect(v.status).toBe(200);
    expect(v.user).toBe(`uid=alice,${PEOPLE_DN}`);
    expect(Object.fromEntries(v.env)).toMatchObject({ AUTHENTICATE_UID: 'alice', AUTHENTICATE_MAIL: 'alice@example.org' });
    const log = await logSince(from);
    // The chased search ran as the service account (anonymous may not read ou=people here).
    expect(log).toMatch(new RegExp(`SRCH base="${PEOPLE_DN}"`));
    expect((await ask(auth, 'alice', 'wrong')).status).toBe(401);
    expect((await ask(auth, 'nobody', 'x')).status).toBe(401);
    // Require ldap-attribute compares on the entry, where the referral led.
    const authz = await load(config({ url: at(REFERRED_DN), require: 'ldap-attribute employeeType=active' }));
    expect((await ask(authz, 'alice', 'alice-pw')).status).toBe(200);
    expect((await ask(authz, 'dave', 'dave-pw')).status).toBe(401);
  });

  it('LDAPReferrals Off does not chase; default chases anonymously (libldap without httpd rebind)', async () => {
    const off = await load(config({ url: at(REFERRED_DN), section: '  LDAPReferrals Off' }));
    expect((await ask(off, 'alice', 'alice-pw')).status).toBe(401);
    // Anonymous may not read ou=people in this directory: the anonymous chase finds nobody.
    const sdk = await load(config({ url: at(REFERRED_DN), section: '  LDAPReferrals default' }));
    expect((await ask(sdk, 'alice', 'alice-pw')).status).toBe(401);
    const on = await load(config({ url: at(REFERRED_DN), section: '  LDAPReferrals On' }));
    expect((await ask(on, 'alice', 'alice-pw')).status).toBe(200);
  });

  it('never chases in plain text from a TLS connection: an ldap:// referral met over ldaps:// is followed with StartTLS', async () => {
    const auth = await load(config({ url: `${slapd.ldapsUrl}/${REFERRED_DN}?uid?sub`, mode: '' }));
    const from = (await slapd.log()).length;
    expect((await ask(auth, 'bob', 'bob-pw')).status).toBe(200);
    const log = await logSince(from);
    const tls = new Set([...log.matchAll(/conn=(\d+) fd=\d+ TLS established/g)].map((m) => m[1]));
    const chased = [...log.matchAll(/conn=(\d+) op=\d+ (?:SRCH base="ou=people|BIND dn="uid=bob)/g)].map((m) => m[1]);
    expect(chased.length).toBeGreaterThanOrEqual(2);
    for (const conn of chased) expect({ conn, tls: tls.has(conn) }).toEqual({ conn, tls: true });
    expect(log).toMatch(/EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037/);
  });

  it('a referral loop ends at LDAPReferralHopLimit with a 500 (fail closed)', async () => {
    errors.length = 0;
    const from = (await slapd.log()).length;
    const auth = await load(config({ url: at(`ou=loop,${BASE_DN}`), section: '  LDAPReferralHopLimit 3' }));
    expect((await ask(auth, 'alice', 'alice-pw')).status).toBe(500);
    expect(errors.join('\n')).toMatch(/hop limit exceeded \(LDAPReferralHopLimit 3\)/);
    // The first search and three chased ones.
    expect([...(await logSince(from)).matchAll(/SRCH base="ou=loop,/g)]).toHaveLength(4);
    errors.length = 0;
  });

  it('LDAPReferrals and LDAPReferralHopLimit refuse bad values at load (file:line)', async () => {
    const bad = ['<Location /p>', '  LDAPReferrals sometimes', '  LDAPReferralHopLimit 0', '  AuthLDAPDereferenceAliases maybe', '</Location>'].join('\n');
    const err = await createAuth({ config: { text: bad, name: 'bad.conf' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigErrors);
    expect((err as ConfigErrors).errors.map((e) => `${e.line} ${e.code}`)).toEqual(['2 CONFIG_BAD_ARGUMENT', '3 CONFIG_BAD_ARGUMENT', '4 CONFIG_BAD_ARGUMENT']);
  });

  it('ldapProvider: referrals and referralHopLimit options', async () => {
    const ca = (await import('node:fs')).readFileSync(slapd.caFile);
    const base = { url: at(REFERRED_DN), tls: 'STARTTLS', bindDN: BIND_DN, bindPassword: BIND_PASSWORD, ca } as const;
    const on = await ldapProvider(base);
    const off = await ldapProvider({ ...base, referrals: 'off' });
    try {
      expect(await on.checkPassword('carol', 'carol-pw')).toBe('granted');
      expect(await off.checkPassword('carol', 'carol-pw')).toBe('not-found');
    } finally {
      await Promise.all([on.close(), off.close()]);
    }
    await expect(ldapProvider({ ...base, referrals: 'yes' as never })).rejects.toThrow(/referrals/);
    await expect(ldapProvider({ ...base, referralHopLimit: 0 })).rejects.toThrow(/referralHopLimit/);
  });
});
