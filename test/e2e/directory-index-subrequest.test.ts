/**
 * mod_dir's DirectoryIndex subrequest, as httpd's ap_process_request_internal runs it: under
 * the very same merged configuration the main request's user and decision stand (the password
 * is checked once), and under a different one (a <Files index.html> section) the index is
 * decided on its own.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { AuthnResult, Module } from '../../src/module.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { basic, removeTempDirs, tempDir } from './helpers.js';

/** Checks made so far, by user. */
const checks: string[] = [];

const counting: Module = {
  name: 'test_counting',
  authnProviders: {
    counting: {
      async checkPassword(_req, user, password): Promise<AuthnResult> {
        checks.push(user);
        if (user !== 'alice' && user !== 'bob') return 'not-found';
        return password === `${user}-pw` ? 'granted' : 'denied';
      },
    },
  },
};

let server: RunningServer;
let base = '';

beforeAll(async () => {
  const dir = await tempDir('dirindex');
  const www = join(dir, 'www');
  await mkdir(join(www, 'same'), { recursive: true });
  await mkdir(join(www, 'files'), { recursive: true });
  await writeFile(join(www, 'same', 'index.html'), 'same index\n');
  await writeFile(join(www, 'files', 'index.html'), 'files index\n');
  const configFile = join(dir, 'site.conf');
  await writeFile(
    configFile,
    `DocumentRoot "${www}"
<Directory "${www}">
    AuthType Basic
    AuthName "site"
    AuthBasicProvider counting
    Require valid-user
</Directory>
<Directory "${www}/files">
    <Files "index.html">
        Require user bob
    </Files>
</Directory>
`,
  );
  server = await startServer({ configFile, logger: silentLogger, modules: [counting], listen: [{ host: '127.0.0.1', port: 0 }] });
  base = `http://127.0.0.1:${server.addresses[0]!.port}/`;
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

describe('DirectoryIndex subrequest', () => {
  it('under the same configuration, the credentials are checked once and the index is served', async () => {
    checks.length = 0;
    const answer = await rawRequest(base, { path: '/same/', headers: { authorization: basic('alice:alice-pw') } });
    expect([answer.status, answer.body]).toEqual([200, 'same index\n']);
    expect(checks).toEqual(['alice']);
  });

  it('without credentials the directory itself is refused first (401), no check made', async () => {
    checks.length = 0;
    const answer = await rawRequest(base, { path: '/same/' });
    expect(answer.status).toBe(401);
    expect(checks).toEqual([]);
  });

  it('under a different configuration (<Files index.html>), the index is decided on its own', async () => {
    checks.length = 0;
    const alice = await rawRequest(base, { path: '/files/', headers: { authorization: basic('alice:alice-pw') } });
    // alice may see the directory but not its index: with one DirectoryIndex name the 401 passes on.
    expect(alice.status).toBe(401);
    expect(checks).toEqual(['alice', 'alice']);
    checks.length = 0;
    const bob = await rawRequest(base, { path: '/files/', headers: { authorization: basic('bob:bob-pw') } });
    expect([bob.status, bob.body]).toEqual([200, 'files index\n']);
    expect(checks).toEqual(['bob', 'bob']);
  });
});
