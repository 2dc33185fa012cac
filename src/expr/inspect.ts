/**
 * Load-time questions about a parsed expression.
 */
import type { CondNode, ExprAst, StringExprAst, WordNode } from './ast.js';

/**
 * The `%{NAME}` variables an expression reads, upper-case, in order of first appearance
 * (`%{HTTP_*}` shorthands included as written; function calls such as `req('X')` are not variables).
 *
 * @example
 * ```ts
 * exprVariables(parseExpr("%{REMOTE_USER} == 'a' || %{TIME_HOUR} -lt 9")); // ['REMOTE_USER', 'TIME_HOUR']
 * ```
 */
export function exprVariables(ast: ExprAst | StringExprAst): readonly string[] {
  const found = new Set<string>();
  if (ast.kind === 'expr') walkCond(ast.root, found);
  else walkWord(ast.root, found);
  return [...found].filter((name) => !name.endsWith('()'));
}

/**
 * True when the expression reads `%{REMOTE_USER}` anywhere (even in a branch that may not run).
 * `Require expr` answers denied-no-user for such an expression when it is false, so that the
 * userless pass asks for authentication, as mod_authz_core does.
 *
 * @example
 * ```ts
 * exprMentionsRemoteUser(parseExpr("%{REMOTE_USER} == 'alice'")); // true
 * exprMentionsRemoteUser(parseExpr("reqenv('REMOTE_USER') == 'alice'")); // false
 * ```
 */
export function exprMentionsRemoteUser(ast: ExprAst | StringExprAst): boolean {
  return exprVariables(ast).includes('REMOTE_USER');
}

/**
 * True when the expression calls `jwt()` anywhere: it reads the claims of a Bearer token, so
 * `Require expr` answers denied-no-user when it is false, as for `%{REMOTE_USER}`.
 *
 * @example
 * ```ts
 * exprReadsTokenClaims(parseExpr("jwt('scope') =~ /admin/")); // true
 * ```
 */
export function exprReadsTokenClaims(ast: ExprAst | StringExprAst): boolean {
  const found = new Set<string>();
  if (ast.kind === 'expr') walkCond(ast.root, found);
  else walkWord(ast.root, found);
  return found.has('jwt()');
}

function walkCond(node: CondNode, found: Set<string>): void {
  switch (node.kind) {
    case 'true':
    case 'false':
    case 'remote-in':
      return;
    case 'not':
      return walkCond(node.operand, found);
    case 'and':
    case 'or':
      for (const op of node.operands) walkCond(op, found);
      return;
    case 'compare':
    case 'strmatch':
      walkWord(node.left, found);
      return walkWord(node.right, found);
    case 'in':
      walkWord(node.left, found);
      for (const item of node.list) walkWord(item, found);
      return;
    case 'match':
    case 'ipmatch':
      return walkWord(node.left, found);
    case 'unary':
      return walkWord(node.operand, found);
  }
}

function walkWord(node: WordNode, found: Set<string>): void {
  switch (node.kind) {
    case 'literal':
    case 'backref':
      return;
    case 'var':
    case 'time':
      found.add(node.name);
      return;
    case 'header':
      // `req('User-Agent')` and `%{HTTP_USER_AGENT}` share a node kind; only the latter is a variable.
      if (node.variable !== undefined) found.add(node.variable);
      return;
    case 'concat':
      for (const part of node.parts) walkWord(part, found);
      return;
    case 'call':
      // Function names are recorded as `name()`, which no variable name can be.
      if (node.fn === 'jwt') found.add('jwt()');
      return walkWord(node.arg, found);
  }
}
