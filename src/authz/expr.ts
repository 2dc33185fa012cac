/**
 * `Require expr "…"` (mod_authz_core's `expr` provider): an ap_expr evaluated per request.
 */
import { AuthTsError } from '../errors.js';
import { requestExprContext } from '../expr/context.js';
import { evaluateExpr } from '../expr/evaluate.js';
import { exprMentionsRemoteUser, exprReadsTokenClaims } from '../expr/inspect.js';
import { parseExpr } from '../expr/parse.js';
import type { ExprAst } from '../expr/ast.js';
import { ExprSyntaxError } from '../expr/syntax-error.js';
import type { AuthzProvider, Module } from '../module.js';

/** A parsed `Require expr` line. */
export interface RequireExpr {
  readonly ast: ExprAst;
  /** The expression reads `%{REMOTE_USER}` (httpd's `want_user`) or calls `jwt()`. */
  readonly wantsUser: boolean;
}

/**
 * The `expr` authz provider. Parsing strips one pair of surrounding double quotes, as
 * mod_authz_core does, and reports a bad expression as `CONFIG_BAD_EXPR`. Per request: true →
 * granted; false → denied-no-user when the expression mentions `%{REMOTE_USER}` (so the userless
 * pass asks for credentials, and a false verdict with a user is a 401, both as httpd 2.4), else
 * denied; an evaluation failure throws `AuthTsError('EXPR_EVAL')` (→ 500).
 *
 * @example
 * ```apache
 * Require expr "%{TIME_HOUR} -ge 9 && %{TIME_HOUR} -le 17"
 * Require expr %{REQUEST_URI} =~ m#^/protected/.*#
 * ```
 */
export const requireExprProvider: AuthzProvider<RequireExpr> = {
  parseRequire(args, ctx) {
    const text = args.length > 0 && args.startsWith('"') && args.endsWith('"') ? args.slice(1, -1) : args;
    let ast: ExprAst;
    try {
      ast = parseExpr(text);
    } catch (err) {
      if (err instanceof ExprSyntaxError) {
        return ctx.error('CONFIG_BAD_EXPR', `Cannot parse expression in require line: ${err.message}`);
      }
      throw err;
    }
    return Object.freeze({ ast, wantsUser: exprMentionsRemoteUser(ast) || exprReadsTokenClaims(ast) });
  },

  checkAuthorization(req, parsed) {
    let result: boolean;
    try {
      result = evaluateExpr(parsed.ast, requestExprContext(req));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new AuthTsError('EXPR_EVAL', `Error evaluating expression in 'Require expr': ${reason}`, { cause: err });
    }
    if (result) return 'granted';
    return parsed.wantsUser ? 'denied-no-user' : 'denied';
  },
};

/** The module that provides `Require expr`. @example `builtinModules()` includes it. */
export const authzExpr: Module = {
  name: 'authz_expr',
  authzProviders: { expr: requireExprProvider },
};
