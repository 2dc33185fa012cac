/**
 * `SetHandler authts-metrics` and `authts-status` under `authts serve`: protected by their
 * sections' own Require rules (401 without credentials), the figures move with the requests
 * (outcomes per section, a credential cache hit, a regulation ban, provider latencies) and the
 * SQL pool figures match what the real PostgreSQL sees. The status page refuses 403 without a
 * Require naming who may see it, escapes what it shows, and answers `?json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { builtinModules } from '../../src/modules.js';
import type { StatusSnapshot } from '../../src/metrics/metrics.js';
import { serverMetricsFor, wantsMetrics } from '../../src/metrics/server-observability.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { hasProtectingRequire, renderStatusHtml } from '../../src/status/status.js';
import { BIND_DN, BIND_PASSWORD, PEOPLE_DN, startSlapd, type SlapdInstance } from '../services/slapd.js';
import { rawRequest } from '../services/http-client.js';
import { createPgDatabase, USER_QUERY, type TestDatabase } from '../services/sql.js';
import { basic, htpasswd, removeTempDirs, tempDir } from './helpers.js';

/** The value of one sample in Prometheus text, `undefined` when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

const CONFIG = (params: string): string => `Listen 127.0.0.1:0
DocumentRoot htdocs
AuthnCacheSOCache shmcb
DBDriver pgsql
DBDParams "${params}"
DBDMin 2

<Location /private>
    AuthType Basic
    AuthName "Private"
    AuthBasicProvider socache file
    AuthUserFile users
    AuthnCacheProvideFor file
    Require valid-user
    AuthTsRegulation On
    AuthTsRegulationMaxRetries 2
    AuthTsRegulationMode user
</Location>

<Location /sql>
    AuthType Basic
    AuthName "SQL"
    AuthBasicProvider dbd
    AuthDBDUserPWQuery "${USER_QUERY}"
    Require valid-user
</Location>

<Location /metrics>
    SetHandler authts-metrics
    AuthType Basic
    AuthName "Metrics"
    AuthUserFile users
    Require user admin
</Location>

<Location /status>
    SetHandler authts-status
    AuthType Basic
    AuthName "Status"
    AuthUserFile users
    Require user admin
</Location>

<Location /open-status>
    SetHandler authts-status
</Location>

<Location /local-status>
    SetHandler authts-status
    Require ip 127.0.0.1 ::1
</Location>
`;

describe('metrics and status page', () => {
  let dir: string;
  let db: TestDatabase;
  let server: RunningServer;
  let base: string;
  const admin = { Authorization: basic('admin:admin-pw') };
  const scrape = async (): Promise<string> => {
    const res = await fetch(`${base}/metrics`, { headers: admin });
    expect(res.status).toBe(200);
    return res.text();
  };
  const section = (line: number): string => `site.conf:${line}`;

  beforeAll(async () => {
    dir = await tempDir('metrics');
    db = await createPgDatabase();
    await mkdir(join(dir, 'htdocs', 'private'), { recursive: true });
    await mkdir(join(dir, 'htdocs', 'sql'), { recursive: true });
    await writeFile(join(dir, 'htdocs', 'private', 'a.txt'), 'private\n');
    await writeFile(join(dir, 'htdocs', 'sql', 'a.txt'), 'sql\n');
    const written = Date.now();
    await writeFile(join(dir, 'users'), [htpasswd('alice', 'alice-pw'), htpasswd('bob', 'bob-pw'), htpasswd('admin', 'admin-pw'), ''].join('\n'));
    // A user file changed within the last 2.5 s cannot vouch for cached credentials (the racy
    // window of src/providers/text-file.ts): wait it out so that the cache may answer.
    await new Promise((r) => setTimeout(r, Math.max(0, written + 2_600 - Date.now())));
    await writeFile(join(dir, 'site.conf'), CONFIG(db.params));
    server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
    await removeTempDirs();
  });

  it('the metrics location is protected by its own Require: 401 without credentials, 401 for another user', async () => {
    const none = await fetch(`${base}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="Metrics"');
    expect(await none.text()).not.toContain('authts_requests_total');
    const other = await fetch(`${base}/metrics`, { headers: { Authorization: basic('alice:alice-pw') } });
    expect(other.status).toBe(401);
    const ok = await fetch(`${base}/metrics`, { headers: admin });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await ok.text()).toContain('# TYPE authts_requests_total counter');
  });

  it('counts requests by section and outcome', async () => {
    const before = await scrape();
    const allowed = { section: section(8), outcome: 'allowed', status: '200' };
    const refused = { section: section(8), outcome: 'unauthenticated', status: '401' };
    expect((await fetch(`${base}/private/a.txt`, { headers: { Authorization: basic('alice:alice-pw') } })).status).toBe(200);
    expect((await fetch(`${base}/private/a.txt`)).status).toBe(401);
    const after = await scrape();
    expect((sample(after, 'authts_requests_total', allowed) ?? 0) - (sample(before, 'authts_requests_total', allowed) ?? 0)).toBe(1);
    expect((sample(after, 'authts_requests_total', refused) ?? 0) - (sample(before, 'authts_requests_total', refused) ?? 0)).toBe(1);
    // The scrapes themselves are requests of the metrics section.
    expect(sample(after, 'authts_requests_total', { section: section(28), outcome: 'allowed', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'authts_request_duration_seconds_count', { outcome: 'allowed' })).toBeGreaterThanOrEqual(2);
  });

  it("counts a request node:http's parser refused, under no section", async () => {
    const before = await scrape();
    const labels = { section: '-', outcome: 'refused', status: '400' };
    const answer = await rawRequest(base, { path: '/private/a b c' });
    expect(answer.status).toBe(400);
    const after = await scrape();
    expect((sample(after, 'authts_requests_total', labels) ?? 0) - (sample(before, 'authts_requests_total', labels) ?? 0)).toBe(1);
  });

  it('times each provider: the file check and the Require line', async () => {
    const text = await scrape();
    expect(sample(text, 'authts_provider_duration_seconds_count', { kind: 'authn', provider: 'file', result: 'granted' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'authts_provider_duration_seconds_count', { kind: 'authz', provider: 'valid-user', result: 'granted' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'authts_provider_duration_seconds_bucket', { kind: 'authn', provider: 'file', result: 'granted', le: '+Inf' })).toBeGreaterThanOrEqual(1);
  });

  it('counts a credential cache hit', async () => {
    const auth = { Authorization: basic('alice:alice-pw') };
    expect((await fetch(`${base}/private/a.txt`, { headers: auth })).status).toBe(200);
    const before = await scrape();
    expect((await fetch(`${base}/private/a.txt`, { headers: auth })).status).toBe(200);
    const after = await scrape();
    expect(sample(after, 'authts_authn_cache_lookups_total', { result: 'hit' })! - sample(before, 'authts_authn_cache_lookups_total', { result: 'hit' })!).toBe(1);
  });

  it('counts a regulation ban and the refusals it causes', async () => {
    const before = await scrape();
    const wrong = { Authorization: basic('bob:wrong') };
    expect((await fetch(`${base}/private/a.txt`, { headers: wrong })).status).toBe(401);
    expect((await fetch(`${base}/private/a.txt`, { headers: wrong })).status).toBe(401);
    expect((await fetch(`${base}/private/a.txt`, { headers: { Authorization: basic('bob:bob-pw') } })).status).toBe(429);
    const after = await scrape();
    expect(sample(after, 'authts_regulation_bans_total')! - sample(before, 'authts_regulation_bans_total')!).toBe(1);
    expect(sample(after, 'authts_regulation_refused_total')! - sample(before, 'authts_regulation_refused_total')!).toBe(1);
    expect(sample(after, 'authts_requests_total', { section: section(8), outcome: 'banned', status: '429' })).toBe(1);
  });

  it('reports the SQL pool as PostgreSQL sees it', async () => {
    expect((await fetch(`${base}/sql/a.txt`, { headers: { Authorization: basic('alice:alice-pw') } })).status).toBe(200);
    const text = await scrape();
    const labels = { params: section(5), driver: 'pgsql' };
    const rows = await db.admin('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name]);
    expect(sample(text, 'authts_dbd_pool_open', labels)).toBe(Number(rows[0]!['n']));
    expect(sample(text, 'authts_dbd_pool_open', labels)).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'authts_dbd_pool_waiting', labels)).toBe(0);
    expect(sample(text, 'authts_dbd_up', labels)).toBe(1);
  });

  it('has process figures and no series of the global default registry', async () => {
    const text = await scrape();
    expect(sample(text, 'authts_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).not.toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('the status page refuses 403 when its section names no one', async () => {
    const res = await fetch(`${base}/open-status`);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('authts status');
    expect((await fetch(`${base}/open-status?json`)).status).toBe(403);
  });

  it('the status page answers under Require ip and under Require user', async () => {
    const local = await fetch(`${base}/local-status`);
    expect(local.status).toBe(200);
    expect(local.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await local.text();
    expect(html).toContain('<h1>authts status</h1>');
    expect(html).toContain(`<td>${section(8)}</td><td>banned</td><td>429</td><td>1</td>`);
    expect((await fetch(`${base}/status`)).status).toBe(401);
    const json = await fetch(`${base}/status?json`, { headers: admin });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const snapshot = (await json.json()) as StatusSnapshot;
    expect(snapshot.configFile).toBe(join(dir, 'site.conf'));
    expect(snapshot.regulation?.bans).toBeGreaterThanOrEqual(1);
    expect(snapshot.credentialCache?.hits).toBeGreaterThanOrEqual(1);
    expect(snapshot.sqlPools).toEqual([expect.objectContaining({ where: section(5), driver: 'pgsql', up: true })]);
    expect(snapshot.requests).toContainEqual({ section: section(8), outcome: 'banned', status: '429', count: 1 });
    expect(snapshot.providers).toContainEqual(expect.objectContaining({ kind: 'authn', provider: 'file', result: 'granted' }));
  });

  it('the status page refuses methods other than GET and HEAD', async () => {
    const res = await fetch(`${base}/local-status`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('LDAP connection figures against a real OpenLDAP', () => {
  let slapd: SlapdInstance;
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    slapd = await startSlapd();
    const dir = await tempDir('metrics-ldap');
    await writeFile(
      join(dir, 'site.conf'),
      [
        'Listen 127.0.0.1:0',
        `LDAPTrustedGlobalCert CA_BASE64 "${slapd.caFile}"`,
        '<Location /p>',
        '    AuthType Basic',
        '    AuthName "LDAP area"',
        '    AuthBasicProvider ldap',
        `    AuthLDAPURL "${slapd.url}/${PEOPLE_DN}?uid?sub?(objectClass=inetOrgPerson)" STARTTLS`,
        `    AuthLDAPBindDN "${BIND_DN}"`,
        `    AuthLDAPBindPassword "${BIND_PASSWORD}"`,
        '    Require valid-user',
        '</Location>',
        '<Location /metrics>',
        '    SetHandler authts-metrics',
        '    Require ip 127.0.0.1',
        '</Location>',
        '<Location /status>',
        '    SetHandler authts-status',
        '    Require ip 127.0.0.1',
        '</Location>',
        '',
      ].join('\n'),
    );
    server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await slapd?.stop();
    await removeTempDirs();
  });

  it('reports no connection before the first LDAP request, then the open and idle ones', async () => {
    const before = await (await fetch(`${base}/metrics`)).text();
    expect(sample(before, 'authts_ldap_pool_open')).toBe(0);
    expect((await fetch(`${base}/p/x`, { headers: { Authorization: basic('alice:alice-pw') } })).status).toBe(404);
    expect((await fetch(`${base}/p/x`, { headers: { Authorization: basic('alice:wrong') } })).status).toBe(401);
    const after = await (await fetch(`${base}/metrics`)).text();
    const open = sample(after, 'authts_ldap_pool_open')!;
    expect(open).toBeGreaterThanOrEqual(1);
    // Every request has finished: whatever is open is idle, and nobody waits.
    expect(sample(after, 'authts_ldap_pool_idle')).toBe(open);
    expect(sample(after, 'authts_ldap_pool_waiting')).toBe(0);
    expect(sample(after, 'authts_provider_duration_seconds_count', { kind: 'authn', provider: 'ldap', result: 'denied' })).toBe(1);
    const snapshot = (await (await fetch(`${base}/status?json`)).json()) as StatusSnapshot;
    expect(snapshot.ldapPool).toEqual({ open, idle: open, waiting: 0 });
  });
});

describe('metrics are off unless a section asks', () => {
  afterAll(removeTempDirs);

  it('a configuration without authts-metrics or authts-status has no metrics', async () => {
    const dir = await tempDir('metrics-off');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\n<Location /x>\n    Require all granted\n</Location>\n');
    const server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger });
    try {
      expect(wantsMetrics(server.config())).toBe(false);
      expect(serverMetricsFor(server.config())).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('a reload that adds a metrics section turns them on, and keeps them across reloads', async () => {
    const dir = await tempDir('metrics-reload');
    const file = join(dir, 'site.conf');
    await writeFile(file, 'Listen 127.0.0.1:0\n');
    const server = await startServer({ configFile: file, logger: silentLogger });
    try {
      const url = `http://127.0.0.1:${server.addresses[0]!.port}`;
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      await writeFile(file, 'Listen 127.0.0.1:0\n<Location /metrics>\n    SetHandler authts-metrics\n    Require ip 127.0.0.1\n</Location>\n');
      expect(await server.reload()).toBeUndefined();
      const first = serverMetricsFor(server.config());
      expect(first).toBeDefined();
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('authts_config_loaded_timestamp_seconds');
      expect(await server.reload()).toBeUndefined();
      expect(serverMetricsFor(server.config())).toBe(first);
    } finally {
      await server.close();
    }
  });

  it('SetHandler authts-metrics loads without warnings; an unknown handler name is an error', async () => {
    const config = await loadConfig({ text: '<Location /m>\nSetHandler authts-metrics\nRequire ip 127.0.0.1\n</Location>\n', textName: 'm.conf', modules: builtinModules(), logger: silentLogger });
    expect(config.warnings).toEqual([]);
    await config.close();
    await expect(loadConfig({ text: '<Location /m>\nSetHandler authts-metric\n</Location>\n', textName: 'm.conf', modules: builtinModules(), logger: silentLogger })).rejects.toThrow(/no such handler/);
  });
});

describe('status page protection', () => {
  it('counts only Require lines that name someone and apply to the method', async () => {
    const config = await loadConfig({
      text: [
        '<Location /a>', 'Require all granted', '</Location>',
        '<Location /b>', 'Require ip 10.0.0.0/8', '</Location>',
        '<Location /c>', 'AuthType Basic', 'AuthName x', 'AuthUserFile /dev/null', '<Limit POST>', 'Require valid-user', '</Limit>', '</Location>',
        '<Location /d>', '<RequireAny>', 'Require all granted', 'Require user ops', '</RequireAny>', '</Location>',
        '<Location /e>', 'SetHandler authts-status', '</Location>',
        '',
      ].join('\n'),
      textName: 's.conf',
      modules: builtinModules(),
      logger: silentLogger,
    });
    const dir = (path: string): Parameters<typeof hasProtectingRequire>[0] => config.resolve({ path, filename: undefined, isDirectory: false });
    expect(hasProtectingRequire(dir('/a'), 'GET')).toBe(false);
    expect(hasProtectingRequire(dir('/b'), 'GET')).toBe(true);
    expect(hasProtectingRequire(dir('/c'), 'GET')).toBe(false);
    expect(hasProtectingRequire(dir('/c'), 'POST')).toBe(true);
    expect(hasProtectingRequire(dir('/d'), 'GET')).toBe(true);
    expect(hasProtectingRequire(dir('/e'), 'GET')).toBe(false);
    await config.close();
  });
});

describe('status page HTML', () => {
  it('escapes every value it shows', () => {
    const html = renderStatusHtml({
      startedAt: '2026-01-01T00:00:00.000Z',
      uptimeSeconds: 5,
      configFile: '/etc/<authts>/site.conf',
      configLoadedAt: '2026-01-01T00:00:00.000Z',
      requests: [{ section: 'a"b.conf:3', outcome: 'allowed', status: '200', count: 2 }],
      providers: [{ kind: 'authz', provider: '<script>alert(1)</script>', result: 'granted', count: 1, meanMs: 1.5 }],
      credentialCache: undefined,
      regulation: undefined,
      sqlPools: [],
      ldapPool: undefined,
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('/etc/&lt;authts&gt;/site.conf');
    expect(html).toContain('a&quot;b.conf:3');
  });
});


