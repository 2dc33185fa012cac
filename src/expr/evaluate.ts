/**
 * Evaluates parsed expressions against one request. Synchronous, and it allocates little: one
 * small state object per call, plus the strings the expression itself builds.
 */
import { AuthTsError } from '../errors.js';
import type { CondNode, ExprAst, StringExprAst, WordNode } from './ast.js';
import type { ExprContext } from './context.js';
import { fnmatch } from './fnmatch.js';
import { asciiLower, asciiUpper, base64Decode, base64Encode, escapeUri, ldapEscape, md5Hex, sha1Hex, unescapeUrl } from './functions.js';
import { parseAddress, subnetContains } from './ipsubnet.js';
import type { ExprFunctionName, ExprTimeVariable } from './names.js';

/**
 * httpd's `AP_EXPR_MAX_RECURSION`: nesting deeper than this (counted as httpd counts it: one
 * level per nested word or condition) is an evaluation error, not a result.
 */
const MAX_RECURSION = 20;

interface State {
  readonly ctx: ExprContext;
  /** The last successful match of a regex with groups (`$0`…`$9`); null after a failed one. */
  captures: RegExpExecArray | null;
  depth: number;
  /** The clock, read once per evaluation. */
  date: Date | undefined;
}

/**
 * Evaluates a boolean expression. `$0`…`$9` start empty on every call.
 *
 * @example
 * ```ts
 * const ast = parseExpr('%{TIME_HOUR} -ge 9 && %{TIME_HOUR} -le 17');
 * evaluateExpr(ast, requestExprContext(req)); // true during office hours
 * ```
 * @throws AuthTsError `EXPR_EVAL` when the expression cannot be evaluated (httpd's "Recursion
 *   limit reached"); `Require expr` turns that into a 500.
 */
export function evaluateExpr(ast: ExprAst, ctx: ExprContext): boolean {
  return cond(ast.root, { ctx, captures: null, depth: 0, date: undefined });
}

/**
 * Evaluates a string expression (see {@link parseStringExpr}).
 *
 * @example
 * ```ts
 * evaluateStringExpr(parseStringExpr('%{REMOTE_USER}.example.org'), ctx); // 'alice.example.org'
 * ```
 * @throws AuthTsError `EXPR_EVAL` as {@link evaluateExpr}.
 */
export function evaluateStringExpr(ast: StringExprAst, ctx: ExprContext): string {
  return word(ast.root, { ctx, captures: null, depth: 0, date: undefined });
}

function enter(st: State): void {
  if (st.depth >= MAX_RECURSION) throw new AuthTsError('EXPR_EVAL', 'Recursion limit reached');
  st.depth++;
}

/**
 * One condition. As in httpd, `!` and the last operand of `&&`/`||` are evaluated in the same
 * frame; the other operands recurse.
 */
function cond(start: CondNode, st: State): boolean {
  enter(st);
  let node = start;
  let negate = false;
  let result: boolean | undefined;
  while (result === undefined) {
    switch (node.kind) {
      case 'not':
        negate = !negate;
        node = node.operand;
        break;
      case 'or':
      case 'and': {
        const stopOn = node.kind === 'or';
        const ops = node.operands;
        const last = ops.length - 1;
        for (let i = 0; i < last && result === undefined; i++) {
          if (cond(ops[i]!, st) === stopOn) result = stopOn;
        }
        node = ops[last]!;
        break;
      }
      default:
        result = leaf(node, st);
    }
  }
  st.depth--;
  return negate ? !result : result;
}

function leaf(node: Exclude<CondNode, { kind: 'not' | 'and' | 'or' }>, st: State): boolean {
  switch (node.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'compare': {
      const a = word(node.left, st);
      const b = word(node.right, st);
      // Strings compare by UTF-16 code units, which orders like httpd's strcmp on bytes except
      // for characters beyond U+FFFF against U+E000–U+FFFF.
      switch (node.op) {
        case 'str-eq':
          return a === b;
        case 'str-ne':
          return a !== b;
        case 'str-lt':
          return a < b;
        case 'str-le':
          return a <= b;
        case 'str-gt':
          return a > b;
        case 'str-ge':
          return a >= b;
      }
      const c = intCompare(a, b);
      switch (node.op) {
        case 'int-eq':
          return c === 0;
        case 'int-ne':
          return c !== 0;
        case 'int-lt':
          return c < 0;
        case 'int-le':
          return c <= 0;
        case 'int-gt':
          return c > 0;
        case 'int-ge':
          return c >= 0;
      }
      break;
    }
    case 'in': {
      const needle = word(node.left, st);
      for (const item of node.list) if (word(item, st) === needle) return true;
      return false;
    }
    case 'match': {
      const subject = word(node.left, st);
      let matched: boolean;
      // $0…$9 may hold what the user wants to keep: only a regex with groups replaces them.
      if (node.regex.groups > 0) {
        st.captures = node.regex.regex.exec(subject);
        matched = st.captures !== null;
      } else {
        matched = node.regex.regex.test(subject);
      }
      return matched !== node.negate;
    }
    case 'unary': {
      const value = word(node.operand, st);
      if (node.op === 'n') return value !== '';
      if (node.op === 'z') return value === '';
      return isTrue(value);
    }
    case 'remote-in': {
      const addr = parseAddress(st.ctx.remoteAddress);
      return addr !== undefined && subnetContains(node.subnet, addr);
    }
    case 'ipmatch': {
      // httpd resolves a host name here (getaddrinfo); authts matches numeric addresses only.
      const addr = parseAddress(word(node.left, st));
      return addr !== undefined && subnetContains(node.subnet, addr);
    }
    case 'strmatch': {
      const text = word(node.left, st);
      const pattern = word(node.right, st);
      return fnmatch(pattern, text, { pathname: node.mode === 'fnmatch', caseBlind: node.mode === 'strcmatch' });
    }
  }
  throw new AuthTsError('EXPR_EVAL', 'Internal evaluation error: unknown expression node');
}

function word(node: WordNode, st: State): string {
  enter(st);
  let value: string;
  switch (node.kind) {
    case 'literal':
      value = node.value;
      break;
    case 'var':
      value = st.ctx.variable(node.name) ?? '';
      break;
    case 'time':
      value = time(node.name, st);
      break;
    case 'header':
      value = st.ctx.header(node.name) ?? '';
      break;
    case 'backref': {
      const m = st.captures;
      value = m === null || m.input === '' ? '' : m[node.index] ?? '';
      break;
    }
    case 'concat':
      value = '';
      for (const part of node.parts) value += word(part, st);
      break;
    case 'call':
      value = call(node.fn, word(node.arg, st), st.ctx) ?? '';
      break;
  }
  st.depth--;
  return value;
}

function call(fn: ExprFunctionName, arg: string, ctx: ExprContext): string | undefined {
  switch (fn) {
    case 'req':
    case 'http':
    case 'req_novary':
      return ctx.header(arg.toLowerCase());
    case 'resp':
      return ctx.responseHeader(arg);
    case 'reqenv':
      return ctx.reqEnv(arg);
    case 'note':
      return ctx.note(arg);
    case 'env':
      // httpd's order, for ssl_expr compatibility: notes, then the request env, then the OS.
      return ctx.note(arg) ?? ctx.reqEnv(arg) ?? ctx.osEnv(arg);
    case 'osenv':
      return ctx.osEnv(arg);
    case 'tolower':
      return asciiLower(arg);
    case 'toupper':
      return asciiUpper(arg);
    case 'escape':
      return escapeUri(arg);
    case 'unescape':
      return unescapeUrl(arg);
    case 'base64':
      return base64Encode(arg);
    case 'unbase64':
      return base64Decode(arg);
    case 'md5':
      return md5Hex(arg);
    case 'sha1':
      return sha1Hex(arg);
    case 'ldap':
      return ldapEscape(arg);
    case 'jwt':
      return ctx.tokenClaim?.(arg);
  }
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `%{TIME…}` in local time, formatted as httpd formats them. */
function time(name: ExprTimeVariable, st: State): string {
  const d = (st.date ??= new Date(st.ctx.now()));
  switch (name) {
    case 'TIME_YEAR':
      return String(d.getFullYear()).padStart(4, '0');
    case 'TIME_MON':
      return two(d.getMonth() + 1);
    case 'TIME_DAY':
      return two(d.getDate());
    case 'TIME_HOUR':
      return two(d.getHours());
    case 'TIME_MIN':
      return two(d.getMinutes());
    case 'TIME_SEC':
      return two(d.getSeconds());
    case 'TIME_WDAY':
      return String(d.getDay());
    case 'TIME':
      return `${String(d.getFullYear()).padStart(4, '0')}${two(d.getMonth() + 1)}${two(d.getDate())}` +
        `${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
  }
}

/** httpd's `-T`: false for '', `0`, and (any case) `off`, `no`, `false`. */
function isTrue(value: string): boolean {
  if (value === '' || value === '0') return false;
  const lower = value.length <= 5 ? value.toLowerCase() : '';
  return lower !== 'off' && lower !== 'no' && lower !== 'false';
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** `apr_atoi64`: leading space, optional sign, decimal digits; saturates at the int64 range. */
function atoi64(s: string): number | bigint {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && (c < 0x09 || c > 0x0d)) break;
    i++;
  }
  let negative = false;
  if (s[i] === '+' || s[i] === '-') {
    negative = s[i] === '-';
    i++;
  }
  const from = i;
  let n = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    i++;
  }
  if (i - from <= 15) return negative ? -n : n;
  let big = BigInt(s.slice(from, i));
  if (negative) big = -big;
  return big > INT64_MAX ? INT64_MAX : big < INT64_MIN ? INT64_MIN : big;
}

function intCompare(a: string, b: string): number {
  const x = atoi64(a);
  const y = atoi64(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
