/** authts/node: guard(auth, listener) on a real node:http server on 127.0.0.1. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guard } from '../../src/adapters/node.js';
import { createAuth } from '../../src/api.js';
import { rawRequest } from '../services/http-client.js';
import { appBody, describeAdapter, type StartedServer } from './site.js';

async function listen(server: ReturnType<typeof createServer>): Promise<StartedServer> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

describeAdapter('authts/node', (auth) =>
  listen(
    createServer(
      guard(auth, (req, res) => {
        res.end(appBody(req.auth.user));
      }),
    ),
  ),
);

describe('authts/node guard, beyond the shared table', () => {
  it('refuses misuse with a TypeError naming the argument', async () => {
    const auth = await createAuth({ config: { text: '' } });
    try {
      // @ts-expect-error not an Auth
      expect(() => guard({}, () => {})).toThrow(/authts\/node guard: auth must be what createAuth\(\) returns/);
      // @ts-expect-error no listener
      expect(() => guard(auth)).toThrow(/listener must be a function/);
    } finally {
      await auth.close();
    }
  });

  it('answers 500 once the Auth is closed, never a pass', async () => {
    const auth = await createAuth({ config: { text: '' } });
    await auth.close();
    const started = await listen(createServer(guard(auth, (_req, res) => res.end(appBody(undefined)))));
    try {
      const answer = await rawRequest(`http://127.0.0.1:${started.port}/`);
      expect(answer.status).toBe(500);
      expect(answer.body).toBe('500 Internal Server Error\n');
    } finally {
      await started.close();
    }
  });

  it('passes the phases\' env and the auth type to the listener', async () => {
    const auth = await createAuth({
      config: { text: '<Location "/">\nAuthType Basic\nAuthName "x"\nAuthUserFile conf-examples/basic-file/users\nRequire valid-user\n</Location>' },
    });
    let seen: unknown;
    const started = await listen(
      createServer(
        guard(auth, (req, res) => {
          seen = { user: req.auth.user, authType: req.auth.authType, env: req.auth.env instanceof Map };
          res.end('ok');
        }),
      ),
    );
    try {
      const answer = await rawRequest(`http://127.0.0.1:${started.port}/`, {
        headers: { authorization: `Basic ${Buffer.from('bob:bob-secret').toString('base64')}` },
      });
      expect(answer.status).toBe(200);
      expect(seen).toEqual({ user: 'bob', authType: 'Basic', env: true });
    } finally {
      await started.close();
      await auth.close();
    }
  });
});
