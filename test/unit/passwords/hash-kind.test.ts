import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashKind } from '../../../src/passwords/index.js';
import { argon2Params, bcryptCost, md5Setting, shaCryptParams, shaCryptSetting } from '../../../src/passwords/hash-kind.js';

describe('hashKind', () => {
  const table: [string, ReturnType<typeof hashKind>][] = [
    ['$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/', 'apr1'],
    ['$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1', 'md5'],
    ['$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC', 'bcrypt'],
    ['$2a$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW', 'bcrypt'],
    ['$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW', 'bcrypt'],
    ['$5$tDLJcKxwiJi0uQqn$djQGIw5UiFBF60J7JbWUWneNbH.7pRHEfprtYT9Zps2', 'sha256'],
    ['$6$rounds=10000$abc$def', 'sha512'],
    ['rqXexS6ZhobKA', 'des'],
    ['{SHA}VBPuJHI7uixaa6LQGWx4s+5GKNE=', 'sha1'],
    ['$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaA', 'argon2'],
    ['$argon2i$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaA', 'argon2'],
    ['$y$j9T$salt$hash', 'unsupported'],
    ['$2x$05$abc', 'unsupported'],
    ['_J9..abcd/H6HLCcf7nw', 'unsupported'],
    ['password', 'plain'],
    ['', 'plain'],
    ['$apr1', 'plain'],
    ['rqXexS6ZhobK', 'plain'],
  ];
  for (const [stored, kind] of table) {
    it(`${JSON.stringify(stored)} → ${kind}`, () => {
      expect(hashKind(stored)).toBe(kind);
    });
  }
});

describe('hash parameters', () => {
  it('md5Setting keeps at most 8 salt characters, up to the next $', () => {
    expect(md5Setting('$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/')).toBe('$apr1$r31.....');
    expect(md5Setting('$1$abcdefghijk$xyz')).toBe('$1$abcdefgh');
    expect(md5Setting('$1$ab$xyz')).toBe('$1$ab');
    expect(md5Setting('$apr1$')).toBe('$apr1$');
  });

  it('shaCryptParams reads rounds only when digits end in $, salt up to 16 characters', () => {
    expect(shaCryptParams('$5$rounds=10000$abc$def')).toEqual({ id: '5', rounds: 10000, salt: 'abc' });
    expect(shaCryptParams('$6$abcdefghijklmnopqrst$def')).toEqual({ id: '6', rounds: undefined, salt: 'abcdefghijklmnop' });
    expect(shaCryptParams('$6$rounds=x$def')).toEqual({ id: '6', rounds: undefined, salt: 'rounds=x' });
    expect(shaCryptSetting({ id: '5', rounds: 10000, salt: 'abc' })).toBe('$5$rounds=10000$abc');
    expect(shaCryptSetting({ id: '6', rounds: undefined, salt: 'abc' })).toBe('$6$abc');
  });

  it('bcryptCost reads the two-digit cost', () => {
    expect(bcryptCost('$2y$05$abc')).toBe(5);
    expect(bcryptCost('$2b$12$abc')).toBe(12);
    expect(bcryptCost('$2y$5$abc')).toBeUndefined();
  });

  it('argon2Params reads a PHC string in any parameter order', () => {
    expect(argon2Params('$argon2id$v=19$m=1024,p=1,t=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA')).toEqual({
      type: 'argon2id',
      version: 19,
      memoryCost: 1024,
      timeCost: 2,
      parallelism: 1,
      saltLength: 16,
      hashLength: 16,
    });
    expect(argon2Params('$argon2id$v=19$m=1024$c2FsdA$aGFzaA')).toBeUndefined();
    expect(argon2Params('$argon2id$garbage')).toBeUndefined();
  });
});

describe('constantTimeEqual', () => {
  it('is true only for identical strings, whatever the lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('abcd', 'abc')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual('é', 'e\u0301')).toBe(false);
  });
});
