/**
 * The lexical layer of httpd-style configuration files: physical lines into logical lines
 * (httpd's `ap_cfg_getline`) and logical lines into words (httpd's `ap_getword_conf`).
 *
 * Behaviour checked against Apache 2.4.71 (`apache2 -t`, see test/unit/config/parse.httpd.test.ts):
 * - a `\` immediately before the line end (LF or CRLF) joins the next physical line, which
 *   keeps its leading whitespace; `\` followed by a space does not continue; a `\` on the last
 *   line without a newline stays literal;
 * - `#` starts a comment only as the first non-blank character, and a comment line ending in `\`
 *   swallows the next line;
 * - `"a\"b"` is `a"b`, `'a\'b'` is `a'b`, `\\` is `\` inside and outside quotes, `a\"b` unquoted
 *   stays `a\"b`; a closing quote ends the word even without a following blank (`"a"b` is two
 *   words); an unterminated quote runs to the end of the line without error.
 */

/** One logical line: continuation lines joined, trimmed, never blank, never a comment. */
export interface LogicalLine {
  /** The text, leading and trailing whitespace removed. */
  readonly text: string;
  /** 1-based number of the first physical line (httpd reports the last one; see the parser). */
  readonly line: number;
}

/** One word as `ap_getword_conf` reads it. */
export interface Word {
  /** The word, quotes removed and `\\`, `\"`/`\'` unescaped. */
  readonly value: string;
  /** Index in the input just after the word and the blanks that follow it. */
  readonly end: number;
  /** True when the word opened a quote that the line never closed. */
  readonly unterminated: boolean;
}

/** `apr_isspace`: C `isspace` in the C locale. */
const SPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && SPACE.has(ch);
}

/**
 * Trims C whitespace only (`String#trim` also strips Unicode blanks, httpd does not).
 *
 * @example
 * ```ts
 * trimSpace('\t a b \r'); // → 'a b'
 * trimSpace('\u00a0x');   // → '\u00a0x'
 * ```
 */
export function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return text.slice(start, end);
}

/**
 * Splits a file's text into logical lines as httpd's `ap_varbuf_cfg_getline` does, then drops
 * blank lines and comment lines (httpd's `ap_build_config_sub` ignores a line whose first character
 * is `#`). A UTF-8 byte-order mark at the start is dropped (httpd on Unix would not).
 *
 * @example
 * ```ts
 * logicalLines('# c\nAuthName "x" \\\n  y\n');
 * // → [{ text: 'AuthName "x"   y', line: 2 }]
 * ```
 */
export function logicalLines(text: string): LogicalLine[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const physical = source.split('\n');
  const out: LogicalLine[] = [];
  let i = 0;
  while (i < physical.length) {
    const first = i + 1;
    let joined = '';
    for (;;) {
      let part = physical[i] ?? '';
      const hasNewline = i < physical.length - 1;
      i++;
      if (hasNewline) {
        if (part.endsWith('\r')) part = part.slice(0, -1);
        if (part.endsWith('\\')) {
          joined += part.slice(0, -1);
          if (i < physical.length) continue;
        }
      }
      joined += part;
      break;
    }
    const trimmed = trimSpace(joined);
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    out.push({ text: trimmed, line: first });
  }
  return out;
}

/**
 * Reads one word starting at `start`, exactly as httpd's `ap_getword_conf`: leading blanks are
 * skipped; a word starting with `"` or `'` runs to the matching quote (a backslash escapes only the
 * quote character and itself) and the quotes are removed; any other word runs to the next blank,
 * with `\\` unescaped. At the end of the input the word is `''` (check `end` against the length
 * to tell it from a quoted empty word).
 *
 * @example
 * ```ts
 * readWord('"a b" c', 0); // → { value: 'a b', end: 6, unterminated: false }
 * ```
 */
export function readWord(text: string, start = 0): Word {
  let pos = start;
  while (isSpace(text[pos])) pos++;
  if (pos >= text.length) return { value: '', end: pos, unterminated: false };

  const quote = text[pos];
  let value = '';
  let unterminated = false;
  if (quote === '"' || quote === "'") {
    pos++;
    while (pos < text.length && text[pos] !== quote) {
      const next = text[pos + 1];
      if (text[pos] === '\\' && (next === quote || next === '\\')) {
        value += next;
        pos += 2;
      } else {
        value += text[pos];
        pos++;
      }
    }
    if (pos < text.length) pos++;
    else unterminated = true;
  } else {
    while (pos < text.length && !isSpace(text[pos])) {
      if (text[pos] === '\\' && text[pos + 1] === '\\') {
        value += '\\';
        pos += 2;
      } else {
        value += text[pos];
        pos++;
      }
    }
  }
  while (isSpace(text[pos])) pos++;
  return { value, end: pos, unterminated };
}

/**
 * Splits a whole argument string into words with {@link readWord}, and says whether a quote was
 * left open (httpd accepts that silently; the parser turns it into a warning).
 *
 * @example
 * ```ts
 * splitWordsChecked('user "bob'); // → { words: ['user', 'bob'], unterminated: true }
 * ```
 */
export function splitWordsChecked(text: string): { words: string[]; unterminated: boolean } {
  const words: string[] = [];
  let unterminated = false;
  let pos = 0;
  while (isSpace(text[pos])) pos++;
  // From a non-blank position readWord always advances (a quoted "" consumes two characters).
  while (pos < text.length) {
    const word = readWord(text, pos);
    words.push(word.value);
    unterminated ||= word.unterminated;
    pos = word.end;
  }
  return { words, unterminated };
}

/**
 * Splits an argument string into words as httpd's `ap_getword_conf` does, for modules that need
 * to re-split a `raw` argument string (e.g. `Require` arguments).
 *
 * @example
 * ```ts
 * splitWords(`valid-user "a \\"quoted\\" word" 'x y'`);
 * // → ['valid-user', 'a "quoted" word', 'x y']
 * ```
 */
export function splitWords(text: string): string[] {
  return splitWordsChecked(text).words;
}
