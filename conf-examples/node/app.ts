// conf-examples/node/app.ts: a node:http server guarded by authts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createAuth } from 'authts';
import { guard } from 'authts/node';

const auth = await createAuth({ config: fileURLToPath(new URL('site.conf', import.meta.url)) });

const server = createServer(
  guard(auth, (req, res) => {
    // Only requests the configuration allows get here; req.auth says who.
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`hello ${req.auth.user ?? 'guest'}\n`);
  }),
);
server.listen(Number(process.env['PORT'] ?? 8091), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
process.once('SIGTERM', () => {
  server.close(() => void auth.close());
});
