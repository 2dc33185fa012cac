/**
 * Regexes of `=~` / `!~`, compiled once at load into JavaScript RegExps that decide like httpd's
 * PCRE ones.
 *
 * httpd 2.4 compiles them with its default `RegexDefaultOptions DOTALL DOLLAR_ENDONLY`: `.`
 * matches newlines too and `$` matches only at the very end — JavaScript's `s` flag and plain `$`.
 * The PCRE-only syntax people write is translated: `\A` `\z` `\Z` `\h` `\v` `\R` `\e` `\a` `\N`,
 * `\x{hh}`, `\Q…\E`, POSIX classes (`[[:alpha:]]`), `(?P<name>…)`, `(?#…)`, a leading `(?i)`,
 * and `]` as the first character of a class. `\s` is narrowed to PCRE's ASCII set.
 * What cannot be translated faithfully is a load error, never a silently different regex:
 * atomic groups, possessive quantifiers, recursion, conditionals, `\K`, `\G`, `\p{…}`, inline
 * options other than a leading `(?i)`, and unknown letter escapes (an error in PCRE too).
 *
 * Differences that remain (documented, not detectable): httpd's PCRE works on bytes and
 * JavaScript on UTF-16 code units, so `.` and classes see one character where PCRE sees the
 * bytes of its UTF-8 encoding; case-insensitive matching of non-ASCII letters (`é`/`É`) succeeds
 * in JavaScript but not in PCRE's C locale; `\S`, `\D`, `\W` inside a class keep JavaScript's
 * meaning (Unicode spaces); PCRE's match limits make a runaway pattern fail where JavaScript
 * keeps backtracking.
 */

/** Why a pattern was refused. */
export class RegexError extends Error {
  override readonly name = 'RegexError';
}

/** A compiled regex and how many capturing groups it has. */
export interface CompiledRegex {
  readonly regex: RegExp;
  readonly groups: number;
}

/**
 * Compiles an ap_expr regex (the text between the delimiters) as httpd would.
 *
 * @example
 * ```ts
 * compileRegex('^/a.b$', false).regex.test('/a\nb'); // true: DOTALL, as httpd
 * compileRegex('\\Aadmin\\z', true).regex.test('ADMIN'); // true
 * ```
 * @throws RegexError when the pattern does not compile or uses PCRE syntax authts cannot translate.
 */
export function compileRegex(pattern: string, caseInsensitive: boolean): CompiledRegex {
  let ci = caseInsensitive;
  let body = pattern;
  if (body.startsWith('(?i)')) {
    ci = true;
    body = body.slice(4);
  }
  const source = translate(body);
  const flags = ci ? 'si' : 's';
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
  } catch (err) {
    throw new RegexError((err as Error).message);
  }
  const groups = new RegExp(`${source}|`, flags).exec('')!.length - 1;
  return { regex, groups };
}

const SPACE = '\\t\\n\\x0b\\f\\r ';
const HSPACE = '\\t \\xa0';
const VSPACE = '\\n\\x0b\\f\\r\\x85';

/** Escapes for both inside and outside a class: letter → JavaScript text (without brackets). */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  d: '\\d', D: '\\D', w: '\\w', W: '\\W', n: '\\n', r: '\\r', t: '\\t', f: '\\f',
  e: '\\x1b', a: '\\x07',
};

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  ascii: '\\x00-\\x7f',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: SPACE,
  upper: 'A-Z',
  word: '\\w',
  xdigit: '0-9A-Fa-f',
};

function unsupported(what: string): never {
  throw new RegexError(`${what} is not supported by authts`);
}

/** Escapes a literal character for use inside or outside a class. */
function literal(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

function translate(p: string): string {
  let out = '';
  let inClass = false;
  let classStart = -1;
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\') {
      const r = escape(p, i, inClass);
      out += r.text;
      i = r.next;
      continue;
    }
    if (inClass) {
      if (c === ']' && i === classStart) {
        out += '\\]';
      } else if (c === ']') {
        inClass = false;
        out += ']';
      } else if (c === '[' && (p[i + 1] === ':' || p[i + 1] === '.' || p[i + 1] === '=')) {
        const end = p.indexOf(`${p[i + 1]}]`, i + 2);
        if (end < 0) {
          out += '\\[';
        } else {
          const name = p.slice(i + 2, end);
          if (p[i + 1] !== ':') unsupported(`POSIX collating element [${p[i + 1]}${name}${p[i + 1]}]`);
          if (name.startsWith('^')) unsupported(`negated POSIX class [:${name}:]`);
          const expansion = POSIX_CLASSES[name];
          if (expansion === undefined) throw new RegexError(`unknown POSIX class name [:${name}:]`);
          out += expansion;
          i = end + 2;
          continue;
        }
      } else if (c === '[') {
        out += '\\[';
      } else {
        out += c;
      }
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      i++;
      if (p[i] === '^') {
        out += '^';
        i++;
      }
      classStart = i;
      continue;
    }
    if (c === '(' && p[i + 1] === '?') {
      const r = group(p, i);
      out += r.text;
      i = r.next;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** `(?…` constructs. */
function group(p: string, i: number): { text: string; next: number } {
  const rest = p.slice(i + 2);
  if (/^(?:[:=!]|<[=!])/.test(rest)) return { text: '(?', next: i + 2 };
  const named = /^(?:P?<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)')/.exec(rest);
  if (named) return { text: `(?<${named[1] ?? named[2]}>`, next: i + 2 + named[0].length };
  const backref = /^P=([A-Za-z_]\w*)\)/.exec(rest);
  if (backref) return { text: `\\k<${backref[1]}>`, next: i + 2 + backref[0].length };
  if (rest.startsWith('#')) {
    const end = p.indexOf(')', i);
    if (end < 0) throw new RegexError('missing ) after (?# comment');
    return { text: '', next: end + 1 };
  }
  if (rest.startsWith('>')) unsupported('atomic group (?>…)');
  if (rest.startsWith('|')) unsupported('branch reset group (?|…)');
  if (rest.startsWith('(')) unsupported('conditional group (?(…)…)');
  if (/^(?:R|[+-]?\d|&|P>)/.test(rest)) unsupported('recursion (?R)');
  if (/^[a-zA-Z^-]/.test(rest)) unsupported('inline option group (?…) other than a leading (?i)');
  throw new RegexError(`unrecognized character after (? in (?${rest.slice(0, 1)}`);
}

/** One `\` escape at `p[i]`. */
function escape(p: string, i: number, inClass: boolean): { text: string; next: number } {
  const d = p[i + 1];
  if (d === undefined) throw new RegexError('\\ at end of pattern');
  const simple = SIMPLE_ESCAPES[d];
  if (simple !== undefined) return { text: simple, next: i + 2 };
  switch (d) {
    case 's':
      return { text: inClass ? SPACE : `[${SPACE}]`, next: i + 2 };
    case 'S':
      return { text: inClass ? '\\S' : `[^${SPACE}]`, next: i + 2 };
    case 'h':
      return { text: inClass ? HSPACE : `[${HSPACE}]`, next: i + 2 };
    case 'v':
      return { text: inClass ? VSPACE : `[${VSPACE}]`, next: i + 2 };
    case 'b':
      return { text: inClass ? '\\x08' : '\\b', next: i + 2 };
    case 'x': {
      const braced = /^\{([0-9A-Fa-f]+)\}/.exec(p.slice(i + 2));
      if (braced) {
        const code = parseInt(braced[1]!, 16);
        if (code > 0xff) throw new RegexError(`character code point value in \\x{${braced[1]}} is too large`);
        return { text: `\\x${code.toString(16).padStart(2, '0')}`, next: i + 2 + braced[0].length };
      }
      const hex = /^[0-9A-Fa-f]{0,2}/.exec(p.slice(i + 2))![0];
      return { text: `\\x${hex.padStart(2, '0')}`, next: i + 2 + hex.length };
    }
    case 'Q': {
      const end = p.indexOf('\\E', i + 2);
      const text = p.slice(i + 2, end < 0 ? p.length : end);
      return { text: [...text].map(literal).join(''), next: end < 0 ? p.length : end + 2 };
    }
    case 'E':
      return { text: '', next: i + 2 };
    case 'k': {
      const name = /^(?:<([A-Za-z_]\w*)>|\{([A-Za-z_]\w*)\}|'([A-Za-z_]\w*)')/.exec(p.slice(i + 2));
      if (!name || inClass) throw new RegexError('\\k is not followed by a group name');
      return { text: `\\k<${name[1] ?? name[2] ?? name[3]}>`, next: i + 2 + name[0].length };
    }
    case 'c':
      return { text: p.slice(i, i + 3), next: i + 3 };
  }
  if (!inClass) {
    switch (d) {
      case 'B':
        return { text: '\\B', next: i + 2 };
      case 'A':
        return { text: '^', next: i + 2 };
      case 'z':
        return { text: '$', next: i + 2 };
      case 'Z':
        return { text: '(?=\\n?$)', next: i + 2 };
      case 'H':
        return { text: `[^${HSPACE}]`, next: i + 2 };
      case 'V':
        return { text: `[^${VSPACE}]`, next: i + 2 };
      case 'R':
        return { text: `(?:\\r\\n|[${VSPACE}])`, next: i + 2 };
      case 'N':
        if (p[i + 2] === '{') unsupported('\\N{…}');
        return { text: '[^\\n]', next: i + 2 };
    }
  }
  if (/[0-9]/.test(d)) {
    // Back references and octal escapes read the same way in both engines.
    const digits = /^[0-9]+/.exec(p.slice(i + 1))![0];
    return { text: `\\${digits}`, next: i + 1 + digits.length };
  }
  if (/[A-Za-z]/.test(d)) {
    if ('pPXCKGgo'.includes(d)) unsupported(`\\${d}`);
    throw new RegexError(`unrecognized character follows \\: \\${d}${inClass ? ' (in a character class)' : ''}`);
  }
  return { text: `\\${d}`, next: i + 2 };
}
