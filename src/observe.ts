/**
 * Watching a request's decision from outside, without changing it: `authts explain` records
 * every provider answer, metrics time them. An observer must not throw and must not keep the
 * request; it sees provider names and results, never credentials.
 */
import type { TraceEntry } from './authz/tree.js';
import type { AuthRequest } from './request.js';

/** One provider's answer within a request. */
export interface ProviderAnswer {
  /** `authn`: a password or token check (`AuthBasicProvider …`); `authz`: one `Require` line. */
  readonly kind: 'authn' | 'authz';
  /** The provider's name as configured (an alias's own name). */
  readonly provider: string;
  /** `granted`, `denied`, `not-found`, `neutral`, `denied-no-user`, or `error` when it threw. */
  readonly result: string;
  /** How long the provider took, in milliseconds. */
  readonly durationMs: number;
  /** For `authz`: the `Require` line as written. */
  readonly require?: string;
}

/**
 * Which evaluation of the `Require` tree: `userless` is the access_ex pass (no user yet),
 * `user` the authz pass after authentication (mod_authz_core's two hooks).
 */
export type TreePass = 'userless' | 'user';

/** What an observer is told; every method is optional. */
export interface RequestObserver {
  providerAnswered?(req: AuthRequest, answer: ProviderAnswer): void;
  /**
   * The merged `Require` tree was evaluated in `pass`: every node visited, in evaluation order
   * (pre-order; a node skipped by short-circuit is absent). Results are after negation.
   */
  treeEvaluated?(req: AuthRequest, pass: TreePass, trace: readonly TraceEntry[]): void;
}

/**
 * A trace for {@link reportTree} to hand on, or `undefined` when nobody watches the tree (so
 * that an unobserved request records nothing).
 */
export function treeTraceFor(req: AuthRequest): TraceEntry[] | undefined {
  return req.observer?.treeEvaluated === undefined ? undefined : [];
}

/** Tells the request's observer what one tree pass found; an observer that throws is logged, not fatal. */
export function reportTree(req: AuthRequest, pass: TreePass, trace: readonly TraceEntry[] | undefined): void {
  if (trace === undefined) return;
  try {
    req.observer?.treeEvaluated?.(req, pass, trace);
  } catch (err) {
    req.log.error({ err }, 'request observer failed');
  }
}

/**
 * Runs one provider call and tells the request's observer what it answered and how long it
 * took (`error` when it threw; the error goes on to the caller). Without an observer it only
 * runs the call.
 */
export async function observeProvider<T>(
  req: AuthRequest,
  kind: ProviderAnswer['kind'],
  provider: string,
  call: () => Promise<T> | T,
  resultOf: (value: T) => string,
  require?: string,
): Promise<T> {
  const observer = req.observer;
  if (observer?.providerAnswered === undefined) return call();
  const started = performance.now();
  let result = 'error';
  try {
    const value = await call();
    result = resultOf(value);
    return value;
  } finally {
    const answer: ProviderAnswer = { kind, provider, result, durationMs: performance.now() - started, ...(require === undefined ? {} : { require }) };
    try {
      observer.providerAnswered(req, answer);
    } catch (err) {
      req.log.error({ err }, 'request observer failed');
    }
  }
}
