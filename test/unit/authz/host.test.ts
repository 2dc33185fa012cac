// mod_authz_host: Require ip / host / forward-dns / local. Parse decisions and messages were
// checked against Apache/2.4.71. DNS is either a fake resolver or the system resolver asked
// about loopback names only — never an outside name server.
import { lookupService } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import {
  authzHost,
  createAuthzHost,
  forwardDnsProvider,
  hostProvider,
  inDomain,
  ipProvider,
  remoteHostName,
  localProvider,
  systemResolver,
  type HostResolver,
} from '../../../src/authz/host.js';
import { ConfigError } from '../../../src/errors.js';
import { evaluateStringExpr, parseStringExpr, requestExprContext } from '../../../src/expr/index.js';
import type { AuthzProvider, RequireParseContext } from '../../../src/module.js';
import { fakeRequest, type FakeRequestInit } from '../../helpers/fake-request.js';

function parseContext(warnings: string[] = []): RequireParseContext {
  return {
    where: { file: 'test.conf', line: 3 },
    error(code, message, hint) {
      throw new ConfigError(code, this.where, 'Require', message, hint);
    },
    warn(message) {
      warnings.push(message);
    },
  };
}

async function check<P>(provider: AuthzProvider<P>, args: string, init: FakeRequestInit = {}): Promise<string> {
  const parsed = provider.parseRequire(args, parseContext());
  return await provider.checkAuthorization(fakeRequest(init), parsed);
}

function loadError<P>(provider: AuthzProvider<P>, args: string): ConfigError {
  try {
    provider.parseRequire(args, parseContext());
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected '${args}' to be refused`);
}

/** A resolver answering from tables, counting its calls. */
function fakeResolver(reverse: Record<string, string>, forward: Record<string, string[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async reverse(address) {
      calls.push(`reverse ${address}`);
      const name = reverse[address];
      if (name === undefined) throw Object.assign(new Error('getnameinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      return name;
    },
    async lookup(name) {
      calls.push(`lookup ${name}`);
      const addresses = forward[name.toLowerCase()];
      if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return addresses;
    },
  };
}

describe('the module', () => {
  it('is authz_host with the four providers', () => {
    expect(authzHost.name).toBe('authz_host');
    expect(Object.keys(authzHost.authzProviders ?? {}).sort()).toEqual(['forward-dns', 'host', 'ip', 'local']);
  });

  it('checks its options', () => {
    expect(() => createAuthzHost(null as never)).toThrow(TypeError);
    expect(() => createAuthzHost({ resolver: {} as HostResolver })).toThrow('createAuthzHost: options.resolver needs reverse() and lookup() functions');
  });
});

describe('Require ip: parsing', () => {
  it('needs an argument', () => {
    const err = loadError(ipProvider, '');
    expect(err.code).toBe('CONFIG_BAD_REQUIRE');
    expect(err.message).toBe("'require ip' requires an argument");
    expect(err.line).toBe(3);
  });

  it('refuses what httpd refuses, with its messages', () => {
    const cases: [string, string][] = [
      ['foo', "ip address 'foo' appears to be invalid"],
      ['10.0.0.1 foo.example', "ip address 'foo.example' appears to be invalid"],
      ['10.0.0.1 # comment', "ip address '#' appears to be invalid"],
      ['"10.0.0.1 10.0.0.2"', "ip address '10.0.0.1 10.0.0.2' appears to be invalid"],
      ['10.1/16', "ip address '10.1/16' appears to be invalid: The specified IP address is invalid."],
      ['256.0.0.1', "ip address '256.0.0.1' appears to be invalid: The specified IP address is invalid."],
      ['10..1', "ip address '10..1' appears to be invalid: The specified IP address is invalid."],
      ['10.1.2.3.4', "ip address '10.1.2.3.4' appears to be invalid: The specified IP address is invalid."],
      ['::ffff:10.0.0.1', "ip address '::ffff:10.0.0.1' appears to be invalid: The specified IP address is invalid."],
      ['fe80::1%lo', "ip address 'fe80::1%lo' appears to be invalid: The specified IP address is invalid."],
      ['[::1]', "ip address '[::1]' appears to be invalid: The specified IP address is invalid."],
      ['10.0.0.0/0', "ip address '10.0.0.0/0' appears to be invalid: The specified network mask is invalid."],
      ['10.0.0.0/33', "ip address '10.0.0.0/33' appears to be invalid: The specified network mask is invalid."],
      ['10.0.0.0/8x', "ip address '10.0.0.0/8x' appears to be invalid: The specified network mask is invalid."],
      ['10.0.0.0/ 8', "ip address '10.0.0.0/' appears to be invalid: The specified network mask is invalid."],
      ['::1/129', "ip address '::1/129' appears to be invalid: The specified network mask is invalid."],
      ['2001:db8::/ffff::', "ip address '2001:db8::/ffff::' appears to be invalid: The specified network mask is invalid."],
    ];
    for (const [args, message] of cases) {
      const err = loadError(ipProvider, args);
      expect(err.code, args).toBe('CONFIG_BAD_REQUIRE');
      expect(err.message, args).toBe(message);
    }
  });

  it('accepts what httpd accepts', () => {
    for (const args of ['10.1', '10.1.', '1', '192.168', '1.2.3.4.', '010.0.0.1', '10.0.0.0/16', '10.0.0.0/255.255.0.0', '10.0.0.0/255.0.255.0',
      '10.0.0.0/08', '10.0.0.0/+8', '0.0.0.0/1', '::1', '::1/128', '2001:db8::/32', '10.1 ::1 192.168.0.0/16']) {
      expect(() => ipProvider.parseRequire(args, parseContext()), args).not.toThrow();
    }
  });

  it('stops at an empty word, as httpd does', () => {
    expect(ipProvider.parseRequire('10.0.0.1 "" foo', parseContext())).toHaveLength(1);
  });

  it('returns frozen subnets', () => {
    expect(Object.isFrozen(ipProvider.parseRequire('10.1 ::1', parseContext()))).toBe(true);
  });
});

describe('Require ip: checking', () => {
  it('grants clients inside any listed subnet, denies the rest', async () => {
    const args = '10.1 192.168.0.0/16 172.16.0.0/255.240.0.0 2001:db8::/32';
    expect(await check(ipProvider, args, { remoteAddress: '10.1.2.3' })).toBe('granted');
    expect(await check(ipProvider, args, { remoteAddress: '192.168.77.1' })).toBe('granted');
    expect(await check(ipProvider, args, { remoteAddress: '172.31.255.255' })).toBe('granted');
    expect(await check(ipProvider, args, { remoteAddress: '172.32.0.1' })).toBe('denied');
    expect(await check(ipProvider, args, { remoteAddress: '2001:db8:1::1' })).toBe('granted');
    expect(await check(ipProvider, args, { remoteAddress: '2001:db9::1' })).toBe('denied');
    expect(await check(ipProvider, args, { remoteAddress: '10.2.0.1' })).toBe('denied');
  });

  it('matches partial addresses on whole octets', async () => {
    expect(await check(ipProvider, '10.1', { remoteAddress: '10.1.0.1' })).toBe('granted');
    expect(await check(ipProvider, '10.1', { remoteAddress: '10.10.0.1' })).toBe('denied');
    expect(await check(ipProvider, '192.168.1', { remoteAddress: '192.168.1.200' })).toBe('granted');
  });

  it('treats IPv4-mapped client addresses as IPv4', async () => {
    expect(await check(ipProvider, '127.0.0.0/8', { remoteAddress: '::ffff:127.0.0.1' })).toBe('granted');
    expect(await check(ipProvider, '::1', { remoteAddress: '127.0.0.1' })).toBe('denied');
  });

  it('never answers denied-no-user, with or without a user', async () => {
    expect(await check(ipProvider, '10.0.0.0/8', { remoteAddress: '192.0.2.1' })).toBe('denied');
    expect(await check(ipProvider, '10.0.0.0/8', { remoteAddress: '192.0.2.1', user: 'alice' })).toBe('denied');
  });
});

describe('Require local', () => {
  it('grants loopback clients and clients connecting from the server address', async () => {
    expect(await check(localProvider, '', { remoteAddress: '127.0.0.1' })).toBe('granted');
    expect(await check(localProvider, '', { remoteAddress: '127.200.0.9' })).toBe('granted');
    expect(await check(localProvider, '', { remoteAddress: '::1' })).toBe('granted');
    expect(await check(localProvider, '', { remoteAddress: '::ffff:127.0.0.1' })).toBe('granted');
    expect(await check(localProvider, '', { remoteAddress: '192.0.2.10', localAddress: '192.0.2.10' })).toBe('granted');
    expect(await check(localProvider, '', { remoteAddress: '192.0.2.10', localAddress: '::ffff:192.0.2.10' })).toBe('granted');
    expect(await check(localProvider, '', { remoteAddress: '2001:db8::7', localAddress: '2001:db8::7' })).toBe('granted');
  });

  it('denies everyone else', async () => {
    expect(await check(localProvider, '', { remoteAddress: '192.0.2.10', localAddress: '192.0.2.11' })).toBe('denied');
    expect(await check(localProvider, '', { remoteAddress: '128.0.0.1' })).toBe('denied');
    expect(await check(localProvider, '', { remoteAddress: '::2' })).toBe('denied');
  });

  it('ignores arguments, with a warning', () => {
    const warnings: string[] = [];
    localProvider.parseRequire('foo', parseContext(warnings));
    expect(warnings).toEqual([`'Require local' takes no arguments; "foo" is ignored`]);
  });
});

describe('inDomain', () => {
  it('matches whole trailing labels, case-insensitively', () => {
    expect(inDomain('example.org', 'example.org')).toBe(true);
    expect(inDomain('example.org', 'a.example.org')).toBe(true);
    expect(inDomain('example.org', 'a.b.EXAMPLE.org')).toBe(true);
    expect(inDomain('EXAMPLE.ORG', 'a.example.org')).toBe(true);
    expect(inDomain('example.org', 'badexample.org')).toBe(false);
    expect(inDomain('.example.org', 'a.example.org')).toBe(true);
    expect(inDomain('.example.org', 'example.org')).toBe(false);
    expect(inDomain('a.example.org', 'example.org')).toBe(false);
    expect(inDomain('localhost.', 'localhost')).toBe(false);
  });
});

describe('Require host (fake resolver)', () => {
  const resolver = () =>
    fakeResolver(
      { '192.0.2.1': 'Host1.Example.ORG', '192.0.2.2': 'liar.example.org', '192.0.2.3': '192.0.2.3', '2001:db8::1': 'v6.example.org' },
      { 'host1.example.org': ['198.51.100.9', '192.0.2.1'], 'liar.example.org': ['198.51.100.1'], 'v6.example.org': ['2001:db8::1'] },
    );

  it('grants a client whose double-reverse name ends with a listed domain', async () => {
    const host = hostProvider(resolver());
    expect(await check(host, 'example.org', { remoteAddress: '192.0.2.1' })).toBe('granted');
    expect(await check(host, 'host1.example.org', { remoteAddress: '192.0.2.1' })).toBe('granted');
    expect(await check(host, 'other.net EXAMPLE.org', { remoteAddress: '192.0.2.1' })).toBe('granted');
    expect(await check(host, 'v6.example.org', { remoteAddress: '2001:db8::1' })).toBe('granted');
    expect(await check(host, 'example.org', { remoteAddress: '::ffff:192.0.2.1' })).toBe('granted');
  });

  it('matches whole labels only', async () => {
    const host = hostProvider(resolver());
    expect(await check(host, 'ample.org', { remoteAddress: '192.0.2.1' })).toBe('denied');
    expect(await check(host, 'st1.example.org', { remoteAddress: '192.0.2.1' })).toBe('denied');
    expect(await check(host, 'other.net', { remoteAddress: '192.0.2.1' })).toBe('denied');
  });

  it('denies when the name does not resolve back to the client', async () => {
    expect(await check(hostProvider(resolver()), 'example.org', { remoteAddress: '192.0.2.2' })).toBe('denied');
  });

  it('denies when the reverse lookup fails or gives an address', async () => {
    expect(await check(hostProvider(resolver()), 'example.org', { remoteAddress: '192.0.2.99' })).toBe('denied');
    expect(await check(hostProvider(resolver()), '192.0.2.3', { remoteAddress: '192.0.2.3' })).toBe('denied');
  });

  it('denies when the forward lookup fails', async () => {
    const r = fakeResolver({ '192.0.2.1': 'gone.example.org' }, {});
    expect(await check(hostProvider(r), 'example.org', { remoteAddress: '192.0.2.1' })).toBe('denied');
  });

  it('looks the client up once per request, and not at all without names', async () => {
    const r = resolver();
    const host = hostProvider(r);
    const a = host.parseRequire('other.net', parseContext());
    const b = host.parseRequire('example.org', parseContext());
    const req = fakeRequest({ remoteAddress: '192.0.2.1' });
    expect(await host.checkAuthorization(req, a)).toBe('denied');
    expect(await host.checkAuthorization(req, b)).toBe('granted');
    expect(r.calls).toEqual(['reverse 192.0.2.1', 'lookup Host1.Example.ORG']);
    expect(await check(host, '', { remoteAddress: '192.0.2.1' })).toBe('denied');
    expect(r.calls).toHaveLength(2);
  });

  it('evaluates the names as a string expression per request', async () => {
    const host = hostProvider(resolver());
    expect(await check(host, '%{HTTP:X-Domain}', { remoteAddress: '192.0.2.1', headers: { 'x-domain': 'example.org' } })).toBe('granted');
    expect(await check(host, '%{HTTP:X-Domain}', { remoteAddress: '192.0.2.1', headers: { 'x-domain': 'example.net' } })).toBe('denied');
    expect(await check(host, '"example.org"', { remoteAddress: '192.0.2.1' })).toBe('granted');
    expect(await check(host, "'nope example.org'", { remoteAddress: '192.0.2.1' })).toBe('denied');
  });

  it('ignores text after #, and denies a line that is only a comment', async () => {
    const host = hostProvider(resolver());
    const warnings: string[] = [];
    const parsed = host.parseRequire('nothere example.org#x', parseContext(warnings));
    expect(warnings).toEqual(["'Require host': text after '#' is a comment and is ignored"]);
    expect(await host.checkAuthorization(fakeRequest({ remoteAddress: '192.0.2.1' }), parsed)).toBe('granted');
    expect(await check(host, 'nothere # example.org', { remoteAddress: '192.0.2.1' })).toBe('denied');
    expect(await check(host, '#example.org', { remoteAddress: '192.0.2.1' })).toBe('denied');
  });

  it('reports bad expressions at load', () => {
    const err = loadError(hostProvider(resolver()), '%{FOO}');
    expect(err.code).toBe('CONFIG_BAD_EXPR');
    expect(err.message).toBe("Cannot parse expression in require line: Variable 'FOO' does not exist (at character 1)");
  });

  it('denies when the names cannot be evaluated', async () => {
    // 20 nested calls pass httpd's recursion limit: an evaluation error, so denied.
    const deep = `${'%{tolower:'.repeat(20)}example.org${'}'.repeat(20)}`;
    expect(() => evaluateStringExpr(parseStringExpr(deep), requestExprContext(fakeRequest()))).toThrow('Recursion limit reached');
    const shallow = `${'%{tolower:'.repeat(5)}example.org${'}'.repeat(5)}`;
    expect(await check(hostProvider(resolver()), shallow, { remoteAddress: '192.0.2.1' })).toBe('granted');
    expect(await check(hostProvider(resolver()), deep, { remoteAddress: '192.0.2.1' })).toBe('denied');
  });

  it('never answers denied-no-user', async () => {
    expect(await check(hostProvider(resolver()), 'example.net', { remoteAddress: '192.0.2.1' })).toBe('denied');
  });
});

describe('Require forward-dns (fake resolver)', () => {
  const resolver = () => fakeResolver({}, { 'dyn.example.org': ['198.51.100.7', '2001:db8::7'], 'other.example.org': ['203.0.113.1'] });

  it('grants a client that one of the names resolves to', async () => {
    const fwd = forwardDnsProvider(resolver());
    expect(await check(fwd, 'dyn.example.org', { remoteAddress: '198.51.100.7' })).toBe('granted');
    expect(await check(fwd, 'dyn.example.org', { remoteAddress: '2001:db8::7' })).toBe('granted');
    expect(await check(fwd, 'dyn.example.org', { remoteAddress: '::ffff:198.51.100.7' })).toBe('granted');
    expect(await check(fwd, 'other.example.org dyn.example.org', { remoteAddress: '198.51.100.7' })).toBe('granted');
    expect(await check(fwd, 'dyn.example.org', { remoteAddress: '198.51.100.8' })).toBe('denied');
  });

  it('skips names that do not resolve', async () => {
    const r = resolver();
    expect(await check(forwardDnsProvider(r), 'missing.example.org dyn.example.org', { remoteAddress: '198.51.100.7' })).toBe('granted');
    expect(r.calls).toEqual(['lookup missing.example.org', 'lookup dyn.example.org']);
    expect(await check(forwardDnsProvider(resolver()), 'missing.example.org', { remoteAddress: '198.51.100.7' })).toBe('denied');
  });

  it('stops at the first match, and at a comment', async () => {
    const r = resolver();
    expect(await check(forwardDnsProvider(r), 'dyn.example.org other.example.org', { remoteAddress: '198.51.100.7' })).toBe('granted');
    expect(r.calls).toEqual(['lookup dyn.example.org']);
    expect(await check(forwardDnsProvider(resolver()), 'other.example.org # dyn.example.org', { remoteAddress: '198.51.100.7' })).toBe('denied');
  });

  it('denies clients whose address cannot be read', async () => {
    expect(await check(forwardDnsProvider(resolver()), 'dyn.example.org', { remoteAddress: 'bogus' })).toBe('denied');
  });
});

describe('the system resolver (loopback only)', () => {
  it('grants 127.0.0.1 for its own host name with Require host (double reverse)', async () => {
    // Whatever /etc/hosts calls 127.0.0.1 (usually "localhost").
    const name = (await lookupService('127.0.0.1', 0)).hostname;
    const host = hostProvider(systemResolver);
    expect(await check(host, name, { remoteAddress: '127.0.0.1' })).toBe('granted');
    expect(await check(host, name.toUpperCase(), { remoteAddress: '127.0.0.1' })).toBe('granted');
    expect(await check(host, `x${name}`, { remoteAddress: '127.0.0.1' })).toBe('denied');
  });

  it('grants with Require forward-dns localhost and a literal address', async () => {
    const fwd = forwardDnsProvider(systemResolver);
    expect(await check(fwd, 'localhost', { remoteAddress: '127.0.0.1' })).toBe('granted');
    expect(await check(fwd, '127.0.0.1', { remoteAddress: '127.0.0.1' })).toBe('granted');
    expect(await check(fwd, '127.0.0.2', { remoteAddress: '127.0.0.1' })).toBe('denied');
  });

  it('answers through the registered module too', async () => {
    const local = authzHost.authzProviders!['local']!;
    expect(await check(local, '', { remoteAddress: '127.0.0.1' })).toBe('granted');
  });
});

describe('remoteHostName (shared with Allow from host)', () => {
  it('does the double-reverse lookup once per request', async () => {
    const r = fakeResolver({ '192.0.2.1': 'A.Example.org' }, { 'a.example.org': ['192.0.2.1'] });
    const req = fakeRequest({ remoteAddress: '192.0.2.1' });
    expect(await remoteHostName(req, r)).toBe('a.example.org');
    expect(await remoteHostName(req, r)).toBe('a.example.org');
    expect(r.calls).toEqual(['reverse 192.0.2.1', 'lookup A.Example.org']);
    expect(await remoteHostName(fakeRequest({ remoteAddress: '192.0.2.2' }), r)).toBeUndefined();
  });

  it('uses the system resolver by default', async () => {
    const name = (await lookupService('127.0.0.1', 0)).hostname;
    expect(await remoteHostName(fakeRequest({ remoteAddress: '127.0.0.1' }))).toBe(name.toLowerCase());
  });
});
