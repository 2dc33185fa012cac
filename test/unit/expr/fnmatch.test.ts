// apr_fnmatch semantics behind -strmatch / -strcmatch / -fnmatch.
import { describe, expect, it } from 'vitest';
import { fnmatch } from '../../../src/expr/fnmatch.js';

const plain = { pathname: false, caseBlind: false };
const path = { pathname: true, caseBlind: false };
const blind = { pathname: false, caseBlind: true };

describe('fnmatch', () => {
  it('matches literals, ? and *', () => {
    expect(fnmatch('abc', 'abc', plain)).toBe(true);
    expect(fnmatch('abc', 'abd', plain)).toBe(false);
    expect(fnmatch('a?c', 'abc', plain)).toBe(true);
    expect(fnmatch('a?c', 'ac', plain)).toBe(false);
    expect(fnmatch('*', '', plain)).toBe(true);
    expect(fnmatch('a*', 'a', plain)).toBe(true);
    expect(fnmatch('*c', 'abc', plain)).toBe(true);
    expect(fnmatch('a*b*c', 'axxbyyc', plain)).toBe(true);
    expect(fnmatch('a*b*c', 'axxbyy', plain)).toBe(false);
    expect(fnmatch('a**c', 'abc', plain)).toBe(true);
    expect(fnmatch('', '', plain)).toBe(true);
    expect(fnmatch('', 'a', plain)).toBe(false);
  });

  it('matches brackets: sets, ranges, negation, ] first, unclosed [ as literal', () => {
    expect(fnmatch('[abc]', 'b', plain)).toBe(true);
    expect(fnmatch('[a-c]x', 'bx', plain)).toBe(true);
    expect(fnmatch('[a-c]', 'd', plain)).toBe(false);
    expect(fnmatch('[!a-c]', 'd', plain)).toBe(true);
    expect(fnmatch('[^a-c]', 'a', plain)).toBe(false);
    expect(fnmatch('[]]', ']', plain)).toBe(true);
    expect(fnmatch('[a-]', '-', plain)).toBe(true);
    expect(fnmatch('[\\]]', ']', plain)).toBe(true);
    expect(fnmatch('a[b', 'a[b', plain)).toBe(true);
    expect(fnmatch('a[b', 'ab', plain)).toBe(false);
  });

  it('honours backslash escapes', () => {
    expect(fnmatch('a\\*c', 'a*c', plain)).toBe(true);
    expect(fnmatch('a\\*c', 'abc', plain)).toBe(false);
    expect(fnmatch('a\\', 'a\\', plain)).toBe(true);
  });

  it('keeps / out of wildcards with pathname', () => {
    expect(fnmatch('a*', 'a/b', plain)).toBe(true);
    expect(fnmatch('a*', 'a/b', path)).toBe(false);
    expect(fnmatch('a/*', 'a/b', path)).toBe(true);
    expect(fnmatch('*/*', 'a/b', path)).toBe(true);
    expect(fnmatch('*/*', 'a/b/c', path)).toBe(false);
    expect(fnmatch('a?b', 'a/b', path)).toBe(false);
    expect(fnmatch('a[/]b', 'a/b', path)).toBe(false);
    expect(fnmatch('*', '.hidden', path)).toBe(true);
  });

  it('folds ASCII case when case-blind', () => {
    expect(fnmatch('a*', 'ABC', blind)).toBe(true);
    expect(fnmatch('[a-c]BC', 'abc', blind)).toBe(true);
    expect(fnmatch('[A-C]bc', 'abc', blind)).toBe(true);
    expect(fnmatch('é', 'É', blind)).toBe(false);
  });
});
