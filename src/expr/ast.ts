/**
 * The parsed form of an ap_expr expression: a small, frozen tree that {@link evaluateExpr} walks
 * once per request. Names are resolved and regexes compiled while parsing, so a tree that exists
 * is one that can run.
 */
import type { IpSubnet } from './ipsubnet.js';
import type { ExprFunctionName, ExprTimeVariable, ExprRequestVariable } from './names.js';

/** A boolean expression (httpd's `cond`). */
export type CondNode =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'not'; readonly operand: CondNode }
  /** `&&` / `and`: operands in source order, evaluated left to right, short-circuit. */
  | { readonly kind: 'and'; readonly operands: readonly CondNode[] }
  /** `||` / `or`. */
  | { readonly kind: 'or'; readonly operands: readonly CondNode[] }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: WordNode; readonly right: WordNode }
  /** `word in { w1, w2 }` (also `-in`). */
  | { readonly kind: 'in'; readonly left: WordNode; readonly list: readonly WordNode[] }
  /** `word =~ /re/` (`negate`: `!~`). */
  | { readonly kind: 'match'; readonly negate: boolean; readonly left: WordNode; readonly regex: RegexNode }
  /** `-n`, `-z`, `-T`: tests on one word. */
  | { readonly kind: 'unary'; readonly op: 'n' | 'z' | 'T'; readonly operand: WordNode }
  /** `-R 'subnet'`: the client address is in the subnet (parsed at load). */
  | { readonly kind: 'remote-in'; readonly subnet: IpSubnet; readonly text: string }
  /** `word -ipmatch 'subnet'` (subnet parsed at load). */
  | { readonly kind: 'ipmatch'; readonly left: WordNode; readonly subnet: IpSubnet; readonly text: string }
  /** `-strmatch` (fnmatch), `-strcmatch` (case-blind), `-fnmatch` (`/` only matched by `/`). */
  | { readonly kind: 'strmatch'; readonly mode: 'strmatch' | 'strcmatch' | 'fnmatch'; readonly left: WordNode; readonly right: WordNode };

/**
 * Comparison operators: `str-*` compare bytes (`==`, `!=`, `<`, `<=`, `>`, `>=`), `int-*` compare
 * the leading integers (`-eq`, `-ne`, `-lt`, `-le`, `-gt`, `-ge`, and `eq`… without the dash).
 */
export type CompareOp =
  | 'str-eq' | 'str-ne' | 'str-lt' | 'str-le' | 'str-gt' | 'str-ge'
  | 'int-eq' | 'int-ne' | 'int-lt' | 'int-le' | 'int-gt' | 'int-ge';

/** A compiled `/…/` or `m#…#` regex. */
export interface RegexNode {
  readonly kind: 'regex';
  /** The pattern as written between the delimiters. */
  readonly source: string;
  readonly caseInsensitive: boolean;
  readonly regex: RegExp;
  /** Number of capturing groups; only a regex with groups sets `$0`…`$9`. */
  readonly groups: number;
}

/** A string-valued expression (httpd's `word` / `string`). */
export type WordNode =
  /** A literal: `'text'`, or a number token (`number: true`, e.g. `42`, `-1`). */
  | { readonly kind: 'literal'; readonly value: string; readonly number: boolean }
  /** `%{NAME}` for a request variable. */
  | { readonly kind: 'var'; readonly name: ExprRequestVariable }
  /** `%{TIME_HOUR}` and friends, read from the injectable clock. */
  | { readonly kind: 'time'; readonly name: ExprTimeVariable }
  /**
   * A request header by lower-case name: `%{HTTP_USER_AGENT}` (`variable` is then the variable's
   * name), `req('X-Foo')`, `%{HTTP:X-Foo}` (`variable` undefined).
   */
  | { readonly kind: 'header'; readonly name: string; readonly variable: string | undefined }
  /** `$0`…`$9`: a capture of the last successful regex match that had groups. */
  | { readonly kind: 'backref'; readonly index: number }
  /** Several words joined: `a . b`, or a string with `%{…}` inside. */
  | { readonly kind: 'concat'; readonly parts: readonly WordNode[] }
  /** `fn(word)` or `%{fn:text}`. */
  | { readonly kind: 'call'; readonly fn: ExprFunctionName; readonly arg: WordNode };

/** A parsed boolean expression, as {@link parseExpr} returns it. */
export interface ExprAst {
  readonly kind: 'expr';
  /** The expression text that was parsed. */
  readonly source: string;
  readonly root: CondNode;
}

/** A parsed string expression (`Require host %{…}` arguments), as {@link parseStringExpr} returns it. */
export interface StringExprAst {
  readonly kind: 'string-expr';
  readonly source: string;
  readonly root: WordNode;
}
