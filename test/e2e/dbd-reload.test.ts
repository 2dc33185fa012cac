/**
 * `authts serve` reloads and the dbd pools: the replaced configuration is closed once its last
 * request has finished, so a pool whose DBDParams changed closes (counted in pg_stat_activity),
 * one with the same database is kept (same backends), and a request in flight during the
 * reload completes on the old pool. Also: closing one of two configurations that share a pool
 * leaves the other's pool open (reference counting).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { check, engineFor } from '../helpers/engine.js';
import { createPgDatabase, USER_QUERY, type TestDatabase } from '../services/sql.js';

let db: TestDatabase;
let dir: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  db = await createPgDatabase();
  dir = await mkdtemp(join(tmpdir(), 'authts-dbd-reload-'));
  await mkdir(join(dir, 'htdocs', 'sql'), { recursive: true });
  await mkdir(join(dir, 'htdocs', 'sql', 'slow'), { recursive: true });
  await writeFile(join(dir, 'htdocs', 'sql', 'index.html'), 'sql\n');
  await writeFile(join(dir, 'htdocs', 'sql', 'slow', 'index.html'), 'slow\n');
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The site, with the pool's connections tagged by `app` (application_name). */
function site(app: string, min = 2): string {
  return `Listen 127.0.0.1:0
DocumentRoot htdocs
DBDriver pgsql
DBDParams "${db.params} application_name=${app}"
DBDMin ${min}
DBDKeep ${Math.max(min, 2)}
DBDMax 4
<Location "/sql">
  AuthType Basic
  AuthName "SQL"
  AuthBasicProvider dbd
  AuthDBDUserPWQuery "${USER_QUERY}"
  Require valid-user
</Location>
<Location "/sql/slow">
  AuthDBDUserPWQuery "SELECT u.password_hash FROM users u CROSS JOIN pg_sleep(1) s WHERE u.username = %s"
</Location>
`;
}

async function backends(app: string): Promise<number[]> {
  const rows = await db.admin('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 ORDER BY pid', [db.name, app]);
  return rows.map((r) => Number(r['pid']));
}

async function untilCount(app: string, want: number, ms = 5_000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = (await backends(app)).length;
  while (n !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    n = (await backends(app)).length;
  }
  return n;
}

async function start(conf: string): Promise<{ server: RunningServer; file: string; get: (path: string) => Promise<number> }> {
  const file = join(dir, `site-${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(file, conf);
  const server = await startServer({ configFile: file, logger: silentLogger, listen: [{ host: '127.0.0.1', port: 0 }] });
  servers.push(server);
  const port = server.addresses[0]!.port;
  const get = async (path: string): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Basic ${Buffer.from('alice:alice-pw').toString('base64')}` } });
    await res.arrayBuffer();
    return res.status;
  };
  return { server, file, get };
}

describe('authts serve: reload and the dbd pools', () => {
  it('a reload with changed DBDParams closes the old pool once the old configuration is done', async () => {
    const { server, file, get } = await start(site('authts_a'));
    expect(await untilCount('authts_a', 2)).toBe(2);
    expect(await get('/sql/')).toBe(200);
    await writeFile(file, site('authts_b', 1));
    expect(await server.reload()).toBeUndefined();
    expect(await untilCount('authts_b', 1)).toBe(1);
    // No request was in flight: the old configuration closed at once, and its pool with it.
    expect(await untilCount('authts_a', 0)).toBe(0);
    expect(await get('/sql/')).toBe(200);
    expect((await backends('authts_b')).length).toBeGreaterThanOrEqual(1);
  });

  it('a reload with the same database keeps the shared pool: the same backends serve on', async () => {
    const { server, get } = await start(site('authts_c'));
    expect(await untilCount('authts_c', 2)).toBe(2);
    expect(await get('/sql/')).toBe(200);
    const before = await backends('authts_c');
    expect(await server.reload()).toBeUndefined();
    expect(await get('/sql/')).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await backends('authts_c')).toEqual(before);
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    expect(await untilCount('authts_c', 0)).toBe(0);
  });

  it('a request in flight during the reload completes on the old pool, which closes after it', async () => {
    const { server, file, get } = await start(site('authts_d'));
    expect(await untilCount('authts_d', 2)).toBe(2);
    const started = Date.now();
    const slow = get('/sql/slow/');
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(file, site('authts_e', 1));
    expect(await server.reload()).toBeUndefined();
    // The old configuration waits for its request: its pool is still open (had it closed,
    // its idle connection would be gone; the lent one closes when given back).
    await new Promise((r) => setTimeout(r, 150));
    expect(await backends('authts_d')).toHaveLength(2);
    expect(await slow).toBe(200);
    // The query sleeps 1 s: the request really was in flight across the reload.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await untilCount('authts_d', 0)).toBe(0);
    expect(await get('/sql/')).toBe(200);
    expect((await backends('authts_e')).length).toBeGreaterThanOrEqual(1);
  });

  it('a reload that fails leaves the old configuration serving, and does not leave the failed one\'s pool open', async () => {
    const { server, file, get } = await start(site('authts_f'));
    expect(await untilCount('authts_f', 2)).toBe(2);
    // dbd's check warms the new pool; another module's check (authnz_ldap: a bind DN without
    // its password) fails the load.
    await writeFile(file, `${site('authts_g', 2)}\n<Location "/x">\n  AuthLDAPBindDN "cn=web"\n</Location>\n`);
    expect(await server.reload()).toBeDefined();
    expect(await untilCount('authts_g', 0, 2_000)).toBe(0);
    expect(await get('/sql/')).toBe(200);
    expect(await backends('authts_f')).toHaveLength(2);
  });
});

describe('configurations sharing a pool (reference counting)', () => {
  it("closing one configuration leaves the pool open for the other; the last close closes it", async () => {
    const conf = site('authts_h').replace(/^Listen.*\n^DocumentRoot.*\n/m, '');
    const one = await engineFor(conf);
    const two = await engineFor(conf);
    expect(await untilCount('authts_h', 2)).toBe(2);
    await one.config.close();
    expect((await check(two, { path: '/sql/x', basic: 'alice:alice-pw' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(await backends('authts_h')).toHaveLength(2);
    // The closed configuration's late request gets no pool (500), it does not reopen one.
    expect((await check(one, { path: '/sql/x', basic: 'alice:alice-pw' })).status).toBe(500);
    await two.config.close();
    expect(await untilCount('authts_h', 0)).toBe(0);
  });
});
