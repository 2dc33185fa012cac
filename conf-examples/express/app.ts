// conf-examples/express/app.ts: an Express 5 application guarded by authts.
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createAuth } from 'authts';
import { guard } from 'authts/express';

const htdocs = fileURLToPath(new URL('htdocs', import.meta.url));
const auth = await createAuth({
  config: fileURLToPath(new URL('site.conf', import.meta.url)),
  // URL paths map to files under htdocs, for the <Directory> section.
  root: htdocs,
  // Express routes ignore case (/API/whoami reaches the /api/whoami route), so <Location>
  // must too: /API gets the /api rules.
  locationCase: 'insensitive',
});

const app = express();
app.use(guard(auth));
app.get('/api/whoami', (req, res) => {
  res.json({ user: req.auth?.user, authType: req.auth?.authType });
});
app.use(express.static(htdocs));

const server = app.listen(Number(process.env['PORT'] ?? 8092), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
});
process.once('SIGTERM', () => {
  server.close(() => void auth.close());
});
