import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { ContentContext, Module } from '../../src/module.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { basic, htpasswd, removeTempDirs, tempDir } from './helpers.js';

const seen: ContentContext[] = [];
const echo: Module = {
  name: 'echo-handler',
  contentHandlers: [
    {
      name: 'echo-handler',
      async handle(ctx) {
        seen.push(ctx);
        ctx.res.setHeader('Content-Type', 'text/plain');
        ctx.res.end(`${ctx.req.method} ${ctx.path}?${ctx.query} as ${ctx.verdict.user ?? '-'}\n`);
      },
    },
    {
      name: 'broken-handler',
      async handle() {
        throw new Error('the handler failed before answering');
      },
    },
  ],
};

describe('SetHandler: content handlers answer instead of the file', () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    dir = await tempDir('sethandler');
    await mkdir(join(dir, 'htdocs', 'files'), { recursive: true });
    await writeFile(join(dir, 'htdocs', 'files', 'a.txt'), 'the file\n');
    await writeFile(join(dir, 'users'), `${htpasswd('alice', 'pw')}\n`);
    await writeFile(
      join(dir, 'site.conf'),
      [
        'Listen 127.0.0.1:0',
        'DocumentRoot htdocs',
        '<Location /echo>',
        '  SetHandler echo-handler',
        '</Location>',
        '<Location /echo/plain>',
        '  SetHandler None',
        '</Location>',
        '<Location /broken>',
        '  SetHandler broken-handler',
        '</Location>',
        '<Location /files>',
        '  SetHandler Echo-Handler',
        '  AuthType Basic',
        '  AuthName "files"',
        '  AuthUserFile users',
        '  Require valid-user',
        '</Location>',
        '',
      ].join('\n'),
    );
    server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger, modules: [echo] });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await removeTempDirs();
  });

  it('answers a URL that maps to no file', async () => {
    const res = await fetch(`${base}/echo/anything?x=1`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('GET /echo/anything?x=1 as -\n');
  });

  it('SetHandler None in an inner section turns the handler off again', async () => {
    const res = await fetch(`${base}/echo/plain/x`);
    expect(res.status).toBe(404);
  });

  it('runs only after the phases allowed the request, with their user', async () => {
    const count = seen.length;
    const refused = await fetch(`${base}/files/a.txt`);
    expect(refused.status).toBe(401);
    expect(seen.length).toBe(count);
    const allowed = await fetch(`${base}/files/a.txt`, { headers: { Authorization: basic('alice:pw') } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe('GET /files/a.txt? as alice\n');
  });

  it('a handler that throws before answering gives 500, and the server goes on serving', async () => {
    const res = await fetch(`${base}/broken/x`);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('Internal Server Error');
    expect((await fetch(`${base}/echo/after`)).status).toBe(200);
  });

  it('an unknown handler name stops the start, naming file and line', async () => {
    await writeFile(join(dir, 'bad.conf'), 'Listen 127.0.0.1:0\n<Location /x>\n  SetHandler no-such-handler\n</Location>\n');
    const error = await startServer({ configFile: join(dir, 'bad.conf'), logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigErrors);
    const [first] = (error as ConfigErrors).errors;
    expect(first?.line).toBe(3);
    expect(first?.code).toBe('CONFIG_BAD_ARGUMENT');
    expect(first?.message).toContain('SetHandler no-such-handler: no such handler');
  });

  it('SetHandler is refused outside a section, as httpd only allows it in directory context here', async () => {
    await writeFile(join(dir, 'top.conf'), 'Listen 127.0.0.1:0\nSetHandler None\n');
    const error = await startServer({ configFile: join(dir, 'top.conf'), logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigErrors);
    expect((error as ConfigErrors).errors[0]?.line).toBe(2);
  });
});
