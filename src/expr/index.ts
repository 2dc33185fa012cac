/**
 * httpd's ap_expr language, the subset `Require expr` uses: parse at load with
 * {@link parseExpr} (or {@link parseStringExpr}), evaluate per request with {@link evaluateExpr}
 * against an {@link ExprContext} (usually {@link requestExprContext}).
 *
 * @example
 * ```ts
 * import { parseExpr, evaluateExpr, requestExprContext } from './expr/index.js';
 * const ast = parseExpr("%{REQUEST_METHOD} in { 'GET', 'HEAD' }");
 * const allowed = evaluateExpr(ast, requestExprContext(req));
 * ```
 */
export type { CompareOp, CondNode, ExprAst, RegexNode, StringExprAst, WordNode } from './ast.js';
export { requestExprContext, type ExprContext, type ExprServerInfo } from './context.js';
export { evaluateExpr, evaluateStringExpr } from './evaluate.js';
export { exprMentionsRemoteUser, exprReadsTokenClaims, exprVariables } from './inspect.js';
export type { ExprFunctionName, ExprRequestVariable, ExprTimeVariable } from './names.js';
export { parseExpr, parseStringExpr } from './parse.js';
export { ExprSyntaxError } from './syntax-error.js';
