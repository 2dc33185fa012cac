// PCRE → JavaScript translation. Behaviour of the translated forms was checked against
// Apache/2.4.71 where it can be observed through `Require expr`.
import { describe, expect, it } from 'vitest';
import { compileRegex, RegexError } from '../../../src/expr/regex.js';

function matches(pattern: string, text: string, ci = false): boolean {
  return compileRegex(pattern, ci).regex.test(text);
}

function refused(pattern: string): string {
  try {
    compileRegex(pattern, false);
  } catch (err) {
    expect(err).toBeInstanceOf(RegexError);
    return (err as Error).message;
  }
  throw new Error(`expected ${pattern} to be refused`);
}

describe('compileRegex', () => {
  it('uses DOTALL and DOLLAR_ENDONLY, as httpd 2.4 does by default', () => {
    expect(matches('^a.b$', 'a\nb')).toBe(true);
    expect(matches('^a$', 'a\n')).toBe(false);
    expect(compileRegex('x', false).regex.flags).toBe('s');
    expect(compileRegex('x', true).regex.flags).toBe('is');
  });

  it('counts capturing groups', () => {
    expect(compileRegex('a', false).groups).toBe(0);
    expect(compileRegex('(a)(?:b)(?<n>c)(?=d)', false).groups).toBe(2);
    expect(compileRegex('[(]\\(', false).groups).toBe(0);
  });

  it('translates anchors and PCRE escapes', () => {
    expect(matches('\\Aab\\z', 'ab')).toBe(true);
    expect(matches('\\Aab\\z', 'ab\n')).toBe(false);
    expect(matches('ab\\Z', 'ab\n')).toBe(true);
    expect(matches('ab\\Z', 'ab\n\n')).toBe(false);
    expect(matches('^\\e\\a$', '\x1b\x07')).toBe(true);
    expect(matches('^a\\Nb$', 'a\nb')).toBe(false);
    expect(matches('^a\\Nb$', 'a-b')).toBe(true);
    expect(matches('^\\R$', '\r\n')).toBe(true);
    expect(matches('^\\v$', '\x85')).toBe(true);
    expect(matches('^\\V$', '\n')).toBe(false);
    expect(matches('^\\h\\H$', '\tx')).toBe(true);
    expect(matches('^\\x41\\x{42}\\x9$', 'AB\t')).toBe(true);
    expect(matches('^\\x$', '\0')).toBe(true);
    expect(matches('^a\\Q.*\\Eb$', 'a.*b')).toBe(true);
    expect(matches('^a\\Q.*\\Eb$', 'aXXb')).toBe(false);
    expect(matches('^[\\Q]^\\E]+$', ']^]')).toBe(true);
    expect(matches('^\\cA$', '\x01')).toBe(true);
  });

  it('narrows \\s to the ASCII set PCRE uses', () => {
    expect(matches('^\\s$', '\x0b')).toBe(true);
    expect(matches('^\\s$', '\u00a0')).toBe(false);
    expect(matches('^[\\s]$', '\u2028')).toBe(false);
    expect(matches('^\\S$', '\u00a0')).toBe(true);
  });

  it('translates POSIX classes and a leading ] in a class', () => {
    expect(matches('^[[:alpha:][:digit:]_]+$', 'ab_12')).toBe(true);
    expect(matches('^[[:upper:]]$', 'a')).toBe(false);
    expect(matches('^[[:upper:]]$', 'a', true)).toBe(true);
    expect(matches('^[[:punct:]]+$', '!/:@[`{~')).toBe(true);
    expect(matches('^[[:xdigit:]]+$', '0fA9')).toBe(true);
    expect(matches('^[[:space:][:blank:]]+$', ' \t\n')).toBe(true);
    expect(matches('^[]a]+$', ']a]')).toBe(true);
    expect(matches('^[^]a]$', 'b')).toBe(true);
    expect(matches('^[^]a]$', ']')).toBe(false);
    expect(matches('^[[]$', '[')).toBe(true);
  });

  it('translates Python-style named groups, comments and a leading (?i)', () => {
    expect(matches('^(?P<w>a)(?P=w)$', 'aa')).toBe(true);
    expect(matches("^(?'w'a)\\k{w}$", 'aa')).toBe(true);
    expect(matches('^a(?# a comment )b$', 'ab')).toBe(true);
    expect(matches('(?i)^ABC$', 'abc')).toBe(true);
  });

  it('refuses what it cannot translate faithfully', () => {
    expect(refused('(?>a)')).toBe('atomic group (?>…) is not supported by authts');
    expect(refused('(?|a)')).toBe('branch reset group (?|…) is not supported by authts');
    expect(refused('(?(1)a|b)')).toBe('conditional group (?(…)…) is not supported by authts');
    expect(refused('(a(?R))')).toBe('recursion (?R) is not supported by authts');
    expect(refused('a(?i)b')).toBe('inline option group (?…) other than a leading (?i) is not supported by authts');
    expect(refused('\\p{L}')).toBe('\\p is not supported by authts');
    expect(refused('a\\Kb')).toBe('\\K is not supported by authts');
    expect(refused('\\G')).toBe('\\G is not supported by authts');
    expect(refused('\\x{100}')).toBe('character code point value in \\x{100} is too large');
    expect(refused('[[:^alpha:]]')).toBe('negated POSIX class [:^alpha:] is not supported by authts');
    expect(refused('[[=a=]]')).toBe('POSIX collating element [=a=] is not supported by authts');
    expect(refused('\\i')).toBe('unrecognized character follows \\: \\i');
    expect(refused('[\\A]')).toBe('unrecognized character follows \\: \\A (in a character class)');
    expect(refused('a\\')).toBe('\\ at end of pattern');
    expect(refused('a++')).toMatch(/Nothing to repeat/);
    expect(refused('(a')).toMatch(/Unterminated group/);
  });
});
