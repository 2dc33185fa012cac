// The Node peers of bench/peers-bench.mjs for Basic auth: the same small file behind the same
// check, done by the usual Node libraries instead of authts.
//
//   node bench/basic-peers.mjs http-auth         <file> <port> <htpasswd file>
//   node bench/basic-peers.mjs passport-http     <file> <port> <htpasswd file>
//   node bench/basic-peers.mjs passport-ldapauth <file> <port> <ldap url> <bind dn> <search base>
//                                                 (the bind password in $BENCH_LDAP_BIND_PASSWORD)
//
// http-auth: node:http + http-auth's `basic({ file })`, which loads the htpasswd file itself and
// checks `$apr1$`, `{SHA}` and bcrypt (with bcryptjs, its own dependency).
// passport-http: express + passport + BasicStrategy; the verify callback is what an application
// writes: the htpasswd file loaded into a Map once at start, bcrypt checked by the native `bcrypt`
// package, `$apr1$` by apache-md5, `{SHA}` by node:crypto, compared in constant time.
// passport-ldapauth: express + passport + LdapStrategy, credentials from the Authorization header
// (basic-auth), a search as the service account then a bind as the user (ldapauth-fork opens
// new connections for every request: passport-ldapauth makes one LdapAuth per authentication).
// All serve the file with the `send` package (as bench/jwt-peers.mjs) and answer 401 with
// `WWW-Authenticate: Basic realm="bench"` when the check fails. Listens on 127.0.0.1 only and
// prints "listening <port>" once bound. SIGTERM closes it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import send from 'send';

const [kind, file, portText, ...rest] = process.argv.slice(2);
const KINDS = ['http-auth', 'passport-http', 'passport-ldapauth'];
if (!KINDS.includes(kind) || !file || !portText || rest.length < (kind === 'passport-ldapauth' ? 3 : 1)) {
  process.stderr.write(`usage: basic-peers.mjs ${KINDS.join('|')} <file> <port> <htpasswd file | ldap url bind-dn search-base>\n`);
  process.exit(2);
}
const port = Number(portText);
const CHALLENGE = 'Basic realm="bench"';

function sendFile(req, res) {
  send(req, file, { dotfiles: 'allow', index: false, cacheControl: false }).pipe(res);
}

/** user → hash of an htpasswd file (the last line of a user wins, as a Map does). */
function loadHtpasswd(path) {
  const users = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) users.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return users;
}

const sameBytes = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

let server;
if (kind === 'http-auth') {
  const { default: auth } = await import('http-auth');
  const basic = auth.basic({ realm: 'bench', file: rest[0] });
  server = createServer(basic.check((req, res) => sendFile(req, res)));
} else {
  const { default: express } = await import('express');
  const { default: passport } = await import('passport');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(passport.initialize());
  let strategyName;
  if (kind === 'passport-http') {
    const { BasicStrategy } = await import('passport-http');
    const { default: bcrypt } = await import('bcrypt');
    const { default: md5 } = await import('apache-md5');
    const users = loadHtpasswd(rest[0]);
    const check = async (password, hash) => {
      // The bcrypt package knows `$2a$` and `$2b$`; htpasswd writes `$2y$`, crypt_blowfish's name
      // for the same algorithm as `$2b$`: an application reading htpasswd files renames it.
      if (/^\$2[ab]\$/.test(hash)) return bcrypt.compare(password, hash);
      if (hash.startsWith('$2y$')) return bcrypt.compare(password, `$2b$${hash.slice(4)}`);
      if (hash.startsWith('$apr1$')) return sameBytes(md5(password, hash), hash);
      if (hash.startsWith('{SHA}')) return sameBytes(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
      return false;
    };
    passport.use(
      new BasicStrategy((user, password, done) => {
        const hash = users.get(user);
        if (hash === undefined) return done(null, false);
        check(password, hash).then((ok) => done(null, ok ? { user } : false), done);
      }),
    );
    strategyName = 'basic';
  } else {
    const { default: LdapStrategy } = await import('passport-ldapauth');
    const { default: basicAuth } = await import('basic-auth');
    const [url, bindDN, searchBase] = rest;
    passport.use(
      new LdapStrategy({
        server: { url, bindDN, bindCredentials: process.env.BENCH_LDAP_BIND_PASSWORD ?? '', searchBase, searchFilter: '(uid={{username}})' },
        credentialsLookup: basicAuth,
        missingCredentialsStatus: 401,
      }),
    );
    strategyName = 'ldapauth';
  }
  app.get('/p/file.txt', (req, res, next) => {
    passport.authenticate(strategyName, { session: false }, (err, user) => {
      if (err) return next(err);
      if (!user) return res.status(401).set('WWW-Authenticate', CHALLENGE).end();
      sendFile(req, res);
    })(req, res, next);
  });
  server = createServer(app);
}

server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
