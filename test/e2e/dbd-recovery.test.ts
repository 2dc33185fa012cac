/**
 * The dbd pool heals itself: connections killed by the server (pg_terminate_backend, MariaDB
 * KILL) are replaced without a failed request, and a server that stops gives 500 until it is
 * back, then service resumes with no restart of authts. Private servers (by PID) for the
 * stop/start cases; the machine's servers are never stopped.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuthEngine } from '../../src/engine.js';
import { dbdModules } from '../../src/providers/dbd/module.js';
import { check, engineFor } from '../helpers/engine.js';
import {
  createMariaDatabase,
  createPgDatabase,
  startPrivateMariadb,
  startPrivatePg,
  USER_QUERY,
  type PrivateServer,
  type TestDatabase,
} from '../services/sql.js';

function conf(db: TestDatabase): string {
  return `DBDriver ${db.driver}
DBDParams "${db.params}"
DBDMin 2
DBDKeep 2
DBDMax 4
<Location "/sql">
  AuthType Basic
  AuthName "SQL"
  AuthBasicProvider dbd
  AuthDBDUserPWQuery "${USER_QUERY}"
  Require valid-user
</Location>
`;
}

async function status(engine: AuthEngine, basic = 'alice:alice-pw'): Promise<number> {
  return (await check(engine, { path: '/sql/x', basic })).status;
}

const dbs: TestDatabase[] = [];
const servers: PrivateServer[] = [];
afterEach(async () => {
  await dbdModules.dbd.close?.();
});
afterAll(async () => {
  for (const db of dbs) await db.drop().catch(() => {});
  for (const s of servers) await s.destroy();
});

describe('killed connections', () => {
  it('PostgreSQL: pg_terminate_backend on every pooled connection; the next requests are all 200', async () => {
    const db = await createPgDatabase();
    dbs.push(db);
    const engine = await engineFor(conf(db));
    for (let i = 0; i < 4; i++) expect(await status(engine)).toBe(200);
    const killed = await db.admin("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND application_name = 'authts'", [db.name]);
    expect(killed.length).toBeGreaterThanOrEqual(1);
    // Some were noticed while idle (client 'error' event), others only when used: none may fail.
    for (let i = 0; i < 6; i++) expect(await status(engine)).toBe(200);
    await Promise.all(Array.from({ length: 8 }, async () => expect(await status(engine)).toBe(200)));
  });

  it('MariaDB: KILL on every pooled connection; the next requests are all 200', async () => {
    const db = await createMariaDatabase({ collation: 'exact' });
    dbs.push(db);
    const engine = await engineFor(conf(db));
    await Promise.all(Array.from({ length: 3 }, async () => expect(await status(engine)).toBe(200)));
    const ids = await db.admin('SELECT id FROM information_schema.processlist WHERE db = ?', [db.name]);
    expect(ids.length).toBeGreaterThanOrEqual(1);
    for (const row of ids) await db.admin(`KILL ${Number(row['id'])}`);
    for (let i = 0; i < 6; i++) expect(await status(engine)).toBe(200);
    await Promise.all(Array.from({ length: 8 }, async () => expect(await status(engine)).toBe(200)));
  });
});

describe('a server that stops and starts again', () => {
  it('PostgreSQL: 500 while it is down, 200 again once it is back, without restarting authts', async () => {
    const server = await startPrivatePg();
    servers.push(server);
    const db = await createPgDatabase({ port: server.port });
    const engine = await engineFor(conf(db));
    expect(await status(engine)).toBe(200);
    const pid = server.pid();
    expect(pid).toBeGreaterThan(0);
    await server.stop();
    const down = await check(engine, { path: '/sql/x', basic: 'alice:alice-pw' });
    expect(down.status).toBe(500);
    expect(await status(engine, 'nobody:x')).toBe(500);
    await server.start();
    expect(server.pid()).not.toBe(pid);
    expect(await status(engine)).toBe(200);
    expect(await status(engine, 'alice:wrong')).toBe(401);
  }, 60_000);

  it('MariaDB: 500 while it is down, 200 again once it is back', async () => {
    const server = await startPrivateMariadb();
    servers.push(server);
    const db = await createMariaDatabase({ port: server.port, collation: 'exact' });
    const engine = await engineFor(conf(db));
    expect(await status(engine)).toBe(200);
    await server.stop();
    expect(await status(engine)).toBe(500);
    await server.start();
    expect(await status(engine)).toBe(200);
    expect(await status(engine, 'alice:wrong')).toBe(401);
  }, 90_000);
});
