/**
 * A real nginx (`auth_request`) in front of a small upstream, asking `authts serve` at
 * `AuthTsForwardAuth /_authts` about every request. authts's `<Location>` sections decide what
 * is protected; nginx only carries the answer.
 *
 * The invariant of the path-spelling table: no spelling reaches the upstream without
 * authentication when any plausible reading of the path the upstream received (raw, decoded
 * once or twice, dot segments resolved, `//` merged, `;` parameters cut, `\` as `/`, URL-parsed)
 * is a protected path. A missing nginx fails this suite (see test/services/nginx.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { startNginx, type NginxInstance } from '../services/nginx.js';
import { basic, captureLogger, htpasswd, removeTempDirs, tempDir } from './helpers.js';

/** What the upstream received. */
interface Hit {
  readonly url: string;
  readonly method: string;
  readonly user: string | undefined;
  readonly groups: string | undefined;
  readonly email: string | undefined;
}

const hits: Hit[] = [];
let upstream: Server;
let authts: RunningServer;
let nginx: NginxInstance;
const logged = captureLogger();

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The recommended nginx setup (docs/forward-auth.md): every location asks authts. */
function nginxSite(port: number, authPort: number, appPort: number): string {
  return `
upstream authts { server 127.0.0.1:${authPort}; keepalive 8; }
upstream app    { server 127.0.0.1:${appPort}; keepalive 8; }
server {
    listen 127.0.0.1:${port};
    location / {
        auth_request /_authts;
        auth_request_set $authts_user   $upstream_http_remote_user;
        auth_request_set $authts_groups $upstream_http_remote_groups;
        auth_request_set $authts_email  $upstream_http_remote_email;
        proxy_set_header Remote-User   $authts_user;
        proxy_set_header Remote-Groups $authts_groups;
        proxy_set_header Remote-Email  $authts_email;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://app;
    }
    location = /_authts {
        internal;
        proxy_pass http://authts;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URI $request_uri;
        proxy_set_header X-Original-Method $request_method;
        proxy_set_header X-Forwarded-Uri "";
        proxy_set_header X-Forwarded-Method "";
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
`;
}

beforeAll(async () => {
  const dir = await tempDir('fwd-nginx');
  await writeFile(join(dir, 'users'), `${htpasswd('alice', 'alice-pw')}\n${htpasswd('bob', 'bob-pw')}\n`);
  await writeFile(join(dir, 'groups'), 'Admins: alice\nstaff: alice bob\n');
  await writeFile(
    join(dir, 'site.conf'),
    `Listen 127.0.0.1:0
AuthTsForwardAuth /_authts
AuthTsTrustedProxy 127.0.0.1
<Location "/private">
    AuthType Basic
    AuthName "Private area"
    AuthUserFile users
    AuthGroupFile groups
    Require valid-user
</Location>
<Location "/admin">
    AuthType Basic
    AuthName "Admins"
    AuthUserFile users
    AuthGroupFile groups
    Require group Admins
</Location>
<Location "/write">
    AuthType Basic
    AuthName "Writers"
    AuthUserFile users
    <RequireAny>
        Require method GET HEAD
        Require valid-user
    </RequireAny>
</Location>
<Location "/intranet">
    Require ip 127.0.0.1
</Location>
<Location "/partners">
    Require ip 192.0.2.0/24
</Location>
`,
  );
  upstream = createServer((req, res) => {
    hits.push({ url: req.url ?? '', method: req.method ?? '', user: header(req, 'remote-user'), groups: header(req, 'remote-groups'), email: header(req, 'remote-email') });
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`upstream ${req.method} ${req.url}\n`);
  });
  upstream.listen(0, '127.0.0.1');
  await new Promise((resolve) => upstream.once('listening', resolve));
  authts = await startServer({ configFile: join(dir, 'site.conf'), logger: logged.log, listen: [{ host: '127.0.0.1', port: 0 }] });
  const authPort = authts.addresses[0]!.port;
  const appPort = (upstream.address() as AddressInfo).port;
  nginx = await startNginx({ http: ([port]) => nginxSite(port!, authPort, appPort) });
});

afterAll(async () => {
  await nginx?.stop();
  await authts?.close();
  if (upstream) await new Promise((resolve) => upstream.close(resolve));
  await removeTempDirs();
});

/** Sends one request through nginx and returns the answer with the upstream hits it caused. */
async function viaNginx(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  const before = hits.length;
  const res = await rawRequest(nginx.url, { method, path, headers, ...(body === undefined ? {} : { body }) });
  return { res, hits: hits.slice(before) };
}

describe('nginx auth_request → authts', () => {
  it('lets public paths through without credentials, with empty identity headers', async () => {
    const { res, hits: seen } = await viaNginx('/public/x');
    expect(res.status).toBe(200);
    expect(res.body).toBe('upstream GET /public/x\n');
    expect(seen).toEqual([{ url: '/public/x', method: 'GET', user: undefined, groups: undefined, email: undefined }]);
  });

  it('never passes a client-supplied identity header to the upstream', async () => {
    const spoof = { 'Remote-User': 'admin', 'Remote-Groups': 'Admins', 'Remote-Email': 'root@example.org' };
    const pub = await viaNginx('/public/x', spoof);
    expect(pub.res.status).toBe(200);
    expect(pub.hits).toEqual([{ url: '/public/x', method: 'GET', user: undefined, groups: undefined, email: undefined }]);
    const priv = await viaNginx('/private/x', { ...spoof, Authorization: basic('bob:bob-pw') });
    expect(priv.res.status).toBe(200);
    expect(priv.hits).toEqual([{ url: '/private/x', method: 'GET', user: 'bob', groups: 'staff', email: undefined }]);
    const denied = await viaNginx('/private/x', spoof);
    expect(denied.res.status).toBe(401);
    expect(denied.hits).toEqual([]);
  });

  it('answers 401 with authts challenge, and passes the user and groups on success', async () => {
    const none = await viaNginx('/private/x');
    expect(none.res.status).toBe(401);
    expect(none.res.headers['www-authenticate']).toBe('Basic realm="Private area"');
    expect(none.hits).toEqual([]);
    const wrong = await viaNginx('/private/x', { Authorization: basic('alice:nope') });
    expect(wrong.res.status).toBe(401);
    expect(wrong.hits).toEqual([]);
    const alice = await viaNginx('/private/x?q=1', { Authorization: basic('alice:alice-pw') });
    expect(alice.res.status).toBe(200);
    expect(alice.hits).toEqual([{ url: '/private/x?q=1', method: 'GET', user: 'alice', groups: 'Admins,staff', email: undefined }]);
  });

  it('decides Require group with the section group file', async () => {
    const bob = await viaNginx('/admin/panel', { Authorization: basic('bob:bob-pw') });
    expect(bob.res.status).toBe(401);
    expect(bob.res.headers['www-authenticate']).toBe('Basic realm="Admins"');
    expect(bob.hits).toEqual([]);
    const alice = await viaNginx('/admin/panel', { Authorization: basic('alice:alice-pw') });
    expect(alice.res.status).toBe(200);
    expect(alice.hits.map((h) => h.user)).toEqual(['alice']);
  });

  it('decides on the original method (X-Original-Method), not the subrequest GET', async () => {
    const get = await viaNginx('/write/doc');
    expect(get.res.status).toBe(200);
    const post = await viaNginx('/write/doc', {}, 'POST', 'a=1');
    expect(post.res.status).toBe(401);
    expect(post.hits).toEqual([]);
    const authed = await viaNginx('/write/doc', { Authorization: basic('bob:bob-pw') }, 'POST', 'a=1');
    expect(authed.res.status).toBe(200);
    // No AuthGroupFile in /write: Remote-Groups is empty, and nginx sends no empty header.
    expect(authed.hits).toEqual([{ url: '/write/doc', method: 'POST', user: 'bob', groups: undefined, email: undefined }]);
  });

  it('decides Require ip on the client address from X-Forwarded-For', async () => {
    expect((await viaNginx('/intranet/x')).res.status).toBe(200);
    const partners = await viaNginx('/partners/x');
    expect(partners.res.status).toBe(403);
    expect(partners.hits).toEqual([]);
  });

  it('keeps the internal endpoint internal', async () => {
    const before = hits.length;
    const res = await rawRequest(nginx.url, { path: '/_authts', headers: { 'X-Original-URI': '/public/x', 'X-Original-Method': 'GET' } });
    // "location = /_authts" wins over "location /", and "internal" answers 404 from outside.
    expect(res.status).toBe(404);
    expect(hits.length).toBe(before);
  });
});

const PROTECTED = ['/private', '/admin'];

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every plausible way an upstream could read the path of `url`. */
function readings(url: string): string[] {
  const raw = url.split('?')[0] ?? '';
  const out = new Set<string>([raw, decode(raw), decode(decode(raw))]);
  for (const path of [...out]) {
    out.add(path.replace(/\\/g, '/'));
    out.add(
      path
        .split('/')
        .map((segment) => segment.split(';')[0])
        .join('/'),
    );
  }
  for (const path of [...out]) {
    out.add(posix.normalize(path));
    try {
      out.add(decode(new URL(path, 'http://upstream.invalid').pathname));
    } catch {
      // not a URL any parser would take
    }
  }
  return [...out];
}

function isProtected(path: string): boolean {
  return PROTECTED.some((p) => path === p || path.startsWith(`${p}/`));
}

describe('path spellings through nginx', () => {
  // Expected statuses: 401 where authts sees the protected path; 500 where authts refused the
  // spelling (400 FORWARD_AUTH_AMBIGUOUS_PATH, or 404 for an encoded "/") — nginx turns any
  // auth answer other than 2xx/401/403 into 500; 400 where nginx itself refused it; 200 only
  // for paths that are public to authts under every reading.
  const table: Array<[string, number]> = [
    ['/private/x', 401],
    ['/private', 401],
    ['/%70rivate/x', 401],
    ['/%70%72%69%76%61%74%65/x', 401],
    ['/private/../public/x', 500],
    ['/public/../private/x', 500],
    ['/private/./x', 500],
    ['/private/%2e%2e/public/x', 500],
    ['/public/%2e%2e/private/x', 500],
    ['//private/x', 500],
    ['/public//private/x', 500],
    ['//public/private/x', 500],
    ['/private%2Fx', 500],
    ['/private%2fx', 500],
    ['/public%2F..%2Fprivate/x', 500],
    ['/private;x=1/y', 500],
    ['/public/..;/private/x', 500],
    ['/private%3Bx/y', 500],
    ['/public\\..\\private\\x', 500],
    ['/public%5C..%5Cprivate', 500],
    ['/%2570rivate/x', 500],
    ['/private/x#frag', 500],
    ['/../private/x', 400],
    ['/%2e%2e/private/x', 400],
    ['/privatex', 200],
    ['/public/x?next=/private/x', 200],
    // Case: authts, like httpd on Linux, matches <Location> case-sensitively, and this upstream
    // is case-sensitive too. An upstream that is not must be told so (docs/forward-auth.md).
    ['/PRIVATE/x', 200],
  ];

  for (const [spelling, status] of table) {
    it(`${spelling} → ${status}, never an unauthenticated protected path`, async () => {
      const { res, hits: seen } = await viaNginx(spelling);
      for (const hit of seen) {
        const protectedReadings = readings(hit.url).filter(isProtected);
        expect(protectedReadings, `upstream got ${hit.url} without a user`).toEqual([]);
        expect(hit.user).toBeUndefined();
      }
      expect(res.status).toBe(status);
      if (status !== 200) expect(seen).toEqual([]);
    });
  }

  it('logged the refused spellings with their code', () => {
    const codes = logged.lines.filter((l) => l['code'] === 'FORWARD_AUTH_AMBIGUOUS_PATH');
    expect(codes.length).toBeGreaterThanOrEqual(10);
    expect(logged.lines.filter((l) => l['code'] === 'FORWARD_AUTH_UNTRUSTED')).toEqual([]);
  });
});
