// What expressions evaluate to. Expected values were checked against Apache/2.4.71 (Require expr
// per <Location>, and `Header set … "expr=%{…}"` for string results) unless a comment says the
// case is an authts deviation.
import { describe, expect, it } from 'vitest';
import { AuthTsError } from '../../../src/errors.js';
import { evaluateExpr, evaluateStringExpr, parseExpr, parseStringExpr, requestExprContext, type ExprContext } from '../../../src/expr/index.js';
import { fakeRequest, type FakeRequestInit } from '../../helpers/fake-request.js';

/** Every printable ASCII character, between A and Z. */
const PRINTABLE = `A${Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('')}Z`;

/** Monday 2024-01-15 09:30:05, local time. */
const NOW = new Date(2024, 0, 15, 9, 30, 5).getTime();

function ctxFor(init: FakeRequestInit = {}, now = NOW): ExprContext {
  return requestExprContext(fakeRequest(init), { now: () => now, osEnv: { OS_ONLY: 'from-os', SHARED: 'os' } });
}

function run(text: string, init: FakeRequestInit = {}, now = NOW): boolean {
  return evaluateExpr(parseExpr(text), ctxFor(init, now));
}

/** The value of a word, through `word == 'expected'`-free string evaluation. */
function str(text: string, init: FakeRequestInit = {}, now = NOW): string {
  return evaluateStringExpr(parseStringExpr(text), ctxFor(init, now));
}

describe('logic', () => {
  it('evaluates true, false, !, &&, || and their word forms', () => {
    expect(run('true')).toBe(true);
    expect(run('false')).toBe(false);
    expect(run('!true')).toBe(false);
    expect(run('!!true')).toBe(true);
    expect(run('not not true')).toBe(true);
    expect(run('true && false')).toBe(false);
    expect(run('true and true')).toBe(true);
    expect(run('false || true')).toBe(true);
    expect(run('false or false')).toBe(false);
  });

  it('binds && tighter than || and ! tighter than both', () => {
    expect(run('true || false && false')).toBe(true);
    expect(run('(true || false) && false')).toBe(false);
    expect(run('!true || true')).toBe(true);
    expect(run('!(true || true)')).toBe(false);
    expect(run("! 'a' == 'b'")).toBe(true);
  });

  it('flips the result once per !', () => {
    for (let n = 17; n <= 21; n++) expect(run(`${'!'.repeat(n)}'a' == 'a'`), `${n}`).toBe(n % 2 === 0);
  });

  it('short-circuits left to right', () => {
    // The second regex would set $1; when && stops early it never runs.
    expect(run("false && 'ab' =~ /(a)/ || $1 == ''")).toBe(true);
    expect(run("true || 'ab' =~ /(a)/ || true")).toBe(true);
    expect(run("('ab' =~ /(b)/ || 'ab' =~ /(a)/) && $1 == 'b'")).toBe(true);
  });
});

describe('string comparisons (strcmp)', () => {
  it('compares character by character', () => {
    expect(run("'a' == 'a'")).toBe(true);
    expect(run("'a' = 'a'")).toBe(true);
    expect(run("'a' != 'b'")).toBe(true);
    expect(run("'a' < 'b'")).toBe(true);
    expect(run("'B' < 'a'")).toBe(true);
    expect(run("'ab' < 'abc'")).toBe(true);
    expect(run("'10' < '9'")).toBe(true);
    expect(run("'b' <= 'b'")).toBe(true);
    expect(run("'c' > 'b'")).toBe(true);
    expect(run("'b' >= 'c'")).toBe(false);
    expect(run("'10' == 10")).toBe(true);
  });
});

describe('integer comparisons (apr_atoi64)', () => {
  it('compares the leading integers', () => {
    expect(run("'10' -eq '010'")).toBe(true);
    expect(run("' 10' -eq '10'")).toBe(true);
    expect(run("'10abc' -eq '10'")).toBe(true);
    expect(run("'abc' -eq '0'")).toBe(true);
    expect(run("'' -eq 0")).toBe(true);
    expect(run("'+5' -eq '5'")).toBe(true);
    expect(run("'-5' -lt '3'")).toBe(true);
    expect(run('9 -lt 10')).toBe(true);
    expect(run('10 -ne 10')).toBe(false);
    expect(run('10 -le 10')).toBe(true);
    expect(run('11 -gt 10')).toBe(true);
    expect(run('10 -ge 11')).toBe(false);
    expect(run('-1 -lt 0')).toBe(true);
  });

  it('accepts the dash-less ssl_expr forms', () => {
    expect(run('1 eq 1 && 1 ne 2 && 1 lt 2 && 2 le 2 && 3 gt 2 && 3 ge 3')).toBe(true);
  });

  it('uses 64-bit integers and saturates beyond them', () => {
    expect(run("'9007199254740993' -gt '9007199254740992'")).toBe(true);
    expect(run("'99999999999999999999' -eq '9223372036854775807'")).toBe(true);
    expect(run("'-99999999999999999999' -eq '-9223372036854775808'")).toBe(true);
    expect(run("'9223372036854775807' -gt '9223372036854775806'")).toBe(true);
  });
});

describe('in', () => {
  it('looks the word up in the list', () => {
    expect(run("'a' in { 'b', 'a' }")).toBe(true);
    expect(run("'a' -in { 'b', 'c' }")).toBe(false);
    expect(run("%{REQUEST_METHOD} in { 'GET', 'HEAD' }", { method: 'HEAD' })).toBe(true);
    expect(run("%{REQUEST_METHOD} in { tolower('GET') }", { method: 'get' })).toBe(true);
  });
});

describe('regex match and captures', () => {
  it('matches and does not match', () => {
    expect(run("'abc' =~ /b/")).toBe(true);
    expect(run("'abc' !~ /b/")).toBe(false);
    expect(run("'abc' =~ /^b/")).toBe(false);
    expect(run("'ABC' =~ /abc/")).toBe(false);
    expect(run("'ABC' =~ /abc/i")).toBe(true);
    expect(run("'ABC' =~ m#abc#i")).toBe(true);
    expect(run("'ABC' =~ /(?i)abc/")).toBe(true);
  });

  it('uses httpd 2.4 defaults: . matches newlines, $ only the very end', () => {
    expect(run('%{REQUEST_URI} =~ m!^/c/x.y$!', { path: '/c/x\ny' })).toBe(true);
    expect(run('%{REQUEST_URI} =~ m!^/c/x$!', { path: '/c/x\n' })).toBe(false);
    expect(run('%{REQUEST_URI} =~ m!^/c/x\\Z!', { path: '/c/x\n' })).toBe(true);
    expect(run('%{REQUEST_URI} =~ m!^/c/x\\z!', { path: '/c/x\n' })).toBe(false);
    expect(run('%{REQUEST_URI} =~ m!^/c/x\\N$!', { path: '/c/x\n' })).toBe(false);
  });

  it('uses PCRE character classes', () => {
    const headers = { 'x-sp': 'a\u00a0b' };
    expect(run('%{HTTP:X-Sp} =~ /^a\\sb$/', { headers })).toBe(false);
    expect(run('%{HTTP:X-Sp} =~ /^a\\Sb$/', { headers })).toBe(true);
    expect(run('%{HTTP:X-Sp} =~ /^a[[:space:]]b$/', { headers })).toBe(false);
    expect(run('%{HTTP:X-Sp} =~ /^a\\hb$/', { headers })).toBe(true);
    expect(run('%{HTTP:X-Sp} =~ /^a\\x{a0}b$/', { headers })).toBe(true);
    expect(run("'x' =~ /[[:alpha:]]/ && '5' =~ /^[[:digit:]]$/")).toBe(true);
  });

  it('sets $0…$9 from the last successful match that has groups', () => {
    expect(run("%{REQUEST_URI} =~ m!^/c/(\\d+)$! && $1 == '1'", { path: '/c/1' })).toBe(true);
    expect(run("%{REQUEST_URI} =~ m!^/c/(\\d+)$! && $0 == '/c/2'", { path: '/c/2' })).toBe(true);
    expect(run("%{REQUEST_URI} =~ m!^/(c)/(\\d+)$! && $1 . $2 == 'c6'", { path: '/c/6' })).toBe(true);
  });

  it('uses captures inside later strings and function arguments', () => {
    expect(run("%{REQUEST_URI} =~ m!^/c/(\\d+)$! && 'x$1y' == 'x3y'", { path: '/c/3' })).toBe(true);
    expect(run("%{REQUEST_URI} =~ m!^/u/(\\w+)$! && %{HTTP:X-$1} == 'yes'", { path: '/u/alice', headers: { 'x-alice': 'yes' } })).toBe(true);
  });

  it('keeps captures across a regex without groups, clears them after a failed one with groups', () => {
    expect(run("%{REQUEST_URI} =~ m!^/c/(\\d+)$! && %{QUERY_STRING} =~ /z/ && $1 == '7'", { path: '/c/7', query: 'q=z' })).toBe(true);
    expect(run("%{REQUEST_URI} =~ m!^/c/(\\d+)$! && %{QUERY_STRING} =~ /(z)/ && $1 == 'z'", { path: '/c/7', query: 'q=z' })).toBe(true);
    expect(run("%{REQUEST_URI} =~ m!^/c/(\\d+)$! && %{QUERY_STRING} !~ /(zzz)/ && $1 == ''", { path: '/c/7', query: 'q=z' })).toBe(true);
  });

  it('reads missing groups as empty', () => {
    expect(run("$1 == ''")).toBe(true);
    expect(run("'a' =~ /^(x)?a/ && $1 == ''")).toBe(true);
    expect(run("'aa' =~ /(a)(a)/ && $3 == '' && $9 == ''")).toBe(true);
  });

  it('starts every evaluation with empty captures', () => {
    const ast = parseExpr("%{QUERY_STRING} =~ /(a)/ || $1 == ''");
    const ctx = ctxFor({ query: 'b' });
    expect(evaluateExpr(parseExpr("'a' =~ /(a)/"), ctx)).toBe(true);
    expect(evaluateExpr(ast, ctx)).toBe(true);
  });
});

describe('unary operators', () => {
  it('-n and -z test for emptiness', () => {
    expect(run("-n ''")).toBe(false);
    expect(run("-n 'x'")).toBe(true);
    expect(run("-z ''")).toBe(true);
    expect(run('-z %{QUERY_STRING}', { query: '' })).toBe(true);
  });

  it('-T is false only for empty, 0, off, no and false', () => {
    const expected: Record<string, boolean> = {
      on: true, off: false, OFF: false, no: false, No: false, false: false, FALSE: false, '0': false, '00': true,
      '': false, x: true, offx: true, nope: true, '1': true,
    };
    for (const [value, result] of Object.entries(expected)) expect(run(`-T '${value}'`), value).toBe(result);
  });
});

describe('-ipmatch and -R', () => {
  it('matches IPv4 addresses against subnets, partial networks and dotted masks', () => {
    expect(run("'127.0.0.1' -ipmatch '127.0.0.0/8'")).toBe(true);
    expect(run("'127.0.0.1' -ipmatch '127'")).toBe(true);
    expect(run("'10.1.2.3' -ipmatch '10.1.'")).toBe(true);
    expect(run("'10.1.2.3' -ipmatch '10.1.0.0/255.255.0.0'")).toBe(true);
    expect(run("'10.2.2.3' -ipmatch '10.1.0.0/16'")).toBe(false);
    expect(run("'10.0.0.1' -ipmatch '010.0.0.1'")).toBe(true);
    expect(run("'10.0.0.1' -ipmatch '10.0.0.2'")).toBe(false);
  });

  it('reads the address as getaddrinfo does (inet_aton forms)', () => {
    expect(run("'010.0.0.1' -ipmatch '10.0.0.1'")).toBe(false);
    expect(run("'010.0.0.1' -ipmatch '8.0.0.1'")).toBe(true);
    expect(run("'10.1' -ipmatch '10.0.0.0/8'")).toBe(true);
    expect(run("'167772161' -ipmatch '10.0.0.1'")).toBe(true);
  });

  it('matches IPv6, and IPv4-mapped IPv6 against IPv4 subnets only', () => {
    expect(run("'::1' -ipmatch '::1'")).toBe(true);
    expect(run("'::1' -ipmatch '::/1'")).toBe(true);
    expect(run("'2001:db8::5' -ipmatch '2001:db8::/32'")).toBe(true);
    expect(run("'2001:db9::5' -ipmatch '2001:db8::/32'")).toBe(false);
    expect(run("'fe80::1%lo' -ipmatch 'fe80::/10'")).toBe(true);
    expect(run("'::ffff:127.0.0.1' -ipmatch '127.0.0.0/8'")).toBe(true);
    expect(run("'::ffff:127.0.0.1' -ipmatch '::/1'")).toBe(false);
    expect(run("'127.0.0.1' -ipmatch '::1'")).toBe(false);
  });

  it('does not resolve host names (authts deviation: httpd does)', () => {
    expect(run("'localhost' -ipmatch '127.0.0.0/8'")).toBe(false);
    expect(run("'' -ipmatch '127.0.0.0/8'")).toBe(false);
  });

  it('-R tests the client address', () => {
    expect(run("-R '127.0.0.1'", { remoteAddress: '127.0.0.1' })).toBe(true);
    expect(run("-R '127.0.0.0/8'", { remoteAddress: '127.0.0.1' })).toBe(true);
    expect(run("-R '::1'", { remoteAddress: '127.0.0.1' })).toBe(false);
    expect(run("-R '::1'", { remoteAddress: '::1' })).toBe(true);
    expect(run("-R '10.0.0.0/8'", { remoteAddress: '::ffff:10.9.8.7' })).toBe(true);
    expect(run("-R '10.0.0.0/8'", { remoteAddress: 'not-an-address' })).toBe(false);
  });
});

describe('-strmatch, -strcmatch, -fnmatch', () => {
  it('match wildcards', () => {
    expect(run("'abc' -strmatch 'a*'")).toBe(true);
    expect(run("'ABC' -strmatch 'a*'")).toBe(false);
    expect(run("'ABC' -strcmatch 'a*'")).toBe(true);
    expect(run("'ABC' -strcmatch '[a-c]bc'")).toBe(true);
    expect(run("'abc' -strmatch 'a?c'")).toBe(true);
    expect(run("'abc' -strmatch 'a[a-c]c'")).toBe(true);
    expect(run("'a.x' -strmatch '*.[xy]'")).toBe(true);
    expect(run("'a]' -strmatch '*[]]'")).toBe(true);
    expect(run("'a' -strmatch '[!b]'")).toBe(true);
    expect(run("'a' -strmatch '[^b]'")).toBe(true);
    expect(run("'' -strmatch '*'")).toBe(true);
  });

  it('-fnmatch keeps / out of wildcards', () => {
    expect(run("'a/b' -strmatch 'a*'")).toBe(true);
    expect(run("'a/b' -fnmatch 'a*'")).toBe(false);
    expect(run("'a/b' -fnmatch 'a/*'")).toBe(true);
    expect(run("'a/c' -fnmatch 'a?c'")).toBe(false);
    expect(run("'a/c' -fnmatch 'a[/]c'")).toBe(false);
    expect(run("'.x' -fnmatch '*'")).toBe(true);
  });

  it('takes the pattern from the right', () => {
    expect(run("'a*c' -strmatch 'abc'")).toBe(false);
    // The string scanner eats one backslash, fnmatch the other.
    expect(run("'a*c' -strmatch 'a\\\\*c'")).toBe(true);
    expect(run("'abc' -strmatch 'a\\\\*c'")).toBe(false);
  });
});

describe('functions', () => {
  it('change case of ASCII letters only', () => {
    expect(str('%{tolower:AbC}')).toBe('abc');
    expect(str('%{toupper:abc}')).toBe('ABC');
    expect(str('%{tolower:%{HTTP:X-In}}', { headers: { 'x-in': '\u00c3\u0089A' } })).toBe('Éa');
    expect(str('%{toupper:é}')).toBe('é');
    expect(run("TOLOWER('AbC') == 'abc'")).toBe(true);
  });

  it('escape and unescape URLs as httpd', () => {
    expect(str('%{escape:a b/c?d&e%f}')).toBe('a%20b/c%3fd&e%25f');
    expect(str('%{escape:%{HTTP:X-In}}', { headers: { 'x-in': PRINTABLE } })).toBe(
      "A!%22%23$%25&'()*+,-./0123456789:;%3c=%3e%3f@ABCDEFGHIJKLMNOPQRSTUVWXYZ%5b%5c%5d%5e_%60abcdefghijklmnopqrstuvwxyz%7b%7c%7d~Z",
    );
    expect(str('%{escape:é\\001\\177}')).toBe('%c3%a9%01%7f');
    expect(str('%{unescape:a%20b%2fc}')).toBe('a b%2fc');
    expect(str('%{unescape:%41%2F%5c%25+}')).toBe('A%2F\\%+');
    expect(str('%{unescape:%c3%a9}')).toBe('é');
    expect(str('%{unescape:a%zz}')).toBe('');
    expect(str('%{unescape:a%2}')).toBe('');
    expect(str('%{unescape:a%00b}')).toBe('');
  });

  it('encode and decode base64', () => {
    expect(str('%{base64:hello}')).toBe('aGVsbG8=');
    expect(str('%{base64:a}')).toBe('YQ==');
    expect(str('%{unbase64:aGVsbG8=}')).toBe('hello');
    expect(str('%{unbase64:aGVsbG8}')).toBe('hello');
    expect(str('%{unbase64:aGV sbG8=}')).toBe('he');
    expect(str('%{unbase64:!!!}')).toBe('');
    expect(str('%{unbase64:YQBi}')).toBe('a');
    expect(str('%{unbase64:w6k=}')).toBe('é');
  });

  it('hash with md5 and sha1 (lower-case hex)', () => {
    expect(str('%{md5:x}')).toBe('9dd4e461268c8034f5c8564e155c67a6');
    expect(str('%{sha1:x}')).toBe('11f6ad8ec52a2984abaafd7c3b516503785c2072');
    // Node hands header bytes c3 a9 41 over as latin1 text; httpd hashes those same bytes.
    expect(str('%{md5:%{HTTP:X-In}}', { headers: { 'x-in': '\u00c3\u00a9A' } })).toBe('0a0648083c87cda629125f8d4c6531af');
    expect(str('%{base64:%{HTTP:X-In}}', { headers: { 'x-in': '\u00c3\u00a9A' } })).toBe('w6lB');
  });

  it('escape for LDAP DNs and filters', () => {
    expect(str('%{ldap:a*(b)c,d#e+f<g>h;i=k l}')).toBe('a\\2a\\28b\\29c\\2cd#e\\2bf\\3cg\\3eh\\3bi=k l');
    expect(str('%{ldap:%{HTTP:X-In}}', { headers: { 'x-in': PRINTABLE } })).toBe(
      "A!\\22#$%&'\\28\\29\\2a\\2b\\2c-./0123456789:\\3b\\3c=\\3e?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\5c]^_`abcdefghijklmnopqrstuvwxyz{|}~Z",
    );
    expect(str('%{ldap:é\\tx\\001\\177}')).toBe('\\c3\\a9\\09x\\01\\7f');
    expect(str('%{ldap:#a b }')).toBe('#a b ');
  });

  it('read request headers (any case) through req, http, req_novary and %{HTTP:…}', () => {
    const init = { headers: { 'x-foo': 'bar' } };
    expect(run("%{HTTP:X-Foo} == 'bar'", init)).toBe(true);
    expect(run("req('x-foo') == 'bar'", init)).toBe(true);
    expect(run("http('X-FOO') == 'bar'", init)).toBe(true);
    expect(run("req_novary('X-Foo') == 'bar'", init)).toBe(true);
    expect(run("req('X-' . 'Foo') == 'bar'", init)).toBe(true);
    expect(run("req('X-Missing') == ''", init)).toBe(true);
  });

  it('read response headers, the request environment, notes and the OS environment', () => {
    const init = {
      responseHeaders: { 'WWW-Authenticate': 'Basic' },
      env: { AUTHENTICATE_UID: '42', SHARED: 'env' },
      notes: { 'my-note': 'n', SHARED: 'note', 'not-a-string': 7 },
    };
    expect(str('%{resp:www-authenticate}', init)).toBe('Basic');
    expect(str('%{reqenv:authenticate_uid}', init)).toBe('42');
    expect(str('%{note:MY-NOTE}', init)).toBe('n');
    expect(str('%{note:not-a-string}', init)).toBe('');
    expect(str('%{osenv:OS_ONLY}', init)).toBe('from-os');
    expect(str('%{osenv:AUTHENTICATE_UID}', init)).toBe('');
    // env(): notes first, then the request environment, then the OS.
    expect(str('%{ENV:SHARED}', init)).toBe('note');
    expect(str('%{ENV:AUTHENTICATE_UID}', init)).toBe('42');
    expect(str('%{ENV:OS_ONLY}', init)).toBe('from-os');
    expect(str('%{ENV:NOWHERE}', init)).toBe('');
    expect(run("reqenv('AUTHENTICATE_UID') -eq 42", init)).toBe(true);
  });
});

describe('request variables', () => {
  const init: FakeRequestInit = {
    method: 'POST',
    path: '/s/a b',
    query: 'q=1&r',
    unparsedUri: '/s/a%20b?q=1&r',
    filename: '/srv/www/s/a b',
    headers: {
      host: 'www.example.org:8443',
      'user-agent': 'ua/1',
      referer: 'https://r.example/',
      cookie: 'c=1',
      accept: 'text/html',
      forwarded: 'for=192.0.2.9',
      'proxy-connection': 'keep-alive',
    },
    remoteAddress: '192.0.2.7',
    tls: true,
    user: 'alice',
    authType: 'Basic',
  };

  it('supplies each variable from the request', () => {
    const expected: Record<string, string> = {
      REQUEST_METHOD: 'POST',
      REQUEST_SCHEME: 'https',
      REQUEST_URI: '/s/a b',
      DOCUMENT_URI: '/s/a b',
      REQUEST_FILENAME: '/srv/www/s/a b',
      SCRIPT_FILENAME: '/srv/www/s/a b',
      QUERY_STRING: 'q=1&r',
      THE_REQUEST: 'POST /s/a%20b?q=1&r HTTP/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '192.0.2.7',
      REMOTE_HOST: '192.0.2.7',
      CONN_REMOTE_ADDR: '192.0.2.7',
      REMOTE_USER: 'alice',
      AUTH_TYPE: 'Basic',
      HTTPS: 'on',
      IPV6: 'off',
      SERVER_NAME: 'www.example.org',
      SERVER_PORT: '8443',
      DOCUMENT_ROOT: '',
      IS_SUBREQ: 'false',
      HTTP_HOST: 'www.example.org:8443',
      HTTP_USER_AGENT: 'ua/1',
      HTTP_REFERER: 'https://r.example/',
      HTTP_COOKIE: 'c=1',
      HTTP_ACCEPT: 'text/html',
      HTTP_FORWARDED: 'for=192.0.2.9',
      HTTP_PROXY_CONNECTION: 'keep-alive',
    };
    for (const [name, value] of Object.entries(expected)) expect(str(`%{${name}}`, init), name).toBe(value);
  });

  it('reads missing values as empty', () => {
    const bare = { headers: {} };
    for (const name of ['REMOTE_USER', 'AUTH_TYPE', 'REQUEST_FILENAME', 'QUERY_STRING', 'HTTP_USER_AGENT']) {
      expect(str(`%{${name}}`, bare), name).toBe('');
    }
  });

  it('derives SERVER_NAME and SERVER_PORT as httpd with UseCanonicalName Off', () => {
    expect(str('%{SERVER_NAME}:%{SERVER_PORT}', { headers: { host: 'WWW.Example.ORG.' } })).toBe('www.example.org:80');
    expect(str('%{SERVER_NAME}:%{SERVER_PORT}', { headers: { host: '[::1]:8080' } })).toBe('[::1]:8080');
    expect(str('%{SERVER_NAME}:%{SERVER_PORT}', { tls: true, localAddress: '::1' })).toBe('[::1]:443');
    expect(str('%{SERVER_NAME}', { localAddress: '10.0.0.1' })).toBe('10.0.0.1');
  });

  it('takes DOCUMENT_ROOT and the protocol from the server info, DOCUMENT_URI from the env', () => {
    const ctx = requestExprContext(fakeRequest({ env: { DOCUMENT_URI: '/index.shtml' } }), { documentRoot: '/srv/www', protocol: 'HTTP/1.0' });
    expect(evaluateStringExpr(parseStringExpr('%{DOCUMENT_ROOT} %{SERVER_PROTOCOL} %{THE_REQUEST} %{DOCUMENT_URI}'), ctx)).toBe(
      '/srv/www HTTP/1.0 GET / HTTP/1.0 /index.shtml',
    );
  });

  it('reports IPV6 for IPv6 clients', () => {
    expect(str('%{IPV6}', { remoteAddress: '2001:db8::1' })).toBe('on');
  });
});

describe('TIME variables (frozen clock, local time)', () => {
  it('formats the clock as httpd does', () => {
    expect(str('%{TIME_YEAR}-%{TIME_MON}-%{TIME_DAY} %{TIME_HOUR}:%{TIME_MIN}:%{TIME_SEC} %{TIME_WDAY}')).toBe('2024-01-15 09:30:05 1');
    expect(str('%{TIME}')).toBe('20240115093005');
    expect(str('%{TIME_WDAY}', {}, new Date(2024, 0, 14, 12).getTime())).toBe('0');
  });

  it('reads the clock once per evaluation', () => {
    let calls = 0;
    const ctx = requestExprContext(fakeRequest(), { now: () => (calls++, NOW) });
    evaluateExpr(parseExpr('%{TIME_HOUR} -ge 9 && %{TIME_MIN} -ge 0 && %{TIME} != %{TIME_SEC}'), ctx);
    expect(calls).toBe(1);
  });

  it('answers the manual office-hours example', () => {
    const officeHours = '%{TIME_HOUR} -ge 9 && %{TIME_HOUR} -le 17';
    expect(run(officeHours, {}, new Date(2024, 0, 15, 9, 0).getTime())).toBe(true);
    expect(run(officeHours, {}, new Date(2024, 0, 15, 17, 59).getTime())).toBe(true);
    expect(run(officeHours, {}, new Date(2024, 0, 15, 8, 59).getTime())).toBe(false);
    expect(run(officeHours, {}, new Date(2024, 0, 15, 18, 0).getTime())).toBe(false);
  });
});

describe('string expressions', () => {
  it('join text, variables and functions', () => {
    expect(str('user=%{REMOTE_USER};ua=%{tolower:%{HTTP_USER_AGENT}}', { user: 'bob', headers: { 'user-agent': 'UA' } })).toBe('user=bob;ua=ua');
    expect(str('"quoted" $1 50%')).toBe('"quoted"  50%');
  });
});

describe('recursion limit', () => {
  it('fails past httpd nesting depth, as httpd does (AP_EXPR_MAX_RECURSION)', () => {
    const nest = (n: number, inner: string): string => (n === 0 ? inner : `tolower(${nest(n - 1, inner)})`);
    expect(run(`${nest(18, "'x'")} == 'x'`)).toBe(true);
    expect(run(`${nest(17, "'a' . 'b'")} == 'ab'`)).toBe(true);
    let caught: unknown;
    try {
      run(`${nest(19, "'x'")} == 'x'`);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AuthTsError);
    expect((caught as AuthTsError).code).toBe('EXPR_EVAL');
    expect((caught as AuthTsError).message).toBe('Recursion limit reached');
    expect(() => run(`${nest(18, "'a' . 'b'")} == 'ab'`)).toThrow('Recursion limit reached');
  });

  it('does not count long && / || chains or ! runs as nesting', () => {
    expect(run(`${Array(40).fill('false').join(' || ')} || true`)).toBe(true);
    expect(run(`true${' || false'.repeat(39)}`)).toBe(true);
    expect(run(Array(40).fill('true').join(' && '))).toBe(true);
    expect(run(`${'!'.repeat(40)}true`)).toBe(true);
  });
});

describe('header text', () => {
  it('reads UTF-8 header bytes (latin1 in Node) as the UTF-8 text the config is written in', () => {
    expect(run("%{HTTP:X-Name} == 'José'", { headers: { 'x-name': 'Jos\u00c3\u00a9' } })).toBe(true);
    // Bytes that are not UTF-8 stay one character per byte.
    expect(str('%{HTTP:X-Name}', { headers: { 'x-name': 'Jos\u00e9' } })).toBe('Jos\u00e9');
  });
});
