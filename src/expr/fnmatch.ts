/**
 * `apr_fnmatch` for the `-strmatch`, `-strcmatch` and `-fnmatch` operators: `*`, `?`, `[…]`
 * (negated with `!` or `^`, ranges, `]` first is literal), `\` escapes. With `pathname`, `/` is
 * only matched by a literal `/`; with `caseBlind`, ASCII letters compare case-insensitively
 * (`apr_tolower` in the C locale). Runs without allocating.
 */

/** Options of {@link fnmatch}, as APR's `APR_FNM_PATHNAME` and `APR_FNM_CASE_BLIND`. */
export interface FnmatchOptions {
  readonly pathname: boolean;
  readonly caseBlind: boolean;
}

/**
 * True when `text` matches the shell wildcard `pattern`.
 *
 * @example
 * ```ts
 * fnmatch('a*', 'a/b', { pathname: false, caseBlind: false }); // true  (-strmatch)
 * fnmatch('a*', 'a/b', { pathname: true, caseBlind: false });  // false (-fnmatch)
 * ```
 */
export function fnmatch(pattern: string, text: string, options: FnmatchOptions): boolean {
  const { pathname, caseBlind } = options;
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = -1;
  while (s < text.length) {
    if (p < pattern.length) {
      const pc = pattern.charCodeAt(p);
      const sc = text.charCodeAt(s);
      if (pc === STAR) {
        p++;
        starP = p;
        starS = s;
        continue;
      }
      if (pc === QUESTION) {
        if (!(pathname && sc === SLASH)) {
          p++;
          s++;
          continue;
        }
      } else if (pc === OPEN) {
        const next = bracket(pattern, p, sc, caseBlind);
        if (next === INVALID) {
          if (sc === OPEN) {
            p++;
            s++;
            continue;
          }
        } else if (next !== NO_MATCH && !(pathname && sc === SLASH)) {
          p = next;
          s++;
          continue;
        }
      } else {
        let lit = pc;
        let np = p + 1;
        if (pc === BACKSLASH && p + 1 < pattern.length) {
          lit = pattern.charCodeAt(p + 1);
          np = p + 2;
        }
        if (same(lit, sc, caseBlind)) {
          p = np;
          s++;
          continue;
        }
      }
    }
    // Mismatch: let the last `*` swallow one more character, if it may.
    if (starP >= 0 && !(pathname && text.charCodeAt(starS) === SLASH)) {
      starS++;
      s = starS;
      p = starP;
      continue;
    }
    return false;
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DASH = 0x2d;
const INVALID = -1;
const NO_MATCH = -2;

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function same(a: number, b: number, caseBlind: boolean): boolean {
  return a === b || (caseBlind && lower(a) === lower(b));
}

/**
 * Matches one character against the bracket expression starting at `pattern[p] === '['`.
 * Returns the index after the closing `]` on a match, NO_MATCH, or INVALID when the bracket is
 * not closed (then `[` is an ordinary character).
 */
function bracket(pattern: string, p: number, c: number, caseBlind: boolean): number {
  let i = p + 1;
  let negate = false;
  const first = pattern.charCodeAt(i);
  if (first === 0x21 || first === 0x5e) {
    negate = true;
    i++;
  }
  let matched = false;
  let atStart = true;
  for (;;) {
    if (i >= pattern.length) return INVALID;
    let lo = pattern.charCodeAt(i);
    if (lo === CLOSE && !atStart) {
      i++;
      break;
    }
    atStart = false;
    if (lo === BACKSLASH && i + 1 < pattern.length) lo = pattern.charCodeAt(++i);
    let hi = lo;
    if (pattern.charCodeAt(i + 1) === DASH && i + 2 < pattern.length && pattern.charCodeAt(i + 2) !== CLOSE) {
      i += 2;
      hi = pattern.charCodeAt(i);
      if (hi === BACKSLASH && i + 1 < pattern.length) hi = pattern.charCodeAt(++i);
    }
    i++;
    if (c >= lo && c <= hi) matched = true;
    else if (caseBlind) {
      const lc = lower(c);
      const uc = c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
      if ((lc >= lo && lc <= hi) || (uc >= lo && uc <= hi)) matched = true;
    }
  }
  return matched !== negate ? i : NO_MATCH;
}
