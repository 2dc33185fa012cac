// The Node peers of bench/jwt-bench.mjs: the same small file behind the same Bearer check, done by
// the usual middlewares instead of authts.
//
//   node bench/jwt-peers.mjs express <file> <port> none|ES256|RS256 <public.pem> <iss> <aud>
//   node bench/jwt-peers.mjs fastify <file> <port> none|ES256|RS256 <public.pem> <iss> <aud> [cache]
//
// express: express 5 + express-jwt (jsonwebtoken), the key as a KeyObject made once at start.
// fastify: fastify 5 + @fastify/jwt (fast-jwt); `cache` turns on fast-jwt's cache of verified
// tokens (`verify: { cache: true }`: 1000 entries, keys hashed), the peer of `AuthTsJwtCache On`.
// Both check the signature with the one configured key, the algorithm allow-list, `iss`, `aud`
// and `exp`, answer 401 with `WWW-Authenticate: Bearer realm="bench"` when that fails, and serve
// the file with the `send` package (what `authts serve` and express.static use) when it passes.
// Listens on 127.0.0.1 only and prints "listening <port>" once bound. SIGTERM closes it.
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import send from 'send';

const [kind, file, portText, alg, pemFile, issuer, audience, cacheFlag] = process.argv.slice(2);
if (!['express', 'fastify'].includes(kind) || !file || !portText || !['none', 'ES256', 'RS256'].includes(alg)) {
  process.stderr.write('usage: jwt-peers.mjs express|fastify <file> <port> none|ES256|RS256 <public.pem> <iss> <aud> [cache]\n');
  process.exit(2);
}
if (alg !== 'none' && (!pemFile || !issuer || !audience)) {
  process.stderr.write('jwt-peers.mjs: a protected peer needs <public.pem> <iss> <aud>\n');
  process.exit(2);
}
const port = Number(portText);
const CHALLENGE = 'Bearer realm="bench"';

function sendFile(req, res) {
  send(req, file, { dotfiles: 'allow', index: false, cacheControl: false }).pipe(res);
}

let close;
if (kind === 'express') {
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (alg !== 'none') {
    const { expressjwt } = await import('express-jwt');
    const key = createPublicKey(readFileSync(pemFile, 'utf8'));
    app.use(expressjwt({ secret: key, algorithms: [alg], issuer, audience }));
  }
  app.get('/p/file.txt', (req, res) => sendFile(req, res));
  // express-jwt's failures (no token, bad token) arrive here as UnauthorizedError.
  app.use((err, _req, res, next) => {
    if (err?.name !== 'UnauthorizedError') return next(err);
    res.status(401).set('WWW-Authenticate', CHALLENGE).end();
  });
  const server = app.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
  close = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
} else {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  if (alg !== 'none') {
    const { default: fastifyJwt } = await import('@fastify/jwt');
    await app.register(fastifyJwt, {
      secret: { public: readFileSync(pemFile, 'utf8') },
      verify: { algorithms: [alg], allowedIss: issuer, allowedAud: audience, requiredClaims: ['exp'], ...(cacheFlag === 'cache' ? { cache: true } : {}) },
    });
    app.addHook('onRequest', async (request, reply) => {
      try {
        await request.jwtVerify();
      } catch {
        return reply.code(401).header('WWW-Authenticate', CHALLENGE).send();
      }
    });
  }
  app.get('/p/file.txt', (request, reply) => {
    reply.hijack();
    sendFile(request.raw, reply.raw);
  });
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write(`listening ${port}\n`);
  close = () => {
    app.close().then(() => process.exit(0));
  };
}

process.on('SIGTERM', () => close());
