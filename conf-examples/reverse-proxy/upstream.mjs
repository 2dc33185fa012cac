// The stand-in application behind conf-examples/reverse-proxy: plain node:http, no auth of its
// own. It trusts X-Remote-User because only authts can reach it (it listens on 127.0.0.1).
//
//   node conf-examples/reverse-proxy/upstream.mjs [port]     (default 8092)
//
// GET /app/whoami   → "app: <X-Remote-User or ->"
// GET /app/login    → 302 to http://127.0.0.1:<port>/app/ (ProxyPassReverse maps it back)
// anything else     → "app: <the path and query it received>"
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

/** Starts the application on 127.0.0.1:`port` (0: a free port); resolves with the server. */
export function startUpstream(port) {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/app/login') {
      const { port: own } = server.address();
      res.writeHead(302, { Location: `http://127.0.0.1:${own}/app/` });
      res.end();
      return;
    }
    const text = url.split('?')[0].endsWith('/whoami') ? (req.headers['x-remote-user'] ?? '-') : url;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`app: ${text}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await startUpstream(Number(process.argv[2] ?? 8092));
  console.log(`application listening on http://127.0.0.1:${server.address().port}/app/`);
}
