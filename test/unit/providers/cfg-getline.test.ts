import { describe, expect, it } from 'vitest';
import { cfgLines, MAX_STRING_LEN } from '../../../src/providers/cfg-getline.js';
import { getWord, getWordConf, splitConfWords } from '../../../src/providers/getword.js';

describe('cfgLines (ap_cfg_getline)', () => {
  it('trims surrounding whitespace and CR, keeps blank lines as empty strings', () => {
    expect(cfgLines('  alice:x  \r\n\n\t# c\nbob:y', MAX_STRING_LEN)).toEqual({
      lines: ['alice:x', '', '# c', 'bob:y'],
      tooLongAt: undefined,
    });
  });

  it('joins a line ending in a backslash with the next one', () => {
    expect(cfgLines('g: a \\\n b\\\r\n c\nh: d\n', MAX_STRING_LEN).lines).toEqual(['g: a  b c', 'h: d']);
  });

  it('keeps a backslash that is not right before the newline, or on a last line without newline', () => {
    expect(cfgLines('a\\ \nb\\', MAX_STRING_LEN).lines).toEqual(['a\\', 'b\\']);
  });

  it('drops a backslash continuation into the end of the file', () => {
    expect(cfgLines('a\\\n', MAX_STRING_LEN).lines).toEqual(['a']);
  });

  it('ends a line at a NUL byte, as a C string does', () => {
    expect(cfgLines('alice\0junk:x\nbob:y\n', MAX_STRING_LEN).lines).toEqual(['alice', 'bob:y']);
  });

  it('stops reading at a line too long for the buffer', () => {
    const ok = 'a'.repeat(MAX_STRING_LEN - 2);
    const tooLong = 'b'.repeat(MAX_STRING_LEN - 1);
    expect(cfgLines(`${ok}\nx\n`, MAX_STRING_LEN)).toEqual({ lines: [ok, 'x'], tooLongAt: undefined });
    expect(cfgLines(`x\n${tooLong}\ny\n`, MAX_STRING_LEN)).toEqual({ lines: ['x'], tooLongAt: 2 });
    // Counted in UTF-8 bytes: 4095 × 'é' is 8190 bytes (fits), 4096 × 'é' is 8192 (does not).
    expect(cfgLines(`${'é'.repeat(4095)}\n`, MAX_STRING_LEN).tooLongAt).toBeUndefined();
    expect(cfgLines(`${'é'.repeat(4096)}\n`, MAX_STRING_LEN).tooLongAt).toBe(1);
  });
});

describe('getWord (ap_getword)', () => {
  it('splits at the first stop character and skips repeated ones', () => {
    expect(getWord('alice:hash:extra', ':')).toEqual({ word: 'alice', rest: 'hash:extra' });
    expect(getWord('alice::hash', ':')).toEqual({ word: 'alice', rest: 'hash' });
    expect(getWord('alice', ':')).toEqual({ word: 'alice', rest: '' });
    expect(getWord(':hash', ':')).toEqual({ word: '', rest: 'hash' });
  });
});

describe('getWordConf (ap_getword_conf)', () => {
  it('reads bare and quoted words and unescapes like httpd', () => {
    expect(getWordConf('  bob  carol')).toEqual({ word: 'bob', rest: 'carol' });
    expect(getWordConf('"Jane Doe" x')).toEqual({ word: 'Jane Doe', rest: 'x' });
    expect(getWordConf("'it''s'")).toEqual({ word: 'it', rest: "'s'" });
    expect(getWordConf('"say \\"hi\\"" x')).toEqual({ word: 'say "hi"', rest: 'x' });
    expect(getWordConf('a\\\\b')).toEqual({ word: 'a\\b', rest: '' });
    expect(getWordConf('"unterminated')).toEqual({ word: 'unterminated', rest: '' });
    expect(getWordConf('   ')).toEqual({ word: '', rest: '' });
  });

  it('splitConfWords reads every word', () => {
    expect(splitConfWords(' alice "Jane Doe"  \'x y\' bob ')).toEqual(['alice', 'Jane Doe', 'x y', 'bob']);
    expect(splitConfWords('')).toEqual([]);
    expect(splitConfWords('""')).toEqual(['']);
  });
});
