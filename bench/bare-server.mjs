// The baseline of bench/serve-bench.mjs: a bare node:http server answering every request with
// one small file, and nothing else (no routing, no path mapping, no ETag/Last-Modified).
//
//   node bench/bare-server.mjs memory <file> <port>   the file's bytes, read once at start
//   node bench/bare-server.mjs fs     <file> <port>   fs.promises.readFile(file) per request
//   node bench/bare-server.mjs send   <file> <port>   the `send` package, as a Node static file
//                                                     server serves a file (ETag, Last-Modified,
//                                                     Range; the library authts serve uses)
//
// It listens on 127.0.0.1 only and prints "listening <port>" once bound. SIGTERM closes it.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import send from 'send';

const [mode, file, portText] = process.argv.slice(2);
if (!['memory', 'fs', 'send'].includes(mode) || !file || !portText) {
  process.stderr.write('usage: bare-server.mjs memory|fs|send <file> <port>\n');
  process.exit(2);
}

const CONTENT_TYPE = 'text/plain; charset=utf-8';
const inMemory = readFileSync(file);

function answer(res, body) {
  res.statusCode = 200;
  res.setHeader('Content-Type', CONTENT_TYPE);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

const handlers = {
  memory: (_req, res) => answer(res, inMemory),
  fs: (_req, res) => {
    readFile(file).then(
      (body) => answer(res, body),
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  },
  send: (req, res) => {
    send(req, file, { dotfiles: 'allow', index: false, cacheControl: false }).pipe(res);
  },
};
const server = createServer(handlers[mode]);

server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
