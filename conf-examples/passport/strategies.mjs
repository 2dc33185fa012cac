// The passport strategies of site.conf, registered with passportModule() from authts/passport.
// Tokens and session ids are kept as their SHA-256 (never in clear), read once at import.
import { createHash } from 'node:crypto';
import { passportModule } from 'authts/passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import Strategy from 'passport-strategy';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** SHA-256 of a bearer token → the user and what the token may do. */
const tokens = new Map([
  ['374f4c85576c23a1f3d9a99769f481944af78a415a995a6ad5ffd1e4b4ac76f1', { user: 'alice', scope: ['read', 'write'] }],
  ['7e3ab9bb6e51ac82ae0047eb220e1f190e6c145e74ae5549e94ac85022bad723', { user: 'bob', scope: ['read'] }],
]);

/** SHA-256 of a session id → its user (a real app would keep these in a session store). */
const sessions = new Map([['77832546d8dd64cf297a7bbe2fbcea4762dc63e10316d448551c362ffa44dcf2', 'carol']]);

/** A strategy of our own: the `sid` cookie, or a redirect to the sign-in page. */
class SessionCookieStrategy extends Strategy {
  constructor() {
    super();
    this.name = 'session-cookie';
  }

  authenticate(req) {
    const sid = /(?:^|;\s*)sid=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
    const user = sid === undefined ? undefined : sessions.get(sha256(sid));
    if (user !== undefined) return this.success({ username: user }, { session: 'cookie' });
    return this.redirect(`/login.html?next=${encodeURIComponent(req.originalUrl)}`, 303);
  }
}

/** What serve.mjs passes to startServer({ modules }). */
export const modules = [
  passportModule({
    strategies: {
      // success({ username }, { scope }) → REMOTE_USER and AUTHENTICATE_SCOPE="read write".
      bearer: new BearerStrategy({ realm: 'api' }, (token, done) => {
        const found = tokens.get(sha256(token));
        if (found === undefined) return done(null, false);
        return done(null, { username: found.user }, { scope: found.scope });
      }),
      'session-cookie': new SessionCookieStrategy(),
    },
  }),
];
