/**
 * mod_authnz_ldap conformance: the same configuration in a private Apache httpd (Debian's
 * mod_ldap + mod_authnz_ldap, mod_ldap's caches off) and in `authts serve`, both asking the same
 * slapd; for every request both must give the table's status. The expected answers are httpd's.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { startHttpd, type HttpdInstance } from '../services/httpd.js';
import { addAliasesAndReferrals, ALIASES_DN, BIND_DN, BIND_PASSWORD, GROUPS_DN, PEOPLE_DN, REFERRED_DN, startSlapd, type SlapdInstance } from '../services/slapd.js';
import { startAuthtsBeside } from './peers.js';

interface Row {
  readonly path: string;
  readonly auth?: string;
  readonly status: number;
}

const G = (cn: string): string => `cn=${cn},${GROUPS_DN}`;

/** The auth part of the configuration; `ldap` is slapd's `host:port`. */
function authConfig(ldap: string): string {
  const url = (base: string, attrs = 'uid,mail'): string => `"ldap://${ldap}/${base}?${attrs}?sub?(objectClass=inetOrgPerson)" STARTTLS`;
  const loc = (path: string, require: string, extra = '', base = PEOPLE_DN): string => `<Location "${path}">
  AuthType Basic
  AuthName "LDAP"
  AuthBasicProvider ldap
  AuthLDAPURL ${url(base)}
  AuthLDAPBindDN "${BIND_DN}"
  AuthLDAPBindPassword "${BIND_PASSWORD}"
${extra}
  Require ${require}
</Location>
`;
  return [
    'LDAPTrustedGlobalCert CA_BASE64 "${AUTHTS_HTTPD_DIR}/ldap-ca.crt"',
    // mod_ldap's caches off: every request asks the directory, as authts always does.
    'LDAPCacheEntries 0',
    'LDAPOpCacheEntries 0',
    'LDAPRetries 1',
    'LDAPTimeout 5',
    loc('/v', 'valid-user'),
    loc('/wide', 'valid-user', '', 'dc=example,dc=org'),
    loc('/user', 'ldap-user alice "john smith"'),
    loc('/staff', `ldap-group ${G('staff')}`),
    loc('/auditors', `ldap-group ${G('auditors')}`),
    loc('/ops', `ldap-group ${G('ops')}`, '  AuthLDAPGroupAttribute memberUid\n  AuthLDAPGroupAttributeIsDN off'),
    loc('/deep', `ldap-group ${G('deep-1')}`, '  AuthLDAPMaxSubGroupDepth 2'),
    loc('/deep5', `ldap-group ${G('deep-1')}`, '  AuthLDAPMaxSubGroupDepth 5'),
    loc('/cycle', `ldap-group ${G('cycle-a')}`),
    // httpd compares DNs as strings and reads the argument as an ap_expr string (where `\` is
    // an escape), so only a DN without escapes, spelled as the server does, is portable.
    loc('/dn', `ldap-dn uid=john smith,${PEOPLE_DN}`),
    loc('/attr', 'ldap-attribute employeeType=contractor'),
    // Without outer parentheses: httpd adds them (authts accepts both forms).
    loc('/filter', 'ldap-filter departmentNumber=dev'),
    loc('/forbid', 'ldap-user alice', '  AuthzSendForbiddenOnFailure On'),
    // ou=aliases holds an alias of alice; ou=referred a referral to ou=people (addAliasesAndReferrals).
    loc('/alias', 'valid-user', '', ALIASES_DN),
    loc('/alias-never', 'valid-user', '  AuthLDAPDereferenceAliases never', ALIASES_DN),
    loc('/referred', 'valid-user', '', REFERRED_DN),
    // httpd applies LDAPReferrals only to a connection its section creates (uldap_connection_find
    // does not match on it), and would reuse /referred's, which chases; another deref value
    // gives this section a connection of its own there (searching changes nothing for ou=people).
    loc('/referred-off', 'valid-user', '  LDAPReferrals Off\n  AuthLDAPDereferenceAliases searching', REFERRED_DN),
  ].join('\n');
}

const rows: readonly Row[] = [
  { path: '/v/x', status: 401 },
  { path: '/v/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/v/x', auth: 'alice:wrong', status: 401 },
  { path: '/v/x', auth: 'alice:', status: 401 },
  { path: '/v/x', auth: 'nobody:x', status: 401 },
  { path: '/v/x', auth: 'ALICE:alice-pw', status: 404 },
  { path: '/v/x', auth: 'john smith:john-pw', status: 404 },
  { path: '/v/x', auth: 'jdoe:jdoe-pw', status: 404 },
  { path: '/v/x', auth: 'jürgen:grüße-123', status: 404 },
  { path: '/v/x', auth: 'star:star-pw', status: 404 },
  { path: '/v/x', auth: 'locked:locked-pw', status: 401 },
  { path: '/v/x', auth: 'nopass:x', status: 401 },
  { path: '/v/x', auth: '*:alice-pw', status: 401 },
  { path: '/v/x', auth: 'al*:alice-pw', status: 401 },
  { path: '/v/x', auth: '*)(uid=*:alice-pw', status: 401 },
  { path: '/v/x', auth: 'alice)(uid=*:alice-pw', status: 401 },
  { path: '/v/x', auth: 'alice\\00:alice-pw', status: 401 },
  { path: '/wide/x', auth: 'dup:dup-pw-1', status: 401 },
  { path: '/v/x', auth: 'dup:dup-pw-1', status: 404 },
  { path: '/user/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/user/x', auth: 'john smith:john-pw', status: 404 },
  { path: '/user/x', auth: 'bob:bob-pw', status: 401 },
  { path: '/staff/x', auth: 'carol:carol-pw', status: 404 },
  { path: '/staff/x', auth: 'bob:bob-pw', status: 404 },
  { path: '/staff/x', auth: 'jdoe:jdoe-pw', status: 404 },
  { path: '/staff/x', auth: 'alice:alice-pw', status: 401 },
  { path: '/auditors/x', auth: 'dave:dave-pw', status: 404 },
  { path: '/auditors/x', auth: 'alice:alice-pw', status: 401 },
  { path: '/ops/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/ops/x', auth: 'carol:carol-pw', status: 401 },
  { path: '/deep/x', auth: 'dave:dave-pw', status: 401 },
  { path: '/deep5/x', auth: 'dave:dave-pw', status: 404 },
  { path: '/cycle/x', auth: 'carol:carol-pw', status: 404 },
  { path: '/cycle/x', auth: 'dave:dave-pw', status: 401 },
  { path: '/dn/x', auth: 'john smith:john-pw', status: 404 },
  { path: '/dn/x', auth: 'bob:bob-pw', status: 401 },
  { path: '/attr/x', auth: 'dave:dave-pw', status: 404 },
  { path: '/attr/x', auth: 'alice:alice-pw', status: 401 },
  { path: '/filter/x', auth: 'bob:bob-pw', status: 404 },
  { path: '/filter/x', auth: 'carol:carol-pw', status: 401 },
  { path: '/forbid/x', auth: 'bob:bob-pw', status: 403 },
  { path: '/alias/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/alias-never/x', auth: 'alice:alice-pw', status: 401 },
  { path: '/referred/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/referred/x', auth: 'alice:wrong', status: 401 },
  { path: '/referred-off/x', auth: 'alice:alice-pw', status: 401 },
];

let slapd: SlapdInstance;
let httpd: HttpdInstance;
let authts: RunningServer;
let authtsUrl: string;

beforeAll(async () => {
  slapd = await startSlapd();
  await addAliasesAndReferrals(slapd);
  const config = authConfig(`127.0.0.1:${slapd.port}`);
  // httpd's children run as www-data: the CA goes into the instance directory, which they can read.
  httpd = await startHttpd({ config, modules: ['ldap', 'authnz_ldap'], files: { 'ldap-ca.crt': await readFile(slapd.caFile) } });
  ({ authts, authtsUrl } = await startAuthtsBeside(httpd, config));
});

afterAll(async () => {
  await authts?.close();
  await httpd?.stop();
  await slapd?.stop();
});

function send(base: string, row: Row) {
  const headers: [string, string][] = row.auth === undefined ? [] : [['Authorization', `Basic ${Buffer.from(row.auth, 'utf8').toString('base64')}`]];
  return rawRequest(base, { method: 'GET', path: row.path, headers });
}

describe('mod_authnz_ldap conformance (httpd and authts against one slapd)', () => {
  for (const row of rows) {
    it(`${row.path} as ${row.auth?.split(':')[0] ?? 'nobody'} → ${row.status}`, async () => {
      const [h, a] = await Promise.all([send(httpd.url, row), send(authtsUrl, row)]);
      expect({ httpd: h.status, authts: a.status }).toEqual({ httpd: row.status, authts: row.status });
    });
  }

  it('both answer 500 while slapd is down, and recover on their own when it is back', async () => {
    const row: Row = { path: '/v/x', auth: 'alice:alice-pw', status: 404 };
    await slapd.stopServer();
    try {
      const [h, a] = await Promise.all([send(httpd.url, row), send(authtsUrl, row)]);
      expect({ httpd: h.status, authts: a.status }).toEqual({ httpd: 500, authts: 500 });
    } finally {
      await slapd.startServer();
    }
    const [h, a] = await Promise.all([send(httpd.url, row), send(authtsUrl, row)]);
    expect({ httpd: h.status, authts: a.status }).toEqual({ httpd: 404, authts: 404 });
  });
});
