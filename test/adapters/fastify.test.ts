/** authts/fastify: the guard plugin in a real Fastify 5 app on 127.0.0.1. */
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AuthRefusedError, guard } from '../../src/adapters/fastify.js';
import { createAuth } from '../../src/api.js';
import { basic } from '../e2e/helpers.js';
import { rawRequest } from '../services/http-client.js';
import { appBody, describeAdapter, type StartedServer } from './site.js';

async function listen(app: FastifyInstance): Promise<StartedServer> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fastify did not bind a TCP port');
  return { port: address.port, close: () => app.close() };
}

describeAdapter('authts/fastify', async (auth) => {
  const app = Fastify();
  await app.register(guard(auth));
  app.all('/*', async (request, reply) => reply.type('text/plain').send(appBody(request.auth?.user)));
  return listen(app);
});

const PRIVATE = '<Location "/private">\nAuthType Basic\nAuthName "Private area"\nAuthUserFile conf-examples/basic-file/users\nRequire valid-user\n</Location>';

describe('authts/fastify guard, beyond the shared table', () => {
  it("with refusals: 'error' throws an AuthRefusedError to the error handler, the challenge on the reply", async () => {
    const auth = await createAuth({ config: { text: PRIVATE } });
    const app = Fastify();
    try {
      await app.register(guard(auth, { refusals: 'error' }));
      app.setErrorHandler(async (err, _request, reply) => {
        if (err instanceof AuthRefusedError) return reply.code(err.statusCode).send({ refused: err.message });
        return reply.send(err);
      });
      app.get('/private/x', async (request) => appBody(request.auth?.user));
      const { port } = await listen(app);
      const refused = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/private/x' });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Basic realm="Private area"');
      expect(JSON.parse(refused.body)).toEqual({ refused: 'Unauthorized' });
      const allowed = await rawRequest(`http://127.0.0.1:${port}/`, {
        path: '/private/x',
        headers: { authorization: basic('alice:alice-secret') },
      });
      expect([allowed.status, allowed.body]).toEqual([200, appBody('alice')]);
    } finally {
      await app.close();
      await auth.close();
    }
  });

  it('applies to routes of the context it is registered in, and two guards can share one', async () => {
    const open = await createAuth({ config: { text: '' } });
    const closed = await createAuth({ config: { text: '<Location "/">\nRequire all denied\n</Location>' } });
    const app = Fastify();
    try {
      await app.register(guard(open));
      await app.register(async (child) => {
        await child.register(guard(closed));
        child.get('/inner', async () => 'inner');
      });
      app.get('/outer', async (request) => appBody(request.auth?.user));
      const { port } = await listen(app);
      const outer = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/outer' });
      expect([outer.status, outer.body]).toEqual([200, appBody(undefined)]);
      const inner = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/inner' });
      expect(inner.status).toBe(403);
    } finally {
      await app.close();
      await open.close();
      await closed.close();
    }
  });

  it('refuses misuse with a TypeError naming the option', async () => {
    const auth = await createAuth({ config: { text: '' } });
    try {
      // @ts-expect-error not an Auth
      expect(() => guard(null)).toThrow(/authts\/fastify guard: auth must be/);
      // @ts-expect-error not a refusals mode
      expect(() => guard(auth, { refusals: 'next' })).toThrow(/options\.refusals must be 'respond' or 'error'/);
    } finally {
      await auth.close();
    }
  });
});
