// conf-examples/fastify/app.ts: a Fastify 5 application guarded by authts.
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { createAuth } from 'authts';
import { guard } from 'authts/fastify';

const auth = await createAuth({ config: fileURLToPath(new URL('site.conf', import.meta.url)) });

const app = Fastify();
await app.register(guard(auth));
app.get('/', async () => 'public\n');
app.get('/health', async () => ({ ok: true }));
app.get('/api/whoami', async (request) => ({ user: request.auth?.user }));
app.get('/api/admin/stats', async (request) => ({ admin: request.auth?.user, requests: 42 }));
app.addHook('onClose', () => auth.close());

const address = await app.listen({ port: Number(process.env['PORT'] ?? 8093), host: '127.0.0.1' });
console.log(`listening on ${address}/`);
process.once('SIGTERM', () => void app.close());
