// An access handler (AuthTsHandler access ...), written in TypeScript and loaded through tsx.
// Access handlers all run, in order; the first one that answers a status ends the request.
import type { AuthRequest, PhaseResult } from 'authts';

/** Client ids that may not use the API at all. Built once, when the module is imported. */
const blocked = new Set(['scraper-9000']);

/** Called for the access phase: `accessHandler` is the export used when no `#name` is given. */
export function accessHandler(req: AuthRequest): PhaseResult {
  const client = req.headers['x-client-id'];
  if (client === undefined) return 400;
  if (blocked.has(client)) {
    req.log.info({ client }, 'blocked API client');
    return 403;
  }
  // Values for the application and for later phases (`Require env API_CLIENT`, `reqenv('API_CLIENT')`).
  req.env.set('API_CLIENT', client);
  return 'ok';
}

/** Picked with `#readOnly`: only GET and HEAD. */
export function readOnly(req: AuthRequest): PhaseResult {
  return req.method === 'GET' || req.method === 'HEAD' ? 'ok' : 405;
}
