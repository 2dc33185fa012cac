/**
 * Every conf-examples/<name>/site.conf loads without errors or warnings, and answers the curl
 * lines of its README.md with the statuses (and WWW-Authenticate values) the README states.
 *
 * The README is the test table: each `curl` line in a ```sh block is turned into a request,
 * and the comment after it (` # 401, WWW-Authenticate: Basic realm="x"`) into the expectation:
 * the first number is the status; `WWW-Authenticate: <value>` must be the header exactly;
 * `no WWW-Authenticate` means the header must be absent; `app: <line>` is the expected body.
 * forward-auth-nginx's ```sh nginx lines go through a real nginx started with its nginx.conf.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/log.js';
import { builtinModules } from '../src/modules.js';
import { startServer, type RunningServer } from '../src/server/serve.js';
import { startNginx, type NginxInstance } from './services/nginx.js';
import { startSlapd, type SlapdInstance } from './services/slapd.js';
import { createExamplePgDatabase, type ExampleDatabase } from './services/sql.js';
import { curlCases, type CurlCase } from './helpers/readme-curl.js';

const examplesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'conf-examples');
// An example with an app.ts embeds authts in an application (createAuth + guard) instead of
// `authts serve`: test/api-examples.test.ts runs those. One with a serve.mjs starts authts with
// modules registered in code (conf-examples/passport): test/e2e/passport-example.test.ts.
const examples = readdirSync(examplesDir, { withFileTypes: true })
  .filter(
    (entry) =>
      entry.isDirectory() &&
      existsSync(join(examplesDir, entry.name, 'site.conf')) &&
      !existsSync(join(examplesDir, entry.name, 'app.ts')) &&
      !existsSync(join(examplesDir, entry.name, 'serve.mjs')),
  )
  .map((entry) => entry.name)
  .sort();

/** `app: …` in a curl line's comment: the body the stand-in app must answer (forward-auth-nginx). */
function appLine(c: CurlCase): string | undefined {
  return /\bapp: (.*)$/.exec(c.comment)?.[1];
}

interface Answer {
  readonly status: number;
  readonly challenge: string | undefined;
  readonly body: string;
}

function send(port: number, c: CurlCase): Promise<Answer> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: c.method, path: c.path, headers: c.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const header = res.headers['www-authenticate'];
          resolvePromise({ status: res.statusCode ?? 0, challenge: Array.isArray(header) ? header.join(', ') : header, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const servers: RunningServer[] = [];
/** Stand-in applications started for examples with an upstream.mjs. */
const upstreams: Server[] = [];
const slapds: SlapdInstance[] = [];
const sqlDatabases: ExampleDatabase[] = [];

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await Promise.all(upstreams.map((upstream) => new Promise((resolvePromise) => upstream.close(resolvePromise))));
  await Promise.all(slapds.map((slapd) => slapd.stop()));
  await Promise.all(sqlDatabases.map((db) => db.drop()));
});

describe('conf-examples', () => {
  it('has the examples the docs name', () => {
    expect(examples).toEqual(
      expect.arrayContaining(['access-compat', 'basic-file', 'handler', 'provider-alias', 'require-trees']),
    );
  });

  for (const name of examples) {
    describe(name, () => {
      const file = join(examplesDir, name, 'site.conf');
      const readme = readFileSync(join(examplesDir, name, 'README.md'), 'utf8');
      const cases = curlCases(readme);

      it('loads with no errors and no warnings', async () => {
        const config = await loadConfig({ file, modules: builtinModules(), logger: silentLogger });
        expect(config.warnings).toEqual([]);
        await config.close();
      });

      it('has curl lines in its README', () => {
        expect(cases.length).toBeGreaterThanOrEqual(5);
        expect(readme).toContain(`npx authts serve -f conf-examples/${name}/site.conf`);
      });

      it('names a distinct 127.0.0.1 port that its README uses', () => {
        const listen = /^Listen 127\.0\.0\.1:(\d+)$/m.exec(readFileSync(file, 'utf8'));
        expect(listen).not.toBeNull();
        for (const c of cases) expect(c.line).toContain(`http://127.0.0.1:${listen![1]}/`);
      });

      describe('answers its README', () => {
        let port = 0;
        it('starts', async () => {
          // An example with an upstream.mjs proxies to it (reverse-proxy): it is started first,
          // on a free port, which the config reads as ${UPSTREAM_PORT} (-D UPSTREAM_PORT=…).
          const upstreamScript = join(examplesDir, name, 'upstream.mjs');
          let defines: Map<string, string> | undefined;
          if (existsSync(upstreamScript)) {
            const { startUpstream } = (await import(upstreamScript)) as { startUpstream(port: number): Promise<Server> };
            const upstream = await startUpstream(0);
            upstreams.push(upstream);
            defines = new Map([['UPSTREAM_PORT', String((upstream.address() as AddressInfo).port)]]);
          }
          // conf-examples/ldap asks a throwaway OpenLDAP (test/services/slapd.ts), started here;
          // the config reads -D LDAP_HOST and -D LDAP_CA_FILE.
          if (name === 'ldap') {
            const slapd = await startSlapd();
            slapds.push(slapd);
            defines = new Map([['LDAP_HOST', `127.0.0.1:${slapd.port}`], ['LDAP_CA_FILE', slapd.caFile]]);
          }
          // conf-examples/sql-postgres asks the machine's PostgreSQL: a database made here from
          // its schema.sql, named to the config with -D DBD_PARAMS.
          if (name === 'sql-postgres') {
            const db = await createExamplePgDatabase(readFileSync(join(examplesDir, name, 'schema.sql'), 'utf8'));
            sqlDatabases.push(db);
            defines = new Map([['DBD_PARAMS', db.params]]);
          }
          const server = await startServer({
            configFile: file,
            logger: silentLogger,
            listen: [{ host: '127.0.0.1', port: 0 }],
            ...(defines ? { defines } : {}),
          });
          servers.push(server);
          port = server.addresses[0]!.port;
          expect(port).toBeGreaterThan(0);
        });
        for (const c of cases) {
          it(c.line.replace(/\s+/g, ' '), async () => {
            expect(port, 'server did not start').toBeGreaterThan(0);
            const answer = await send(port, c);
            expect(answer.status).toBe(c.status);
            if (c.challenge === null) expect(answer.challenge).toBeUndefined();
            else if (c.challenge !== undefined) expect(answer.challenge).toBe(c.challenge);
            if (appLine(c) !== undefined) expect(answer.body).toBe(`app: ${appLine(c)}\n`);
          });
        }
      });
    });
  }

  it('conf-examples/README.md lists every example with its port', () => {
    const index = readFileSync(join(examplesDir, 'README.md'), 'utf8');
    for (const name of examples) {
      const port = /^Listen 127\.0\.0\.1:(\d+)$/m.exec(readFileSync(join(examplesDir, name, 'site.conf'), 'utf8'))?.[1];
      expect(index).toContain(`| [${name}](${name}/) | ${port} |`);
    }
  });

  it('docs/handlers.md shows conf-examples/handler as it is', () => {
    const doc = readFileSync(join(examplesDir, '..', 'docs', 'handlers.md'), 'utf8');
    for (const file of ['site.conf', 'handlers/client-check.ts', 'handlers/tokens.mjs', 'handlers/tokens.json']) {
      expect(doc, file).toContain(readFileSync(join(examplesDir, 'handler', file), 'utf8'));
    }
  });

  it('conf-examples/ldap/active-directory.conf loads with no errors and no warnings', async () => {
    const config = await loadConfig({ file: join(examplesDir, 'ldap', 'active-directory.conf'), modules: builtinModules(), logger: silentLogger });
    expect(config.warnings).toEqual([]);
    await config.close();
  });

  it('conf-examples/jwt/jwks-url.conf and oidc-issuer.conf load with no errors and no warnings', async () => {
    for (const name of ['jwks-url.conf', 'oidc-issuer.conf']) {
      const config = await loadConfig({ file: join(examplesDir, 'jwt', name), modules: builtinModules(), logger: silentLogger });
      expect(config.warnings, name).toEqual([]);
      await config.close();
    }
  });

  it('uses a different port in every example', () => {
    const ports = examples.map((name) => /^Listen 127\.0\.0\.1:(\d+)$/m.exec(readFileSync(join(examplesDir, name, 'site.conf'), 'utf8'))?.[1]);
    expect(new Set(ports).size).toBe(examples.length);
  });
});

describe('conf-examples/forward-auth-nginx through a real nginx', () => {
  const example = join(examplesDir, 'forward-auth-nginx');
  const cases = curlCases(readFileSync(join(example, 'README.md'), 'utf8'), 'nginx');
  let authts: RunningServer | undefined;
  let nginx: NginxInstance | undefined;

  afterAll(async () => {
    await nginx?.stop();
    await authts?.close();
  });

  it('has nginx curl lines in its README', () => {
    expect(cases.length).toBeGreaterThanOrEqual(5);
    for (const c of cases) expect(c.line).toContain('http://127.0.0.1:8088/');
  });

  it('starts authts and nginx with the example files (on free ports)', async () => {
    authts = await startServer({ configFile: join(example, 'site.conf'), logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
    const authPort = authts.addresses[0]!.port;
    const conf = readFileSync(join(example, 'nginx.conf'), 'utf8');
    nginx = await startNginx({
      ports: 2,
      http: ([listen, app]) =>
        conf
          .replaceAll('127.0.0.1:8087', `127.0.0.1:${authPort}`)
          .replaceAll('127.0.0.1:8088', `127.0.0.1:${listen!}`)
          .replaceAll('127.0.0.1:8089', `127.0.0.1:${app!}`),
    });
    expect(nginx.ports).toHaveLength(2);
  });

  for (const c of cases) {
    it(c.line.replace(/\s+/g, ' '), async () => {
      expect(nginx, 'nginx did not start').toBeDefined();
      const answer = await send(nginx!.ports[0]!, c);
      expect(answer.status).toBe(c.status);
      if (c.challenge === null) expect(answer.challenge).toBeUndefined();
      else if (c.challenge !== undefined) expect(answer.challenge).toBe(c.challenge);
      if (appLine(c) !== undefined) expect(answer.body).toBe(`app: ${appLine(c)}\n`);
    });
  }
});

describe('conf-examples/form-login signs in and out as its README says', () => {
  const example = join(examplesDir, 'form-login');
  let server: RunningServer | undefined;
  let base = '';

  afterAll(async () => {
    await server?.close();
  });

  it('starts', async () => {
    server = await startServer({ configFile: join(example, 'site.conf'), logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });

  it('answers the Location: values of its README curl lines', async () => {
    const located = curlCases(readFileSync(join(example, 'README.md'), 'utf8')).filter((c) => /Location: /.test(c.comment));
    expect(located.length).toBeGreaterThanOrEqual(2);
    for (const c of located) {
      const res = await fetch(`${base}${c.path}`, { method: c.method, headers: c.headers, redirect: 'manual' });
      expect(res.headers.get('location'), c.line).toBe(/Location: (\S+)/.exec(c.comment)![1]);
    }
  });

  it('signs alice in through the login page, back to the page she asked for, then out', async () => {
    const page = await fetch(`${base}/login?httpd_location=%2Fprivate%2Freport.txt`);
    const html = await page.text();
    const csrf = page.headers.getSetCookie().find((line) => line.startsWith('authts_login_csrf='))!;
    const token = /name="authts_csrf" value="([^"]+)"/.exec(html)![1]!;
    expect(html).toContain('Members&#39; pages');
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.slice(0, csrf.indexOf(';')) },
      body: new URLSearchParams({ authts_csrf: token, httpd_username: 'alice', httpd_password: 'alice-secret', httpd_location: '/private/report.txt' }).toString(),
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/private/report.txt');
    const line = login.headers.getSetCookie().find((l) => l.startsWith('authts_session='))!;
    expect(line).toMatch(/; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/);
    const session = line.slice(0, line.indexOf(';'));
    const report = await fetch(`${base}/private/report.txt`, { headers: { cookie: session }, redirect: 'manual' });
    expect(report.status).toBe(200);
    expect(await report.text()).toBe('The quarterly report: for members only.\n');
    expect((await fetch(`${base}/logout`, { headers: { cookie: session }, redirect: 'manual' })).status).toBe(303);
    expect((await fetch(`${base}/private/report.txt`, { headers: { cookie: session }, redirect: 'manual' })).status).toBe(302);
  });
});

describe('conf-examples/digest with the real curl --digest', () => {
  // The ```sh digest lines of its README need a client that answers the challenge: they are run
  // through curl itself (on the free port the example is started on) rather than sent as-is.
  const example = join(examplesDir, 'digest');
  const block = /```sh digest\n([\s\S]*?)```/.exec(readFileSync(join(example, 'README.md'), 'utf8'))?.[1] ?? '';
  const lines = block.split('\n').filter((line) => line.startsWith('curl '));
  let server: RunningServer | undefined;

  afterAll(async () => {
    await server?.close();
  });

  it('has curl --digest lines in its README', () => {
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) expect(line).toContain('--digest');
  });

  it('starts', async () => {
    server = await startServer({ configFile: join(example, 'site.conf'), logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
    expect(server.addresses[0]!.port).toBeGreaterThan(0);
  });

  for (const line of lines) {
    it(line.replace(/\s+/g, ' '), async () => {
      expect(server, 'server did not start').toBeDefined();
      const hash = line.indexOf(' # ');
      const expected = Number(/^(\d{3})/.exec(line.slice(hash + 3))?.[1]);
      const words = [...line.slice(0, hash).matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
      const args = words.slice(1).filter((word) => word !== '-i').map((word) => word.replace('127.0.0.1:8106', `127.0.0.1:${server!.addresses[0]!.port}`));
      const { stdout } = await promisify(execFile)('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args], { timeout: 10_000 });
      expect(Number(stdout)).toBe(expected);
    });
  }
});
