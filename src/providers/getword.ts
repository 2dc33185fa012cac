/**
 * httpd's `ap_getword` and `ap_getword_conf`, the word splitters of the user and group files.
 */
import { isSpace } from './cfg-getline.js';

/** A word and the text after it. */
export interface Word {
  readonly word: string;
  readonly rest: string;
}

/**
 * `ap_getword(line, stop)`: the text before the first `stop` (all of `line` when there is none);
 * `rest` starts after that `stop` and after any further `stop`s right behind it — so
 * `alice::hash` splits into `alice` and `hash`, as in httpd.
 *
 * @example
 * ```ts
 * getWord('alice:$apr1$x$y:extra', ':'); // { word: 'alice', rest: '$apr1$x$y:extra' }
 * ```
 */
export function getWord(line: string, stop: string): Word {
  const at = line.indexOf(stop);
  if (at < 0) return { word: line, rest: '' };
  let next = at + 1;
  while (line[next] === stop) next++;
  return { word: line.slice(0, at), rest: line.slice(next) };
}

/**
 * `ap_getword_conf(line)`: one configuration word after leading whitespace. A word starting
 * with `"` or `'` runs to the matching quote (the quotes are removed, `\"`/`\'` and `\\`
 * inside unescape); otherwise it runs to the next whitespace (`\\` unescapes to `\`).
 * `rest` has the whitespace after the word skipped. At the end of the line the word is ''.
 *
 * @example
 * ```ts
 * getWordConf('"Jane Doe" bob'); // { word: 'Jane Doe', rest: 'bob' }
 * ```
 */
export function getWordConf(line: string): Word {
  let start = 0;
  while (isSpace(line[start])) start++;
  if (start >= line.length) return { word: '', rest: '' };
  const quote = line[start];
  let end: number;
  let word: string;
  if (quote === '"' || quote === "'") {
    end = start + 1;
    while (end < line.length && line[end] !== quote) {
      const next = line[end + 1];
      end += line[end] === '\\' && (next === quote || next === '\\') ? 2 : 1;
    }
    end = Math.min(end, line.length);
    word = unescape(line.slice(start + 1, end), quote);
    if (line[end] === quote) end++;
  } else {
    end = start;
    while (end < line.length && !isSpace(line[end])) end++;
    word = unescape(line.slice(start, end), undefined);
  }
  while (isSpace(line[end])) end++;
  return { word, rest: line.slice(end) };
}

/**
 * Every `ap_getword_conf` word of `line`, as httpd's `while (*line) getword_conf` loops read them.
 *
 * @example
 * ```ts
 * splitConfWords('alice "Jane Doe"'); // ['alice', 'Jane Doe']
 * ```
 */
export function splitConfWords(line: string): string[] {
  const words: string[] = [];
  let rest = line;
  // httpd loops while the remaining text is non-empty; leading whitespace is skipped by each call.
  while (rest.length > 0) {
    const next = getWordConf(rest);
    words.push(next.word);
    rest = next.rest;
  }
  return words;
}

/** httpd's `substring_conf`: `\\` → `\`, and inside quotes `\<quote>` → `<quote>`. */
function unescape(text: string, quote: string | undefined): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === '\\' && (next === '\\' || (quote !== undefined && next === quote))) {
      out += next;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}
