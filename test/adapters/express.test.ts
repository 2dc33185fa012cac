/** authts/express: guard(auth, options?) in a real Express 5 app on 127.0.0.1. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import { AuthRefusedError, guard } from '../../src/adapters/express.js';
import { createAuth, type Auth } from '../../src/api.js';
import { basic } from '../e2e/helpers.js';
import { rawRequest } from '../services/http-client.js';
import { appBody, describeAdapter, type StartedServer } from './site.js';

async function listen(app: express.Express): Promise<StartedServer> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

describeAdapter('authts/express', async (auth) => {
  const app = express();
  // The shared table's Auth compares case, as httpd; so must every route here.
  app.set('case sensitive routing', true);
  app.use(guard(auth, { routes: 'case-sensitive' }));
  app.use((req, res) => {
    res.type('text/plain').send(appBody(req.auth?.user));
  });
  return listen(app);
});

const PRIVATE = '<Location "/private">\nAuthType Basic\nAuthName "Private area"\nAuthUserFile conf-examples/basic-file/users\nRequire valid-user\n</Location>';

async function withApp(auth: Auth, build: (app: express.Express) => void, run: (port: number) => Promise<void>): Promise<void> {
  const app = express();
  build(app);
  const started = await listen(app);
  try {
    await run(started.port);
  } finally {
    await started.close();
  }
}

describe('authts/express guard, beyond the shared table', () => {
  it('decides on req.originalUrl inside a mounted router', async () => {
    const auth = await createAuth({ config: { text: PRIVATE }, locationCase: 'insensitive' });
    try {
      await withApp(
        auth,
        (app) => {
          const router = express.Router();
          router.use(guard(auth));
          router.get('/x', (req, res) => {
            res.send(appBody(req.auth?.user));
          });
          app.use('/private', router);
        },
        async (port) => {
          // Inside the router req.url is /x; the section is for /private.
          const refused = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/private/x' });
          expect(refused.status).toBe(401);
          expect(refused.headers['www-authenticate']).toBe('Basic realm="Private area"');
          const allowed = await rawRequest(`http://127.0.0.1:${port}/`, {
            path: '/private/x',
            headers: { authorization: basic('alice:alice-secret') },
          });
          expect([allowed.status, allowed.body]).toEqual([200, appBody('alice')]);
        },
      );
    } finally {
      await auth.close();
    }
  });

  it("with refusals: 'next' hands an AuthRefusedError (status, headers) to the error handlers", async () => {
    const auth = await createAuth({ config: { text: PRIVATE }, locationCase: 'insensitive' });
    try {
      await withApp(
        auth,
        (app) => {
          app.use(guard(auth, { refusals: 'next' }));
          app.use((_req, res) => {
            res.send('ok');
          });
          app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
            if (!(err instanceof AuthRefusedError)) return next(err);
            res.status(err.status).set(err.headers).send(`custom ${err.message}`);
          });
        },
        async (port) => {
          const answer = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/private/x' });
          expect(answer.status).toBe(401);
          expect(answer.headers['www-authenticate']).toBe('Basic realm="Private area"');
          expect(answer.body).toBe('custom Unauthorized');
        },
      );
      // Without an error handler of ours, Express's final handler uses status and headers.
      await withApp(
        auth,
        (app) => {
          app.use(guard(auth, { refusals: 'next' }));
        },
        async (port) => {
          const answer = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/private/x' });
          expect(answer.status).toBe(401);
          expect(answer.headers['www-authenticate']).toBe('Basic realm="Private area"');
        },
      );
    } finally {
      await auth.close();
    }
  });

  it('refuses an Auth that compares case unless the routes are declared case-sensitive', async () => {
    const auth = await createAuth({ config: { text: PRIVATE } });
    try {
      expect(() => guard(auth)).toThrow(TypeError);
      expect(() => guard(auth)).toThrow(/locationCase: 'insensitive'/);
      expect(() => guard(auth, { routes: 'any' as never })).toThrow(/options\.routes must be 'case-sensitive'/);
      expect(() => guard(auth, { routes: 'case-sensitive' })).not.toThrow();
    } finally {
      await auth.close();
    }
  });

  it("with locationCase 'insensitive', /PRIVATE/x meets <Location /private> on Express's default routing", async () => {
    const auth = await createAuth({
      config: { text: `${PRIVATE}\n<LocationMatch "^/Admin/">\nRequire all denied\n</LocationMatch>` },
      locationCase: 'insensitive',
    });
    try {
      await withApp(
        auth,
        (app) => {
          app.use(guard(auth));
          app.get('/private/x', (req, res) => {
            res.send(appBody(req.auth?.user));
          });
          app.get('/admin/x', (_req, res) => {
            res.send('admin');
          });
        },
        async (port) => {
          for (const path of ['/PRIVATE/x', '/Private/X', '/private/x']) {
            const refused = await rawRequest(`http://127.0.0.1:${port}/`, { path });
            expect([path, refused.status, refused.headers['www-authenticate']]).toEqual([path, 401, 'Basic realm="Private area"']);
          }
          const allowed = await rawRequest(`http://127.0.0.1:${port}/`, {
            path: '/PRIVATE/x',
            headers: { authorization: basic('alice:alice-secret') },
          });
          expect([allowed.status, allowed.body]).toEqual([200, appBody('alice')]);
          // A regex section folds case too.
          expect((await rawRequest(`http://127.0.0.1:${port}/`, { path: '/ADMIN/x' })).status).toBe(403);
          expect((await rawRequest(`http://127.0.0.1:${port}/`, { path: '/admin/x' })).status).toBe(403);
        },
      );
    } finally {
      await auth.close();
    }
  });

  it("with routes: 'case-sensitive' and case-sensitive routing, /PRIVATE/x reaches no route", async () => {
    const auth = await createAuth({ config: { text: PRIVATE } });
    try {
      await withApp(
        auth,
        (app) => {
          app.set('case sensitive routing', true);
          app.use(guard(auth, { routes: 'case-sensitive' }));
          app.get('/private/x', (req, res) => {
            res.send(appBody(req.auth?.user));
          });
        },
        async (port) => {
          const answer = await rawRequest(`http://127.0.0.1:${port}/`, { path: '/PRIVATE/x' });
          expect(answer.status).toBe(404);
          expect(answer.body).not.toContain('ok ');
        },
      );
    } finally {
      await auth.close();
    }
  });

  it('refuses misuse with a TypeError naming the option', async () => {
    const auth = await createAuth({ config: { text: '' } });
    try {
      // @ts-expect-error not an Auth
      expect(() => guard(undefined)).toThrow(/authts\/express guard: auth must be/);
      // @ts-expect-error not a refusals mode
      expect(() => guard(auth, { refusals: 'throw' })).toThrow(/options\.refusals must be 'respond' or 'next'/);
    } finally {
      await auth.close();
    }
  });
});
