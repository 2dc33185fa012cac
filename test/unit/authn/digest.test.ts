/**
 * The pieces of `AuthType Digest`: parsing credentials, the RFC 7616 hashes (its §3.9.1 test
 * vectors), nonces signed with a secret, and the nonce-count store.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_DIGEST_HEADER, parseAuthParams, parseDigestHeader } from '../../../src/authn/digest-header.js';
import { digestResponse, digestRspauth, realmHash, sameHex } from '../../../src/authn/digest-hash.js';
import { createMemoryNonceStore, issueNonce, nonceIssuedAt } from '../../../src/authn/digest-nonce.js';

const GOOD = 'Digest username="alice", realm="Private Area", nonce="abc", uri="/private/a.txt", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz", opaque="0a1b"';

function refused(header: string): { status: number; reason: string } {
  const parsed = parseDigestHeader(header);
  if (parsed.ok) throw new Error(`expected ${header} to be refused`);
  return { status: parsed.status, reason: parsed.reason };
}

describe('parseDigestHeader', () => {
  it('reads every field, unquoted', () => {
    const parsed = parseDigestHeader(GOOD);
    expect(parsed).toEqual({
      ok: true,
      credentials: {
        username: 'alice',
        realm: 'Private Area',
        nonce: 'abc',
        uri: '/private/a.txt',
        response: '0123456789abcdef0123456789abcdef',
        algorithm: 'MD5',
        opaque: '0a1b',
        qop: 'auth',
        cnonce: 'xyz',
        nc: '00000001',
        userhash: false,
      },
    });
  });

  it('takes the scheme case-insensitively, names case-insensitively, and tolerates spaces and empty list elements', () => {
    const parsed = parseDigestHeader('dIgEsT  USERNAME = "alice" ,, Realm="r",nonce="n" , uri="/", response="ab"  ,');
    expect(parsed.ok && parsed.credentials).toMatchObject({ username: 'alice', realm: 'r', nonce: 'n', uri: '/', response: 'ab' });
  });

  it('unescapes quoted-pairs: a user with " and \\', () => {
    const parsed = parseDigestHeader(String.raw`Digest username="a\"b\\c", realm="r", nonce="n", uri="/", response="ab"`);
    expect(parsed.ok && parsed.credentials.username).toBe('a"b\\c');
  });

  it('keeps commas and = inside quoted values', () => {
    const parsed = parseDigestHeader('Digest username="smith, john", realm="a=b, c", nonce="n", uri="/x?a=1,2", response="ab"');
    expect(parsed.ok && parsed.credentials).toMatchObject({ username: 'smith, john', realm: 'a=b, c', uri: '/x?a=1,2' });
  });

  it('decodes UTF-8 user names, sent as bytes or as username*', () => {
    const bytes = Buffer.from('jörg', 'utf8').toString('latin1');
    const plain = parseDigestHeader(`Digest username="${bytes}", realm="r", nonce="n", uri="/", response="ab"`);
    expect(plain.ok && plain.credentials.username).toBe('jörg');
    const extended = parseDigestHeader("Digest username*=UTF-8''j%C3%B6rg, realm=\"r\", nonce=\"n\", uri=\"/\", response=\"ab\"");
    expect(extended.ok && extended.credentials.username).toBe('jörg');
  });

  it('answers another scheme with 401 (a new challenge)', () => {
    expect(refused('Basic YWxpY2U6eA==')).toEqual({ status: 401, reason: 'client used wrong authentication scheme' });
    expect(refused('Digestion username="a"').status).toBe(401);
  });

  it.each([
    ['username', 'missing user, realm, nonce, uri or response in the credentials'],
    ['realm', 'missing user, realm, nonce, uri or response in the credentials'],
    ['nonce', 'missing user, realm, nonce, uri or response in the credentials'],
    ['uri', 'missing user, realm, nonce, uri or response in the credentials'],
    ['response', 'missing user, realm, nonce, uri or response in the credentials'],
    ['cnonce', 'qop given without cnonce and nc'],
    ['nc', 'qop given without cnonce and nc'],
  ])('a header without %s is a 400', (field, reason) => {
    const header = GOOD.replace(new RegExp(`(, )?\\b${field}=("[^"]*"|[^,]*)`), '');
    expect(header).not.toMatch(new RegExp(`\\b${field}=`));
    expect(refused(header)).toEqual({ status: 400, reason });
  });

  it.each([
    ['a duplicated parameter', `${GOOD}, uri="/other"`, 'parameter uri given more than once'],
    ['a duplicated parameter in another case', `${GOOD}, Realm="x"`, 'parameter realm given more than once'],
    ['an unterminated quote', 'Digest username="alice", realm="r, nonce=n', 'malformed Digest credentials: unterminated quoted value of realm'],
    ['a name without value', 'Digest username, realm="r"', 'malformed Digest credentials: parameter username has no value'],
    ['garbage after a value', 'Digest username="a" x, realm="r"', 'malformed Digest credentials: garbage after the value of username'],
    ['a bare separator', 'Digest =x', 'malformed Digest credentials: unexpected character at offset 1'],
    ['an nc that is not 8 hex digits', GOOD.replace('nc=00000001', 'nc=1'), 'nc is not 8 hex digits'],
    ['a response that is not hex', GOOD.replace('response="0123456789abcdef0123456789abcdef"', 'response="zz"'), 'response is not hex'],
    ['username and username*', `${GOOD}, username*=UTF-8''x`, 'both username and username* given'],
    ['a username* that is not UTF-8', "Digest username*=ISO-8859-1''x, realm=\"r\", nonce=\"n\", uri=\"/\", response=\"ab\"", "username* is not UTF-8''percent-encoded UTF-8"],
    ['a user name that is not UTF-8', 'Digest username="\u00ff", realm="r", nonce="n", uri="/", response="ab"', 'username is not UTF-8'],
    ['a control character', 'Digest username="a\u0000b", realm="r", nonce="n", uri="/", response="ab"', 'control characters in the header'],
    ['a line break', 'Digest username="a\nb", realm="r", nonce="n", uri="/", response="ab"', 'control characters in the header'],
    ['a huge header', `${GOOD}, cnonce2="${'x'.repeat(MAX_DIGEST_HEADER)}"`, `credentials longer than ${MAX_DIGEST_HEADER} bytes`],
  ])('%s is a 400', (_name, header, reason) => {
    expect(refused(header)).toEqual({ status: 400, reason });
  });

  it('parseAuthParams lower-cases names and keeps values as sent', () => {
    expect(parseAuthParams(' A="x\\"y", b=Tok')).toEqual([
      { name: 'a', value: 'x"y' },
      { name: 'b', value: 'Tok' },
    ]);
  });
});

describe('RFC 7616 §3.9.1 test vectors', () => {
  const nonce = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
  const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
  const input = { method: 'GET', uri: '/dir/index.html', nonce, qop: 'auth', nc: '00000001', cnonce } as const;

  it('MD5', () => {
    const ha1 = realmHash('md5', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(digestResponse(ha1, { ...input, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('SHA-256', () => {
    const ha1 = realmHash('sha256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(digestResponse(ha1, { ...input, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('the stored HA1 is what Apache htdigest writes', () => {
    // `htdigest -c users "Private Area" alice` with password alice-pw wrote this line.
    expect(realmHash('md5', 'alice', 'Private Area', 'alice-pw')).toBe('113917e31a49f8306673ae21820ee02f');
  });

  it('-sess: HA1 becomes H(HA1:nonce:cnonce); without qop the response is H(HA1:nonce:HA2)', () => {
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    const ha1 = md5('u:r:p');
    const ha2 = md5('GET:/x');
    const sess = md5(`${ha1}:n:c`);
    expect(digestResponse(ha1, { algorithm: 'MD5-sess', method: 'GET', uri: '/x', nonce: 'n', qop: 'auth', nc: '00000001', cnonce: 'c' })).toBe(
      md5(`${sess}:n:00000001:c:auth:${ha2}`),
    );
    expect(digestResponse(ha1, { algorithm: 'MD5', method: 'GET', uri: '/x', nonce: 'n', qop: undefined, nc: undefined, cnonce: undefined })).toBe(md5(`${ha1}:n:${ha2}`));
    expect(digestRspauth(ha1, { algorithm: 'MD5', method: 'GET', uri: '/x', nonce: 'n', qop: 'auth', nc: '00000001', cnonce: 'c' })).toBe(
      md5(`${ha1}:n:00000001:c:auth:${md5(':/x')}`),
    );
  });

  it('sameHex is true only for the same text, whatever the length', () => {
    expect(sameHex('ab12', 'ab12')).toBe(true);
    expect(sameHex('ab13', 'ab12')).toBe(false);
    expect(sameHex('AB12', 'ab12')).toBe(false);
    expect(sameHex('ab1', 'ab12')).toBe(false);
    expect(sameHex('', 'ab12')).toBe(false);
  });
});

describe('nonces', () => {
  const secret = Buffer.alloc(32, 7);
  const binding = { realm: 'Private', opaque: '0a1b', algorithm: 'MD5' };

  it('carry their issue time and are checked against the secret and what they are bound to', () => {
    const nonce = issueNonce(secret, 1_700_000_000_123, binding);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(nonceIssuedAt(secret, nonce, binding)).toBe(1_700_000_000_123);
    expect(nonceIssuedAt(Buffer.alloc(32, 8), nonce, binding)).toBeUndefined();
    expect(nonceIssuedAt(secret, nonce, { ...binding, realm: 'Other' })).toBeUndefined();
    expect(nonceIssuedAt(secret, nonce, { ...binding, opaque: '0a1c' })).toBeUndefined();
    expect(nonceIssuedAt(secret, nonce, { ...binding, algorithm: 'SHA-256' })).toBeUndefined();
  });

  it('are unique, and a changed byte or a malformed one is refused', () => {
    const a = issueNonce(secret, 1000, binding);
    const b = issueNonce(secret, 1000, binding);
    expect(a).not.toBe(b);
    const flipped = `${a.slice(0, 5)}${a[5] === 'A' ? 'B' : 'A'}${a.slice(6)}`;
    expect(nonceIssuedAt(secret, flipped, binding)).toBeUndefined();
    expect(nonceIssuedAt(secret, a.slice(1), binding)).toBeUndefined();
    expect(nonceIssuedAt(secret, `${a.slice(1)}=`, binding)).toBeUndefined();
    expect(nonceIssuedAt(secret, '', binding)).toBeUndefined();
  });
});

describe('the in-process nonce-count store', () => {
  it('accepts increasing counts and refuses a count that does not increase', async () => {
    const store = createMemoryNonceStore(10);
    expect(await store.use('n1', 1, 1, false)).toBe('ok');
    expect(await store.use('n1', 1, 1, false)).toBe('replay');
    expect(await store.use('n1', 1, 3, false)).toBe('ok');
    expect(await store.use('n1', 1, 2, false)).toBe('replay');
    expect(await store.use('n2', 1, 1, false)).toBe('ok');
  });

  it('accepts a one-time nonce once', async () => {
    const store = createMemoryNonceStore(10);
    expect(await store.use('n1', 1, 1, true)).toBe('ok');
    expect(await store.use('n1', 1, 2, true)).toBe('replay');
  });

  it('forgets the least recently used nonces, and never trusts a nonce as old as a forgotten one', async () => {
    const store = createMemoryNonceStore(2);
    expect(await store.use('a', 100, 1, false)).toBe('ok');
    expect(await store.use('b', 200, 1, false)).toBe('ok');
    expect(await store.use('a', 100, 2, false)).toBe('ok'); // a is now the most recent
    expect(await store.use('c', 300, 1, false)).toBe('ok'); // b (issued at 200) is forgotten
    expect(await store.use('b', 200, 1, false)).toBe('forgotten'); // a replay of b's count 1 is not accepted
    expect(await store.use('x', 150, 1, false)).toBe('forgotten'); // never seen, but as old as a forgotten one
    expect(await store.use('d', 400, 1, false)).toBe('ok'); // newer: a nonce never seen
    await store.close();
    expect(await store.use('e', 500, 1, false)).toBe('ok');
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => createMemoryNonceStore(0)).toThrow(TypeError);
    expect(() => createMemoryNonceStore(1.5)).toThrow('maxEntries must be an integer >= 1');
  });
});
