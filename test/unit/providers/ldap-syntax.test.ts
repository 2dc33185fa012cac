/** RFC 4515 filter escaping, RFC 4514 DNs and AuthLDAPURL parsing (no server needed). */
import { describe, expect, it } from 'vitest';
import { escapeDnValue, escapeFilterValue, normalizeDn, parseDn } from '../../../src/providers/ldap/escape.js';
import { initialBindDn, referralTarget, userFilter } from '../../../src/providers/ldap/directory.js';
import { checkFilterSyntax, LdapUrlError, parseLdapUrl } from '../../../src/providers/ldap/url.js';

describe('escapeFilterValue (RFC 4515)', () => {
  it.each([
    ['alice', 'alice'],
    ['*', '\\2a'],
    ['*)(uid=*', '\\2a\\29\\28uid=\\2a'],
    ['a\\b', 'a\\5cb'],
    ['nul\0', 'nul\\00'],
    ['\\00', '\\5c00'],
    ['jürgen', 'jürgen'],
  ])('%j → %j', (value, escaped) => {
    expect(escapeFilterValue(value)).toBe(escaped);
  });

  it('builds the user filter as httpd, with the URL filter and attribute', () => {
    const url = parseLdapUrl('ldap://h/dc=x?mail??(objectClass=person)');
    expect(userFilter(url, '*)(|(mail=*')).toBe('(&(objectClass=person)(mail=\\2a\\29\\28|\\28mail=\\2a))');
  });
});

describe('DNs (RFC 4514)', () => {
  it.each([
    ['a,b', 'a\\,b'],
    ['Doe, John + Jr.', 'Doe\\, John \\+ Jr.'],
    [' lead', '\\ lead'],
    ['#hash', '\\#hash'],
    ['trail ', 'trail\\ '],
    ['x=y;z<>"\\', 'x\\=y\\;z\\<\\>\\"\\\\'],
    ['nul\0', 'nul\\00'],
  ])('escapeDnValue(%j) = %j', (value, escaped) => {
    expect(escapeDnValue(value)).toBe(escaped);
    expect(parseDn(`cn=${escaped},dc=org`)?.[0]?.[0]?.value).toBe(value);
  });

  it('parses hex escapes of UTF-8, multi-valued RDNs, and refuses garbage', () => {
    expect(parseDn('uid=j\\C3\\BCrgen,ou=people')).toEqual([[{ type: 'uid', value: 'jürgen' }], [{ type: 'ou', value: 'people' }]]);
    expect(parseDn('cn=a+sn=b,dc=x')?.[0]).toEqual([{ type: 'cn', value: 'a' }, { type: 'sn', value: 'b' }]);
    expect(parseDn('')).toEqual([]);
    expect(parseDn('nonsense')).toBeUndefined();
    expect(parseDn('cn=a\\')).toBeUndefined();
  });

  it('normalizes case, escapes and spaces after commas', () => {
    expect(normalizeDn('CN=Doe\\2C John \\2B Jr., OU=People,dc=example')).toBe(normalizeDn('cn=doe\\, john \\+ jr.,ou=people,dc=EXAMPLE'));
    expect(normalizeDn('uid=alice,dc=x')).not.toBe(normalizeDn('uid=alicex,dc=x'));
  });

  it('AuthLDAPInitialBindPattern substitutes DN-escaped captures; no match keeps the name', () => {
    const pattern = { regex: /^(.+)@corp$/u, subst: 'uid=$1,ou=people,dc=example,dc=org' };
    expect(initialBindDn('alice@corp', pattern)).toBe('uid=alice,ou=people,dc=example,dc=org');
    expect(initialBindDn('a,ou=admins@corp', pattern)).toBe('uid=a\\,ou\\=admins,ou=people,dc=example,dc=org');
    expect(initialBindDn('bob', pattern)).toBe('bob');
  });
});

describe('parseLdapUrl (AuthLDAPURL)', () => {
  it('reads hosts, base, attributes, scope, filter and the mode', () => {
    expect(parseLdapUrl('ldap://ldap1 ldap2:3389/ou=people,dc=example,dc=org?uid,mail?one?(objectClass=person)', 'starttls')).toEqual({
      hosts: [{ host: 'ldap1', port: 389 }, { host: 'ldap2', port: 3389 }],
      security: 'starttls',
      baseDn: 'ou=people,dc=example,dc=org',
      attributes: ['uid', 'mail'],
      scope: 'one',
      filter: '(objectClass=person)',
    });
  });

  it('applies the defaults: uid, sub, (objectClass=*), port 389/636', () => {
    const plain = parseLdapUrl('ldap://h/dc=x');
    expect([plain.attributes, plain.scope, plain.filter, plain.hosts[0]!.port, plain.security]).toEqual([['uid'], 'sub', '(objectClass=*)', 389, 'none']);
    expect(parseLdapUrl('ldaps://h/dc=x').hosts[0]!.port).toBe(636);
    expect(parseLdapUrl('ldap://h/dc=x', 'SSL')).toMatchObject({ security: 'ssl', hosts: [{ host: 'h', port: 636 }] });
    expect(parseLdapUrl('ldap://h/dc=x', 'TLS').security).toBe('starttls');
    expect(parseLdapUrl('ldap://h/dc=x??sub?objectClass=person').filter).toBe('(objectClass=person)');
    expect(parseLdapUrl('ldap://h/ou=My%20People,dc=x').baseDn).toBe('ou=My People,dc=x');
  });

  it.each([
    ['http://h/dc=x', undefined],
    ['ldap:///dc=x', undefined],
    ['ldap://h/dc=x?uid?sideways', undefined],
    ['ldap://h/dc=x', 'STARTLS'],
    ['ldaps://h/dc=x', 'STARTTLS'],
    ['ldap://h/dc=x??sub?(uid=a', undefined],
    ['ldap://h:99999/dc=x', undefined],
    ['ldap://h/nonsense', undefined],
  ])('refuses %s %s', (url, mode) => {
    expect(() => parseLdapUrl(url, mode)).toThrow(LdapUrlError);
  });

  it('checks filter syntax', () => {
    expect(checkFilterSyntax('(&(objectClass=person)(|(mail=*@example.org)(uid=a\\2a)))')).toBeUndefined();
    expect(checkFilterSyntax('(!(uid=a))')).toBeUndefined();
    expect(checkFilterSyntax('(uid=a')).toBeDefined();
    expect(checkFilterSyntax('(uid=a)(uid=b)')).toBe('text after the filter');
    expect(checkFilterSyntax('(&)')).toBeDefined();
    expect(checkFilterSyntax('(uid=a\\zz)')).toMatch(/escape/);
    expect(checkFilterSyntax('(novalue)')).toMatch(/attribute=value/);
  });
});

describe('referralTarget (where a continuation reference is chased)', () => {
  const from = (mode: string, scope = 'sub'): ReturnType<typeof parseLdapUrl> => parseLdapUrl(`ldap://h:389/dc=x?uid,mail?${scope}?(objectClass=person)`, mode);
  it('keeps the search (attributes, scope, filter) and takes host, port and DN from the reference', () => {
    expect(referralTarget('ldap://127.0.0.1:3389/ou=people,dc=x??sub', from('NONE'))).toEqual({
      hosts: [{ host: '127.0.0.1', port: 3389 }],
      security: 'none',
      baseDn: 'ou=people,dc=x',
      attributes: ['uid', 'mail'],
      scope: 'sub',
      filter: '(objectClass=person)',
    });
  });

  it('never gets weaker than the original transport: ldap:// from StartTLS or ldaps:// is chased with StartTLS', () => {
    const security = (ref: string, mode: string): unknown => (referralTarget(ref, from(mode)) as { security: string }).security;
    expect(security('ldap://r/dc=y', 'STARTTLS')).toBe('starttls');
    expect(security('ldap://r/dc=y', 'SSL')).toBe('starttls');
    expect(security('ldap://r/dc=y', 'NONE')).toBe('none');
    expect(security('ldaps://r/dc=y', 'NONE')).toBe('ssl');
    expect(security('ldaps://r/dc=y', 'STARTTLS')).toBe('ssl');
  });

  it('scope one becomes base (RFC 4511 §4.5.3); an empty DN keeps the original base', () => {
    expect(referralTarget('ldap://r/ou=a,dc=x', from('NONE', 'one'))).toMatchObject({ scope: 'base', baseDn: 'ou=a,dc=x' });
    expect(referralTarget('ldap://r', from('NONE'))).toMatchObject({ baseDn: 'dc=x', hosts: [{ host: 'r', port: 389 }] });
  });

  it('says why a reference cannot be followed', () => {
    expect(referralTarget('ldap:///ou=a,dc=x', from('NONE'))).toMatch(/not usable/);
    expect(referralTarget('http://r/', from('NONE'))).toMatch(/not usable/);
    expect(referralTarget('ldap://a b/dc=x', from('NONE'))).toMatch(/2 hosts/);
  });
});

describe('ldapts stays lazy', () => {
  it('no module imports ldapts at load time: only `import type` and the one dynamic import()', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = join(import.meta.dirname, '../../../src');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          for (const line of readFileSync(path, 'utf8').split('\n')) {
            if (/from 'ldapts'/.test(line) && !/^import type /.test(line)) offenders.push(`${path}: ${line}`);
          }
        }
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });

  it('is the subpath export authts/providers/ldap', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['./providers/ldap']).toEqual({ types: './dist/providers/ldap/index.d.ts', default: './dist/providers/ldap/index.js' });
  });
});
