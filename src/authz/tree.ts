import type { SourceLocation } from '../errors.js';
import { methodInLimit, type AuthzProviderRef, type AuthzResult, type MethodLimit } from '../module.js';
import type { AuthRequest } from '../request.js';
import { observeProvider } from '../observe.js';
import { withAliasSettings } from '../request-state.js';

/**
 * Which methods a node applies to: `'all'`, or the union of the `<Limit>`s it was written in.
 * A node limited to other methods counts as granted under an AND parent and neutral under an
 * OR parent (mod_authz_core's `limited` mask).
 */
export type Limited = 'all' | readonly MethodLimit[];

/** One `Require` line. */
export interface RequireNode {
  readonly type: 'require';
  readonly negate: boolean;
  readonly limited: Limited;
  readonly where: SourceLocation;
  /** As written, for `authts explain` and logs: `Require not ip 10.0.0.0/8`. */
  readonly text: string;
  readonly provider: AuthzProviderRef;
  readonly parsed: unknown;
}

/** A `<RequireAll>` / `<RequireAny>` / `<RequireNone>`, a section's implicit `<RequireAny>`, or an `AuthMerging` join. */
export interface ContainerNode {
  readonly type: 'container';
  readonly op: 'and' | 'or';
  readonly negate: boolean;
  readonly limited: Limited;
  readonly where: SourceLocation;
  /** `<RequireAll>`, `<RequireAny>`, `<RequireNone>`, `<Directory>, <Location>, or similar`, `AuthMerging And`. */
  readonly label: string;
  readonly children: readonly AuthzNode[];
}

export type AuthzNode = RequireNode | ContainerNode;

/** The tri-state result plus the error case: a provider that cannot answer (→ 500). */
export type TreeResult = AuthzResult | 'error';

/** Union of two `limited` masks. */
export function unionLimited(a: Limited, b: Limited): Limited {
  if (a === 'all' || b === 'all') return 'all';
  return [...a, ...b];
}

function appliesTo(limited: Limited, method: string): boolean {
  return limited === 'all' || limited.some((limit) => methodInLimit(limit, method));
}

/** What the evaluation of one node found, for `authts explain` and debug logs. */
export interface TraceEntry {
  readonly node: AuthzNode;
  readonly result: TreeResult;
  readonly depth: number;
}

/**
 * Evaluates an authz tree exactly as mod_authz_core's `apply_authz_sections`: AND short-circuits
 * on denied, OR on granted; neutral children are ignored; denied-no-user wins over denied under
 * OR (and over granted under AND), so that supplying a user can still change the answer;
 * negation turns granted into denied and denied/denied-no-user into neutral; any provider error
 * is an error at once.
 */
export async function evaluateTree(
  req: AuthRequest,
  node: AuthzNode,
  parentOp: 'and' | 'or',
  trace?: TraceEntry[],
  depth = 0,
): Promise<TreeResult> {
  let result: TreeResult;
  if (!appliesTo(node.limited, req.method)) {
    result = parentOp === 'and' ? 'granted' : 'neutral';
    trace?.push({ node, result, depth });
    return result;
  }
  if (node.type === 'require') {
    try {
      const target = node.provider.aliasSettings ? withAliasSettings(req, node.provider.aliasSettings) : req;
      const provider = node.provider.provider;
      result = await observeProvider(req, 'authz', node.provider.name, () => provider.checkAuthorization(target, node.parsed), (answer) => answer, node.text);
    } catch (err) {
      req.log.error({ err, require: node.text, file: node.where.file, line: node.where.line }, 'authz provider failed');
      result = 'error';
    }
  } else {
    const entryIndex = trace?.length;
    trace?.push({ node, result: 'neutral', depth });
    result = 'neutral';
    for (const child of node.children) {
      const childResult = await evaluateTree(req, child, node.op, trace, depth + 1);
      if (childResult === 'error') {
        result = 'error';
        break;
      }
      if (childResult === 'neutral') continue;
      if (node.op === 'and') {
        if (childResult === 'denied') {
          result = childResult;
          break;
        }
        if ((childResult === 'denied-no-user' && result !== 'denied') || result === 'neutral') result = childResult;
      } else {
        if (childResult === 'granted') {
          result = childResult;
          break;
        }
        if ((childResult === 'denied-no-user' && result === 'denied') || result === 'neutral') result = childResult;
      }
    }
    if (node.negate) result = negate(result);
    if (trace && entryIndex !== undefined) trace[entryIndex] = { node, result, depth };
    return result;
  }
  if (node.negate) result = negate(result);
  trace?.push({ node, result, depth });
  return result;
}

function negate(result: TreeResult): TreeResult {
  if (result === 'granted') return 'denied';
  if (result === 'denied' || result === 'denied-no-user') return 'neutral';
  return result;
}
