/**
 * DBDMin, DBDKeep, DBDMax and DBDExptime against the real servers, counted on the server side
 * (pg_stat_activity, information_schema.PROCESSLIST for the test's own database): DBDMin opened
 * and refilled after the server kills connections, at most DBDKeep idle kept past DBDExptime,
 * DBDMax never exceeded; timers that never keep a process alive; and getRealmHash
 * (AuthDBDUserRealmQuery) on PostgreSQL, MariaDB and SQLite.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { builtinModules } from '../../src/modules.js';
import { DEFAULT_LIMITS, DbdPool, type DbdLimits } from '../../src/providers/dbd/pool.js';
import { dbdModules } from '../../src/providers/dbd/module.js';
import { parseDbdParams } from '../../src/providers/dbd/params.js';
import { parseStatement } from '../../src/providers/dbd/statement.js';
import { fakeRequest } from '../unit/providers/helpers.js';
import { createMariaDatabase, createPgDatabase, createSqliteDatabase, type TestDatabase } from '../services/sql.js';

const run = promisify(execFile);

const dbs: TestDatabase[] = [];
const pools: DbdPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

/** Connections the server has open to the test's database (the admin connection is elsewhere). */
async function serverConnections(db: TestDatabase): Promise<number> {
  const rows =
    db.driver === 'pgsql'
      ? await db.admin('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [db.name])
      : await db.admin('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE db = ?', [db.name]);
  return Number(rows[0]?.['n']);
}

async function until(db: TestDatabase, want: number, ms = 5_000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = await serverConnections(db);
  while (n !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    n = await serverConnections(db);
  }
  return n;
}

async function killAll(db: TestDatabase): Promise<void> {
  if (db.driver === 'pgsql') {
    await db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [db.name]);
  } else {
    const ids = await db.admin('SELECT id FROM information_schema.PROCESSLIST WHERE db = ?', [db.name]);
    for (const row of ids) await db.admin(`KILL ${Number(row['id'])}`);
  }
}

function poolOn(db: TestDatabase, limits: Partial<DbdLimits>, options: ConstructorParameters<typeof DbdPool>[2] = {}): DbdPool {
  const pool = new DbdPool(parseDbdParams(db.driver, db.params, '/'), { ...DEFAULT_LIMITS, ...limits }, options);
  pools.push(pool);
  return pool;
}

const SLEEP = { pgsql: 'SELECT 1 FROM pg_sleep(0.3)', mysql: 'SELECT SLEEP(0.3)' } as const;

/** `n` queries at once that each hold a connection for 300 ms. */
async function burst(pool: DbdPool, driver: 'pgsql' | 'mysql', n: number): Promise<void> {
  const statement = parseStatement(SLEEP[driver]);
  await Promise.all(Array.from({ length: n }, () => pool.query(statement, [])));
}

describe.each([
  ['pgsql', () => createPgDatabase()],
  ['mysql', () => createMariaDatabase({ collation: 'exact' })],
] as const)('dbd pool limits on %s (server-side connection counts)', (driver, makeDb) => {
  it('DBDMin opened at start; a burst opens up to DBDMax; DBDExptime later only DBDKeep stay (real timers, 1 s)', async () => {
    const db = await makeDb();
    dbs.push(db);
    const pool = poolOn(db, { min: 1, keep: 2, max: 5, exptimeSeconds: 1 });
    await pool.warm();
    expect(await until(db, 1)).toBe(1);
    await burst(pool, driver, 8);
    // DBDMax is the hard limit: 8 queries, 5 connections.
    expect(await serverConnections(db)).toBe(5);
    expect(pool.stats()).toMatchObject({ idle: 5, opened: 5 });
    // Idle above DBDKeep close once idle for DBDExptime (the maintenance timer, unref'd).
    expect(await until(db, 2, 4_000)).toBe(2);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await serverConnections(db)).toBe(2);
    await pool.close();
    expect(await until(db, 0)).toBe(0);
  }, 30_000);

  it('injected clock: nothing closes before DBDExptime, DBDKeep stay after it; an expired connection is not lent', async () => {
    const db = await makeDb();
    dbs.push(db);
    let now = 0;
    const pool = poolOn(db, { min: 1, keep: 3, max: 6, exptimeSeconds: 300 }, { now: () => now, maintainIntervalMs: 3_600_000 });
    await pool.warm();
    await burst(pool, driver, 6);
    expect(await serverConnections(db)).toBe(6);
    now += 299_999;
    pool.maintain();
    expect(await until(db, 6, 300)).toBe(6);
    now += 1;
    pool.maintain();
    expect(await until(db, 3)).toBe(3);
    // All three are past DBDExptime: a query closes them instead of using them (apr_reslist_acquire).
    const opened = pool.stats().opened;
    await pool.query(parseStatement('SELECT 1'), []);
    expect(pool.stats().opened).toBe(opened + 1);
    expect(await until(db, 1)).toBe(1);
  });

  it('refills to DBDMin after the server kills every connection, without a request', async () => {
    const db = await makeDb();
    dbs.push(db);
    const pool = poolOn(db, { min: 3, keep: 3, max: 5, exptimeSeconds: 300 });
    await pool.warm();
    expect(await until(db, 3)).toBe(3);
    const opened = pool.stats().opened;
    await killAll(db);
    // The driver sees each end; the pool opens replacements in the background.
    const deadline = Date.now() + 5_000;
    while (pool.stats().opened < opened + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pool.stats().opened).toBe(opened + 3);
    expect(await until(db, 3)).toBe(3);
    expect((await pool.query(parseStatement('SELECT 1'), [])).rows).toEqual([['1']]);
  });
});

describe('the pool never keeps a process alive', () => {
  it('a script with a warmed PostgreSQL pool (DBDMin 2) and its timers exits on its own', async () => {
    const db = await createPgDatabase();
    dbs.push(db);
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const pool = pathToFileURL(new URL('../../src/providers/dbd/pool.ts', import.meta.url).pathname).href;
    const params = pathToFileURL(new URL('../../src/providers/dbd/params.ts', import.meta.url).pathname).href;
    const script = `
      const { DbdPool, DEFAULT_LIMITS } = await import(${JSON.stringify(pool)});
      const { parseDbdParams } = await import(${JSON.stringify(params)});
      const p = new DbdPool(parseDbdParams('pgsql', ${JSON.stringify(db.params)}, '/'), { ...DEFAULT_LIMITS, min: 2, keep: 2, exptimeSeconds: 1 });
      await p.warm();
      console.log(JSON.stringify(p.stats()));
    `;
    const started = Date.now();
    const { stdout } = await run(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toMatchObject({ idle: 2, opened: 2 });
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

describe('AuthDBDUserRealmQuery: the provider\'s getRealmHash (for Digest)', () => {
  const digest = (user: string, realm: string, password: string): string => createHash('md5').update(`${user}:${realm}:${password}`).digest('hex');
  const ROWS: [string, string, string, string | null][] = [
    ['alice', 'Private', digest('alice', 'Private', 'alice-pw'), 'Alice A.'],
    ['alice', 'Other', digest('alice', 'Other', 'other-pw'), null],
    ["o'brien\"; --", 'Private', digest("o'brien\"; --", 'Private', 'x'), 'OB'],
  ];

  async function seedRealms(db: TestDatabase): Promise<void> {
    const create = 'CREATE TABLE digest_users (username VARCHAR(255) NOT NULL, realm VARCHAR(255) NOT NULL, hash VARCHAR(64), full_name VARCHAR(255), PRIMARY KEY (username, realm))';
    if (db.driver === 'pgsql') {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(create);
        for (const row of ROWS) await c.query('INSERT INTO digest_users VALUES ($1, $2, $3, $4)', row);
      } finally {
        await c.end();
      }
    } else if (db.driver === 'mysql') {
      await db.admin(create.replace('digest_users', `${db.name}.digest_users`).replaceAll('VARCHAR(255)', 'VARCHAR(255) COLLATE utf8mb4_nopad_bin'));
      for (const row of ROWS) await db.admin(`INSERT INTO ${db.name}.digest_users VALUES (?, ?, ?, ?)`, row);
    } else {
      await db.admin(create);
      for (const row of ROWS) await db.admin('INSERT INTO digest_users VALUES (?, ?, ?, ?)', row);
    }
  }

  it.each([
    ['pgsql', () => createPgDatabase()],
    ['mysql', () => createMariaDatabase({ collation: 'exact' })],
    ['sqlite3', () => createSqliteDatabase()],
  ] as const)('%s: the hash of (user, realm), both bound; extra columns set AUTHENTICATE_*; none → undefined', async (_driver, makeDb) => {
    const db = await makeDb();
    dbs.push(db);
    await seedRealms(db);
    const config = await loadConfig({
      text: `DBDriver ${db.driver}
DBDParams "${db.params}"
<Location "/digest">
  AuthDBDUserRealmQuery "SELECT hash, full_name FROM digest_users WHERE username = %s AND realm = %s"
</Location>
<Location "/nodigest">
  AuthDBDUserPWQuery "SELECT hash FROM digest_users WHERE username = %s"
</Location>
`,
      textName: 'realm.conf',
      modules: builtinModules(),
    });
    try {
      const provider = dbdModules.authnDbd.authnProviders!['dbd']!;
      const requestAt = (path: string): ReturnType<typeof fakeRequest> => {
        const dir = config.resolve({ path, filename: undefined, isDirectory: false });
        return { ...fakeRequest({ settings: new Map() }), settings: (m) => dir.get(m), serverSettings: (m) => config.serverSettings(m) };
      };
      const req = requestAt('/digest/x');
      expect(await provider.getRealmHash!(req, 'alice', 'Private')).toBe(ROWS[0]![2]);
      expect(req.env.get('AUTHENTICATE_FULL_NAME')).toBe('Alice A.');
      const other = requestAt('/digest/x');
      expect(await provider.getRealmHash!(other, 'alice', 'Other')).toBe(ROWS[1]![2]);
      expect(other.env.get('AUTHENTICATE_FULL_NAME')).toBe('');
      expect(await provider.getRealmHash!(requestAt('/digest/x'), 'alice', 'private')).toBeUndefined();
      expect(await provider.getRealmHash!(requestAt('/digest/x'), 'ALICE', 'Private')).toBeUndefined();
      expect(await provider.getRealmHash!(requestAt('/digest/x'), 'nobody', 'Private')).toBeUndefined();
      // Metacharacters in either value are bound, never interpolated.
      expect(await provider.getRealmHash!(requestAt('/digest/x'), "o'brien\"; --", 'Private')).toBe(ROWS[2]![2]);
      expect(await provider.getRealmHash!(requestAt('/digest/x'), "alice' OR '1'='1", "x' OR '1'='1")).toBeUndefined();
      await expect(provider.getRealmHash!(requestAt('/nodigest/x'), 'alice', 'Private')).rejects.toMatchObject({ code: 'DBD_NOT_CONFIGURED' });
    } finally {
      await config.close();
    }
  });
});
