/**
 * A form-body strategy (passport-local) behind authts/node: the adapter hands createAuth a body
 * reader, so a section with `AuthTsPassportFormBody On` reads the POSTed form.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Strategy as LocalStrategy } from 'passport-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guard } from '../../src/adapters/node.js';
import { createAuth, type Auth } from '../../src/api.js';
import { passportModule } from '../../src/authn/passport.js';
import type { PasswordChecker } from '../../src/module.js';
import { fileProvider } from '../../src/providers/file.js';
import { htpasswd, removeTempDirs, tempDir } from '../e2e/helpers.js';
import { rawRequest } from '../services/http-client.js';

const CONFIG = `<Location /login>
    AuthType passport
    AuthTsPassportStrategy local
    AuthTsPassportFormBody On
    AuthTsPassportFormSize 128
    Require valid-user
</Location>`;

let users: PasswordChecker;
let auth: Auth;
let server: Server;
let port = 0;

beforeAll(async () => {
  const dir = await tempDir('node-form');
  const userFile = join(dir, 'users');
  await writeFile(userFile, `${htpasswd('alice', 'wonderland')}\n`);
  users = await fileProvider({ userFile });
  const local = new LocalStrategy((username, password, done) => {
    users.checkPassword(username, password).then(
      (result) => done(null, result === 'granted' ? { username } : false),
      (err: unknown) => done(err),
    );
  });
  auth = await createAuth({ config: { text: CONFIG }, modules: [passportModule({ strategies: { local } })] });
  server = createServer(guard(auth, (req, res) => res.end(`hello ${req.auth.user}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await auth.close();
  await users.close();
  await removeTempDirs();
});

function post(body: string): ReturnType<typeof rawRequest> {
  return rawRequest(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    path: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
}

describe('authts/node with a form-body strategy', () => {
  it('reads the form: the right password passes, a wrong one is 401', async () => {
    const ok = await post('username=alice&password=wonderland');
    expect([ok.status, ok.body]).toEqual([200, 'hello alice']);
    const wrong = await post('username=alice&password=nope');
    expect(wrong.status).toBe(401);
  });

  it('a body over AuthTsPassportFormSize is 413, before the strategy runs', async () => {
    const big = await post(`username=alice&password=${'x'.repeat(200)}`);
    expect(big.status).toBe(413);
  });
});
