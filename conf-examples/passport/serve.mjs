// Serves site.conf with the strategies of strategies.mjs: `authts serve` with user modules.
// Run from anywhere after `npm run build`:  node conf-examples/passport/serve.mjs
// `--listen HOST:PORT` overrides the Listen line (the test uses 127.0.0.1:0).
import { fileURLToPath } from 'node:url';
import { createLogger, startServer } from 'authts';
import { modules } from './strategies.mjs';

const at = process.argv.indexOf('--listen');
const listen = at < 0 ? undefined : /^(.+):(\d+)$/.exec(process.argv[at + 1] ?? '');
if (at >= 0 && !listen) {
  process.stderr.write('usage: node serve.mjs [--listen HOST:PORT]\n');
  process.exit(2);
}

const server = await startServer({
  configFile: fileURLToPath(new URL('./site.conf', import.meta.url)),
  logger: createLogger(),
  modules,
  ...(listen ? { listen: [{ host: listen[1], port: Number(listen[2]) }] } : {}),
});
for (const { host, port } of server.addresses) process.stdout.write(`listening on http://${host}:${port}/\n`);

const stop = () => {
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
