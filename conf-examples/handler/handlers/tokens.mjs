// An authn handler (AuthTsHandler authn ...), in plain JavaScript.
// It authenticates "Authorization: Bearer <token>" against tokens.json, which holds the
// SHA-256 of each token (never the token itself) and the user it belongs to. The file is read
// once, when this module is imported; the map then stays in memory between requests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const tokens = new Map(
  Object.entries(JSON.parse(readFileSync(new URL('./tokens.json', import.meta.url), 'utf8'))),
);

function challenge(req, error) {
  req.responseHeaders.set('WWW-Authenticate', error ? `Bearer realm="api", error="${error}"` : 'Bearer realm="api"');
  return 401;
}

/** Called for the authn phase: `authnHandler` is the export used when no `#name` is given. */
export async function authnHandler(req) {
  const header = req.headers['authorization'];
  if (header === undefined) return challenge(req);
  const match = /^Bearer[ \t]+(\S+)$/i.exec(header);
  if (!match) return challenge(req, 'invalid_request');
  const user = tokens.get(createHash('sha256').update(match[1]).digest('hex'));
  if (user === undefined) return challenge(req, 'invalid_token');
  // An authn handler that answers 'ok' must have set req.user.
  req.user = user;
  req.authType = 'Bearer';
  return 'ok';
}
