import { satisfyFor } from './access/compat.js';
import type { HookPhase } from './module.js';
import type { Registry } from './registry.js';
import type { AuthRequest, PhaseResult } from './request.js';

/**
 * The outcome of the three phases for one request. `status` is 200 when the request may go on
 * to its content; otherwise it is the answer (401, 403, 500, …) and `headers` hold what goes with
 * it (`WWW-Authenticate`, …).
 */
export interface Verdict {
  readonly allowed: boolean;
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  /** The authenticated user, when one was. */
  readonly user: string | undefined;
  readonly authType: string | undefined;
  /** Values for the application (`AUTHENTICATE_*`, …). */
  readonly env: ReadonlyMap<string, string>;
}

/**
 * Runs access → authn → authz as httpd's `ap_process_request_internal` does.
 *
 * - access (every handler runs; the first status that is not ok/declined ends the request);
 *   with `Satisfy Any` an ok access pass allows the request without authentication;
 * - access_ex: the `Require` tree without a user; granted → allowed with no authn at all,
 *   declined (denied-no-user) → authenticate, anything else ends the request;
 * - authn, then authz: the first handler that does not decline decides; a phase where every
 *   handler declines is a 500, and so is an authn phase that leaves no user.
 *
 * A handler that throws, or answers something that is not a {@link PhaseResult}, is a 500:
 * a failure never grants.
 */
export async function runPhases(req: AuthRequest, registry: Registry): Promise<Verdict> {
  const status = await decide(req, registry);
  return {
    allowed: status === 200,
    status,
    headers: req.responseHeaders,
    user: req.user,
    authType: req.authType,
    env: req.env,
  };
}

async function decide(req: AuthRequest, registry: Registry): Promise<number> {
  const access = await runAll(req, registry, 'access');
  if (satisfyFor(req) === 'any') {
    if (access === 'ok') return 200;
  } else if (access !== 'ok') {
    return fail(access);
  }
  const userless = await runFirst(req, registry, 'access_ex');
  if (userless === 'ok') return 200;
  if (userless !== 'declined') return fail(userless);

  const authn = await runFirst(req, registry, 'authn');
  if (authn !== 'ok') return fail(authn);
  if (req.user === undefined) {
    req.log.error('No authentication done but request not allowed without authentication');
    return 500;
  }
  const authz = await runFirst(req, registry, 'authz');
  return authz === 'ok' ? 200 : fail(authz);
}

/** httpd's `decl_die`: a phase nobody handled is a server error. */
function fail(result: PhaseResult): number {
  return typeof result === 'number' ? result : 500;
}

async function runAll(req: AuthRequest, registry: Registry, phase: HookPhase): Promise<PhaseResult> {
  for (const hook of registry.hooks(phase)) {
    const result = await callHandler(req, phase, hook.handler);
    if (result !== 'ok' && result !== 'declined') return result;
  }
  return 'ok';
}

async function runFirst(req: AuthRequest, registry: Registry, phase: HookPhase): Promise<PhaseResult> {
  for (const hook of registry.hooks(phase)) {
    const result = await callHandler(req, phase, hook.handler);
    if (result !== 'declined') return result;
  }
  return 'declined';
}

/** Calls one handler; throws and nonsense answers become 500 (never a grant). */
export async function callHandler(
  req: AuthRequest,
  phase: string,
  handler: (req: AuthRequest) => PhaseResult | Promise<PhaseResult>,
): Promise<PhaseResult> {
  let result: unknown;
  try {
    result = await handler(req);
  } catch (err) {
    req.log.error({ err, phase, code: 'HANDLER_FAILED' }, 'phase handler threw');
    return 500;
  }
  if (result === 'ok' || result === 'declined') return result;
  if (typeof result === 'number' && Number.isInteger(result) && result >= 300 && result <= 599) {
    // A status ends the request with that answer (a redirect, 401, 403, …). A 1xx/2xx is not
    // an answer a phase can give: only 'ok' allows, so a stray 200 can never grant.
    return result;
  }
  req.log.error({ phase, code: 'HANDLER_BAD_RESULT', result: String(result) }, 'phase handler answered nonsense');
  return 500;
}
