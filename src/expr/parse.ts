/**
 * A hand-written recursive-descent parser for the ap_expr language of httpd 2.4 (the manual's
 * "Expressions in Apache HTTP Server"), as `Require expr` uses it.
 *
 * The scanner follows httpd 2.4's flex scanner token for token (longest match, keywords before
 * identifiers, `m#…#` regexes, `$0`…`$9`, octal escapes, and so on, checked against
 * Apache/2.4.71), so an expression loads in authts exactly when it loads in httpd — except where
 * authts refuses a name it cannot evaluate (see names.ts), which is a load error that says so.
 * Grammar (precedence low to high: `||`, `&&`, `!`; `.` joins words):
 *
 * ```
 * cond    := and (('||' | 'or') and)*
 * and     := unary (('&&' | 'and') unary)*
 * unary   := ('!' | 'not') unary | primary
 * primary := 'true' | 'false' | '(' cond ')' | -X word
 *          | word (CMP word | -op word | ('in' | '-in') list | ('=~' | '!~') regex)
 * list    := '{' word (',' word)* '}'
 * word    := atom ('.' atom)*
 * atom    := number | 'string' | "string" | %{VAR} | %{func:text} | $0…$9 | func '(' word ')'
 * ```
 */
import type { CompareOp, CondNode, ExprAst, RegexNode, StringExprAst, WordNode } from './ast.js';
import { parseSubnet, type IpSubnet } from './ipsubnet.js';
import { BINARY_OPERATORS, lookupFunction, lookupVariable, UNARY_OPERATORS, UNSUPPORTED_UNARY } from './names.js';
import { compileRegex, RegexError } from './regex.js';
import { ExprSyntaxError } from './syntax-error.js';

/**
 * Parses a boolean ap_expr (the text of `Require expr`, quotes already removed).
 *
 * @example
 * ```ts
 * const ast = parseExpr("%{REQUEST_METHOD} in { 'GET', 'HEAD' } && %{TIME_HOUR} -ge 9");
 * ```
 * @throws ExprSyntaxError for anything httpd would refuse to load, and for names authts does not support.
 */
export function parseExpr(text: string): ExprAst {
  const parser = new Parser(text);
  const root = parser.expression();
  return Object.freeze({ kind: 'expr', source: text, root });
}

/**
 * Parses a string ap_expr, as httpd does for `Require host`, `Require forward-dns` and other
 * string-valued arguments: the text is literal except for `%{…}`, `$0`…`$9` and `\` escapes.
 *
 * @example
 * ```ts
 * evaluateStringExpr(parseStringExpr('%{SERVER_NAME} example.org'), ctx); // 'www.example.org example.org'
 * ```
 * @throws ExprSyntaxError as {@link parseExpr}.
 */
export function parseStringExpr(text: string): StringExprAst {
  const parser = new Parser(text, true);
  const root = parser.stringBody();
  return Object.freeze({ kind: 'string-expr', source: text, root });
}

type Punct = '(' | ')' | '{' | '}' | ',' | ':';

type Token =
  | { readonly type: 'eof' | 'true' | 'false' | 'not' | 'and' | 'or' | 'concat' | 'in' | Punct; readonly pos: number; readonly text: string }
  | { readonly type: 'cmp'; readonly op: CompareOp; readonly pos: number; readonly text: string }
  | { readonly type: 'match'; readonly negate: boolean; readonly pos: number; readonly text: string }
  | { readonly type: 'unary'; readonly name: string; readonly pos: number; readonly text: string }
  | { readonly type: 'binary'; readonly name: string; readonly pos: number; readonly text: string }
  | { readonly type: 'number'; readonly pos: number; readonly text: string }
  /** A string literal, `%{…}` or `$N`; `constant` is set for a plain string literal. */
  | { readonly type: 'word'; readonly word: WordNode; readonly constant: string | undefined; readonly pos: number; readonly text: string }
  | { readonly type: 'id'; readonly name: string; readonly pos: number; readonly text: string }
  | { readonly type: 'regex'; readonly source: string; readonly caseInsensitive: boolean; readonly pos: number; readonly text: string };

/** The delimiters `m` may take (httpd 2.4's scanner). */
const REGEX_DELIMITERS = '/#$%^,;:_?|-!.\'"';

const KEYWORDS: Readonly<Record<string, Token['type']>> = {
  and: 'and', or: 'or', not: 'not', true: 'true', false: 'false', in: 'in',
};

/** `eq`, `-eq`, … : integer comparisons (the dash-less forms are ssl_expr compatibility). */
const INT_OPS: Readonly<Record<string, CompareOp>> = {
  eq: 'int-eq', ne: 'int-ne', lt: 'int-lt', le: 'int-le', gt: 'int-gt', ge: 'int-ge',
};

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isLetter(ch: string | undefined): boolean {
  return ch !== undefined && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'));
}

function isIdentChar(ch: string | undefined): boolean {
  return isLetter(ch) || isDigit(ch) || ch === '_';
}

function freeze<T extends object>(node: T): T {
  return Object.freeze(node);
}

function literal(value: string, number = false): WordNode {
  return freeze({ kind: 'literal', value, number });
}

/**
 * Joins words, flattening nested joins (httpd evaluates a chain of joins as one list too).
 * Literals are not merged, so nesting depth — which httpd limits — stays as written.
 */
function concat(parts: readonly WordNode[]): WordNode {
  const flat: WordNode[] = [];
  for (const part of parts) {
    if (part.kind === 'concat') flat.push(...part.parts);
    else flat.push(part);
  }
  if (flat.length === 0) return literal('');
  if (flat.length === 1) return flat[0]!;
  return freeze({ kind: 'concat', parts: Object.freeze(flat) });
}

/** A C string ends at NUL: httpd copies each literal piece with `apr_pstrdup`. */
function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

class Parser {
  readonly #src: string;
  #pos = 0;
  #tok: Token;

  constructor(src: string, stringMode = false) {
    this.#src = src;
    this.#tok = stringMode ? { type: 'eof', pos: 0, text: '' } : this.#scan();
  }

  // ---------------------------------------------------------------- grammar

  expression(): CondNode {
    const root = this.#or();
    if (this.#tok.type !== 'eof') this.#unexpected(this.#tok);
    return root;
  }

  stringBody(): WordNode {
    return this.#stringParts(undefined, 0).word;
  }

  #next(): Token {
    const tok = this.#tok;
    this.#tok = this.#scan();
    return tok;
  }

  #expect(type: Token['type'], what: string): Token {
    if (this.#tok.type !== type) this.#unexpected(this.#tok, what);
    return this.#next();
  }

  #unexpected(tok: Token, expecting?: string): never {
    const found = describe(tok);
    throw new ExprSyntaxError(`syntax error, unexpected ${found}${expecting ? `, expecting ${expecting}` : ''}`, tok.pos);
  }

  #or(): CondNode {
    const operands = [this.#and()];
    while (this.#tok.type === 'or') {
      this.#next();
      operands.push(this.#and());
    }
    return operands.length === 1 ? operands[0]! : freeze({ kind: 'or', operands: Object.freeze(operands) });
  }

  #and(): CondNode {
    const operands = [this.#unary()];
    while (this.#tok.type === 'and') {
      this.#next();
      operands.push(this.#unary());
    }
    return operands.length === 1 ? operands[0]! : freeze({ kind: 'and', operands: Object.freeze(operands) });
  }

  #unary(): CondNode {
    if (this.#tok.type === 'not') {
      this.#next();
      return freeze({ kind: 'not', operand: this.#unary() });
    }
    return this.#primary();
  }

  #primary(): CondNode {
    const tok = this.#tok;
    switch (tok.type) {
      case 'true':
      case 'false':
        this.#next();
        return freeze({ kind: tok.type });
      case '(': {
        this.#next();
        const inner = this.#or();
        this.#expect(')', "')'");
        return inner;
      }
      case 'unary':
        return this.#unaryOperator(tok);
    }
    const left = this.#word();
    const op = this.#tok;
    switch (op.type) {
      case 'cmp': {
        this.#next();
        return freeze({ kind: 'compare', op: op.op, left: left.word, right: this.#word().word });
      }
      case 'in':
        this.#next();
        return freeze({ kind: 'in', left: left.word, list: this.#list() });
      case 'match': {
        this.#next();
        return freeze({ kind: 'match', negate: op.negate, left: left.word, regex: this.#regex() });
      }
      case 'binary':
        return this.#binaryOperator(left.word, op);
    }
    return this.#unexpected(op, 'a comparison operator');
  }

  #unaryOperator(tok: Extract<Token, { type: 'unary' }>): CondNode {
    const name = tok.name;
    if (!(UNARY_OPERATORS as readonly string[]).includes(name)) {
      const reason = UNSUPPORTED_UNARY[name];
      throw new ExprSyntaxError(
        reason ? `Unary operator '-${name}' is not supported by authts: ${reason}` : `Unary operator '-${name}' does not exist`,
        tok.pos,
      );
    }
    this.#next();
    const operand = this.#word();
    if (name === 'R') {
      const subnet = this.#subnetArg('-R', operand.constant, tok.pos);
      return freeze({ kind: 'remote-in', subnet, text: operand.constant! });
    }
    return freeze({ kind: 'unary', op: name as 'n' | 'z' | 'T', operand: operand.word });
  }

  #binaryOperator(left: WordNode, tok: Extract<Token, { type: 'binary' }>): CondNode {
    const name = tok.name.toLowerCase();
    if (!(BINARY_OPERATORS as readonly string[]).includes(name)) {
      throw new ExprSyntaxError(`Binary operator '-${tok.name}' does not exist`, tok.pos);
    }
    this.#next();
    const right = this.#word();
    if (name === 'ipmatch') {
      const subnet = this.#subnetArg(`-${tok.name}`, right.constant, tok.pos);
      return freeze({ kind: 'ipmatch', left, subnet, text: right.constant! });
    }
    return freeze({ kind: 'strmatch', mode: name as 'strmatch' | 'strcmatch' | 'fnmatch', left, right: right.word });
  }

  /** httpd's `subnet_parse_arg`: the subnet must be a constant string, parsed now. */
  #subnetArg(op: string, constant: string | undefined, pos: number): IpSubnet {
    if (constant === undefined) throw new ExprSyntaxError(`${op} requires subnet/netmask as constant argument`, pos);
    const slash = constant.indexOf('/');
    const subnet = slash < 0 ? parseSubnet(constant, undefined) : parseSubnet(constant.slice(0, slash), constant.slice(slash + 1));
    if (typeof subnet === 'string') throw new ExprSyntaxError('parsing of subnet/netmask failed', pos);
    return subnet;
  }

  #list(): readonly WordNode[] {
    const tok = this.#tok;
    if (tok.type === 'id') {
      // `word in listfunc(word)`: httpd 2.4's core has no list functions.
      this.#next();
      this.#expect('(', "'('");
      this.#word();
      this.#expect(')', "')'");
      throw new ExprSyntaxError(`List-returning function '${tok.name}' does not exist`, tok.pos);
    }
    this.#expect('{', "'{' or a list function");
    const words = [this.#word().word];
    while (this.#tok.type === ',') {
      this.#next();
      words.push(this.#word().word);
    }
    this.#expect('}', "'}' or ','");
    return Object.freeze(words);
  }

  #regex(): RegexNode {
    const tok = this.#tok;
    if (tok.type !== 'regex') this.#unexpected(tok, 'a regular expression');
    this.#next();
    try {
      const { regex, groups } = compileRegex(tok.source, tok.caseInsensitive);
      return freeze({ kind: 'regex', source: tok.source, caseInsensitive: tok.caseInsensitive, regex, groups });
    } catch (err) {
      if (err instanceof RegexError) {
        throw new ExprSyntaxError(`Failed to compile regular expression: ${err.message}`, tok.pos);
      }
      throw err;
    }
  }

  /** `word := atom ('.' atom)*`; `constant` is set only for a lone plain string literal. */
  #word(): { word: WordNode; constant: string | undefined } {
    const first = this.#atom();
    if (this.#tok.type !== 'concat') return first;
    const parts = [first.word];
    while (this.#tok.type === 'concat') {
      this.#next();
      parts.push(this.#atom().word);
    }
    return { word: concat(parts), constant: undefined };
  }

  #atom(): { word: WordNode; constant: string | undefined } {
    const tok = this.#tok;
    switch (tok.type) {
      case 'number':
        this.#next();
        return { word: literal(tok.text, true), constant: undefined };
      case 'word':
        this.#next();
        return { word: tok.word, constant: tok.constant };
      case 'id': {
        this.#next();
        this.#expect('(', "'('");
        const arg = this.#word().word;
        this.#expect(')', "')'");
        return { word: this.#call(tok.name, arg, tok.pos), constant: undefined };
      }
    }
    return this.#unexpected(tok);
  }

  /** Resolves `name(arg)` / `%{name:arg}`. */
  #call(name: string, arg: WordNode, pos: number): WordNode {
    const found = lookupFunction(name);
    if (found.kind === 'unknown') throw new ExprSyntaxError(`Function '${name}' does not exist`, pos);
    if (found.kind === 'unsupported') {
      throw new ExprSyntaxError(`Function '${name}' is not supported by authts: ${found.reason}`, pos);
    }
    const fn = found.name;
    if ((fn === 'req' || fn === 'http' || fn === 'req_novary') && arg.kind === 'literal') {
      return freeze({ kind: 'header', name: arg.value.toLowerCase(), variable: undefined });
    }
    return freeze({ kind: 'call', fn, arg });
  }

  /** Resolves `%{NAME}`. */
  #variable(name: string, pos: number): WordNode {
    const found = lookupVariable(name);
    switch (found.kind) {
      case 'var':
      case 'time':
        return freeze({ kind: found.kind, name: found.name } as WordNode);
      case 'header':
        return freeze({ kind: 'header', name: found.name, variable: found.variable });
      case 'unsupported':
        throw new ExprSyntaxError(`Variable '${name}' is not supported by authts: ${found.reason}`, pos);
      case 'unknown':
        throw new ExprSyntaxError(`Variable '${name}' does not exist`, pos);
    }
  }

  // ---------------------------------------------------------------- scanner

  #scan(): Token {
    const src = this.#src;
    while (this.#pos < src.length && (src[this.#pos] === ' ' || src[this.#pos] === '\t' || src[this.#pos] === '\n')) {
      this.#pos++;
    }
    const start = this.#pos;
    if (start >= src.length) return { type: 'eof', pos: start, text: '' };
    const ch = src[start]!;
    const next = src[start + 1];
    const simple = (type: 'not' | 'and' | 'or' | 'concat' | Punct, length: number): Token => {
      this.#pos = start + length;
      return { type, pos: start, text: src.slice(start, start + length) };
    };
    const cmp = (op: CompareOp, length: number): Token => {
      this.#pos = start + length;
      return { type: 'cmp', op, pos: start, text: src.slice(start, start + length) };
    };
    switch (ch) {
      case "'":
      case '"': {
        this.#pos = start + 1;
        const { word, constant } = this.#stringParts(ch, start);
        return { type: 'word', word, constant, pos: start, text: src.slice(start, this.#pos) };
      }
      case '%':
        if (next === '{') {
          const word = this.#varRef();
          return { type: 'word', word, constant: undefined, pos: start, text: src.slice(start, this.#pos) };
        }
        break;
      case '$':
        if (isDigit(next)) {
          this.#pos = start + 2;
          return { type: 'word', word: freeze({ kind: 'backref', index: Number(next) }), constant: undefined, pos: start, text: src.slice(start, start + 2) };
        }
        break;
      case '/':
        return this.#regexToken(start, start + 1, '/');
      case '=':
        if (next === '~') {
          this.#pos = start + 2;
          return { type: 'match', negate: false, pos: start, text: '=~' };
        }
        return cmp('str-eq', next === '=' ? 2 : 1);
      case '!':
        if (next === '=') return cmp('str-ne', 2);
        if (next === '~') {
          this.#pos = start + 2;
          return { type: 'match', negate: true, pos: start, text: '!~' };
        }
        return simple('not', 1);
      case '<':
        return next === '=' ? cmp('str-le', 2) : cmp('str-lt', 1);
      case '>':
        return next === '=' ? cmp('str-ge', 2) : cmp('str-gt', 1);
      case '&':
        if (next === '&') return simple('and', 2);
        break;
      case '|':
        if (next === '|') return simple('or', 2);
        break;
      case '.':
        return simple('concat', 1);
      case '(':
      case ')':
      case '{':
      case '}':
      case ',':
      case ':':
        return simple(ch, 1);
      case '-':
        if (isDigit(next)) return this.#number(start, start + 1);
        if (isLetter(next) || next === '_') return this.#dashOperator(start);
        break;
    }
    if (isDigit(ch)) return this.#number(start, start);
    if (isLetter(ch)) {
      if (ch === 'm' && next !== undefined && REGEX_DELIMITERS.includes(next)) {
        // Longest match: `m_abc` is an identifier, `m_…_` a regex.
        if (!(next === '_' && isIdentChar(src[start + 2]))) return this.#regexToken(start, start + 2, next);
      }
      let end = start + 1;
      while (isIdentChar(src[end])) end++;
      const name = src.slice(start, end);
      this.#pos = end;
      const keyword = KEYWORDS[name];
      if (keyword) return { type: keyword, pos: start, text: name } as Token;
      const intOp = INT_OPS[name];
      if (intOp) return { type: 'cmp', op: intOp, pos: start, text: name };
      return { type: 'id', name, pos: start, text: name };
    }
    throw new ExprSyntaxError(`Parse error near '${printable(ch)}'`, start);
  }

  #number(start: number, digitsFrom: number): Token {
    let end = digitsFrom;
    while (isDigit(this.#src[end])) end++;
    this.#pos = end;
    return { type: 'number', pos: start, text: this.#src.slice(start, end) };
  }

  /** `-x` (unary), `-name` (binary), or one of `-in -eq -ne -lt -le -gt -ge`. */
  #dashOperator(start: number): Token {
    let end = start + 2;
    while (isIdentChar(this.#src[end])) end++;
    this.#pos = end;
    const name = this.#src.slice(start + 1, end);
    const text = this.#src.slice(start, end);
    if (name.length === 1) return { type: 'unary', name, pos: start, text };
    if (name === 'in') return { type: 'in', pos: start, text };
    const intOp = INT_OPS[name];
    if (intOp) return { type: 'cmp', op: intOp, pos: start, text };
    return { type: 'binary', name, pos: start, text };
  }

  /** `/re/` or `m#re#`, with an optional `i` flag; no escapes, as in httpd 2.4. */
  #regexToken(start: number, bodyStart: number, delimiter: string): Token {
    const end = this.#src.indexOf(delimiter, bodyStart);
    if (end < 0) throw new ExprSyntaxError('Unterminated regular expression', start);
    let after = end + 1;
    const caseInsensitive = this.#src[after] === 'i';
    if (caseInsensitive) after++;
    this.#pos = after;
    return { type: 'regex', source: this.#src.slice(bodyStart, end), caseInsensitive, pos: start, text: this.#src.slice(start, after) };
  }

  /**
   * The body of a quoted string (`quote` set; the opening quote is consumed) or of a whole
   * string expression (`quote` undefined: quotes are ordinary characters, the text ends it).
   */
  #stringParts(quote: string | undefined, start: number): { word: WordNode; constant: string | undefined } {
    const src = this.#src;
    const parts: WordNode[] = [];
    let buf = '';
    let pieces = 0;
    const flush = (): void => {
      if (buf !== '') parts.push(literal(cString(buf)));
      buf = '';
    };
    for (;;) {
      const at = this.#pos;
      if (at >= src.length) {
        if (quote === undefined) break;
        throw new ExprSyntaxError('Unterminated string or variable', start);
      }
      const ch = src[at]!;
      if (ch === quote) {
        this.#pos = at + 1;
        break;
      }
      if (ch === '\n') throw new ExprSyntaxError('Unterminated string or variable', at);
      if (ch === '\\') {
        buf += this.#escape(at);
      } else if (ch === '%' && src[at + 1] === '{') {
        flush();
        parts.push(this.#varRef());
        pieces++;
      } else if (ch === '$' && isDigit(src[at + 1])) {
        flush();
        parts.push(freeze({ kind: 'backref', index: Number(src[at + 1]) }));
        this.#pos = at + 2;
        pieces++;
      } else {
        buf += ch;
        this.#pos = at + 1;
      }
    }
    flush();
    const word = concat(parts);
    return { word, constant: pieces === 0 && word.kind === 'literal' ? word.value : undefined };
  }

  /** A `\` escape at `at`; returns the character(s) it stands for and moves past it. */
  #escape(at: number): string {
    const src = this.#src;
    const d = src[at + 1];
    if (d === undefined) throw new ExprSyntaxError('Unterminated string or variable', at);
    if (isDigit(d)) {
      let end = at + 1;
      while (isDigit(src[end])) end++;
      const digits = src.slice(at + 1, end);
      // The scanner's longest match: up to three octal digits, or else a bad escape.
      if (digits.length > 3 || /[89]/.test(digits)) throw new ExprSyntaxError('Bad escape sequence', at);
      const code = parseInt(digits, 8);
      if (code > 0xff) throw new ExprSyntaxError('Escape sequence out of bound', at);
      this.#pos = end;
      return String.fromCharCode(code);
    }
    this.#pos = at + 2;
    switch (d) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      default:
        return d;
    }
  }

  /** `%{NAME}` or `%{func:text}` starting at the current position. */
  #varRef(): WordNode {
    const src = this.#src;
    const start = this.#pos;
    let end = start + 2;
    if (!isLetter(src[end])) this.#badVarChar(end);
    while (isIdentChar(src[end])) end++;
    const name = src.slice(start + 2, end);
    if (src[end] === '}') {
      this.#pos = end + 1;
      return this.#variable(name, start);
    }
    if (src[end] !== ':') this.#badVarChar(end);
    this.#pos = end + 1;
    const arg = this.#varArg(name);
    return this.#call(name, arg, start);
  }

  #badVarChar(at: number): never {
    const ch = this.#src[at];
    if (ch === undefined || ch === '\n') throw new ExprSyntaxError('Unterminated string or variable', at);
    if (ch === '}') throw new ExprSyntaxError("syntax error, unexpected '}', expecting a variable name", at);
    throw new ExprSyntaxError(`Invalid character in variable name '${printable(ch)}'`, at);
  }

  /** The text after `%{func:` up to the closing `}`. */
  #varArg(func: string): WordNode {
    const src = this.#src;
    const parts: WordNode[] = [];
    let buf = '';
    const flush = (): void => {
      if (buf !== '') parts.push(literal(cString(buf)));
      buf = '';
    };
    let empty = true;
    for (;;) {
      const at = this.#pos;
      const ch = src[at];
      if (ch === undefined || ch === '\n') throw new ExprSyntaxError('Unterminated string or variable', at);
      if (ch === '}') {
        if (empty) throw new ExprSyntaxError("syntax error, unexpected '}', expecting a function argument", at);
        this.#pos = at + 1;
        break;
      }
      empty = false;
      if (ch === '"' || ch === "'") {
        // httpd 2.4's scanner has no rule for a quote here and aborts ("flex scanner jammed").
        throw new ExprSyntaxError(`Quote character ${ch} is not allowed in %{${func}:…}`, at);
      }
      if (ch === '\\') {
        buf += this.#escape(at);
      } else if (ch === '%' && src[at + 1] === '{') {
        flush();
        parts.push(this.#varRef());
      } else if (ch === '$' && isDigit(src[at + 1])) {
        flush();
        parts.push(freeze({ kind: 'backref', index: Number(src[at + 1]) }));
        this.#pos = at + 2;
      } else {
        buf += ch;
        this.#pos = at + 1;
      }
    }
    flush();
    return concat(parts);
  }
}

function describe(tok: Token): string {
  switch (tok.type) {
    case 'eof':
      return 'end of expression';
    case 'word':
      return tok.text.startsWith('%') || tok.text.startsWith('$') ? tok.text : `string ${tok.text}`;
    case 'regex':
      return `regular expression ${tok.text}`;
    case 'id':
      return `identifier '${tok.text}'`;
    case 'number':
      return `number ${tok.text}`;
    default:
      return `'${tok.text}'`;
  }
}

function printable(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0').toUpperCase()}` : ch;
}
