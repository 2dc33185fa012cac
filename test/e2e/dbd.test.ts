/**
 * `AuthBasicProvider dbd`, `Require dbd-group` and the dbd pool against the real servers:
 * PostgreSQL and MariaDB on this machine (a database per test) and SQLite files.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuthEngine } from '../../src/engine.js';
import { dbdProvider } from '../../src/providers/dbd/index.js';
import { dbdModules } from '../../src/providers/dbd/module.js';
import { check, engineFor } from '../helpers/engine.js';
import {
  createMariaDatabase,
  createPgDatabase,
  createSqliteDatabase,
  GROUP_QUERY,
  SEED_USERS,
  USER_QUERY,
  type TestDatabase,
} from '../services/sql.js';

const makers: Record<'pgsql' | 'mysql' | 'sqlite3', () => Promise<TestDatabase>> = {
  pgsql: () => createPgDatabase(),
  mysql: () => createMariaDatabase({ collation: 'exact' }),
  sqlite3: () => createSqliteDatabase(),
};

function conf(db: TestDatabase, params = db.params, extra = ''): string {
  return `DBDriver ${db.driver}
DBDParams "${params}"
DBDMin 1
DBDKeep 2
DBDMax 4
${extra}
<Location "/sql">
  AuthType Basic
  AuthName "SQL"
  AuthBasicProvider dbd
  AuthDBDUserPWQuery "${USER_QUERY}"
  AuthzDBDQuery "${GROUP_QUERY}"
  Require valid-user
</Location>
<Location "/sql/admins">
  Require dbd-group admins
</Location>
<Location "/sql/staffroom">
  Require dbd-group "Staff Room"
</Location>
<Location "/sql/broken">
  AuthDBDUserPWQuery "SELECT password_hash FROM no_such_table WHERE username = %s"
</Location>
`;
}

async function status(engine: AuthEngine, path: string, basic?: string): Promise<number> {
  return (await check(engine, { path, ...(basic !== undefined ? { basic } : {}) })).status;
}

describe.each(['pgsql', 'mysql', 'sqlite3'] as const)('dbd on %s', (driver) => {
  let db: TestDatabase;
  let engine: AuthEngine;

  beforeAll(async () => {
    db = await makers[driver]();
    engine = await engineFor(conf(db));
  });
  afterAll(async () => {
    await engine?.config.close();
    await db?.drop();
  });

  it.each(SEED_USERS.filter((u) => !u.disabled).map((u) => [u.name, u.password] as const))('%s with the right password is granted (every hash format)', async (user, password) => {
    const verdict = await check(engine, { path: '/sql/x', basic: `${user}:${password}` });
    expect(verdict.status).toBe(200);
    expect(verdict.user).toBe(user);
  });

  it('a wrong password is 401 with the challenge; an unknown user and a disabled one too', async () => {
    const wrong = await check(engine, { path: '/sql/x', basic: 'alice:nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('WWW-Authenticate')).toBe('Basic realm="SQL"');
    expect(await status(engine, '/sql/x', 'nobody:alice-pw')).toBe(401);
    expect(await status(engine, '/sql/x', 'disabled:disabled-pw')).toBe(401);
    expect(await status(engine, '/sql/x')).toBe(401);
  });

  it('extra columns become AUTHENTICATE_<COLUMN>; NULL is empty', async () => {
    const alice = await check(engine, { path: '/sql/x', basic: 'alice:alice-pw' });
    expect(alice.env.get('AUTHENTICATE_EMAIL')).toBe('alice@example.org');
    const carol = await check(engine, { path: '/sql/x', basic: 'carol:carol-pw' });
    expect(carol.env.get('AUTHENTICATE_EMAIL')).toBe('');
  });

  it('Require dbd-group: members granted, others 401; names compare exactly; spaces in a quoted group', async () => {
    expect(await status(engine, '/sql/admins/', 'alice:alice-pw')).toBe(200);
    expect(await status(engine, '/sql/admins/', 'bob:bob-pw')).toBe(401);
    expect(await status(engine, '/sql/admins/')).toBe(401);
    // ap_getword_white: "Staff Room" is two words, Staff (no such group) and Room.
    expect(await status(engine, '/sql/staffroom/', 'carol:carol-pw')).toBe(401);
  });

  it('SQL metacharacters and very long names are bound, never interpolated', async () => {
    expect(await status(engine, '/sql/x', `o'brien"; --:obrien-pw`)).toBe(200);
    for (const name of ["' OR '1'='1", "alice' --", "alice'; DROP TABLE users; --", '%s', 'alice\\', '" OR ""="', 'x'.repeat(10_000), 'ü'.repeat(5_000)]) {
      expect(await status(engine, '/sql/x', `${name}:alice-pw`), name.slice(0, 40)).toBe(401);
    }
    // Still there: nothing was dropped.
    expect(await status(engine, '/sql/x', 'alice:alice-pw')).toBe(200);
  });

  it('a query the database refuses is 500 (DBD_QUERY_FAILED), and the pool keeps serving', async () => {
    expect(await status(engine, '/sql/broken/', 'alice:alice-pw')).toBe(500);
    expect(await status(engine, '/sql/x', 'alice:alice-pw')).toBe(200);
  });

  it('case and trailing spaces: ALICE and "alice " are not alice (exact collation)', async () => {
    expect(await status(engine, '/sql/x', 'ALICE:alice-pw')).toBe(401);
    expect(await status(engine, '/sql/x', 'alice :alice-pw')).toBe(401);
    expect(await status(engine, '/sql/x', 'jurgen:grüße-123')).toBe(401);
  });

  it('the URL form of DBDParams reaches the same database', async () => {
    const other = await engineFor(conf(db, db.url));
    try {
      expect(await status(other, '/sql/x', 'bob:bob-pw')).toBe(200);
    } finally {
      await other.config.close();
    }
  });

  it('concurrent requests share at most DBDMax connections', async () => {
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => status(engine, '/sql/x', i % 2 ? 'carol:carol-pw' : 'carol:wrong')));
    expect(results.filter((s) => s === 200)).toHaveLength(12);
    expect(results.filter((s) => s === 401)).toHaveLength(12);
    if (driver !== 'sqlite3') {
      const rows =
        driver === 'pgsql'
          ? await db.admin('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [db.name])
          : await db.admin('SELECT count(*) AS n FROM information_schema.processlist WHERE db = ?', [db.name]);
      expect(Number(rows[0]?.['n'])).toBeLessThanOrEqual(4 + 1);
      expect(Number(rows[0]?.['n'])).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('dbd pool sharing and start', () => {
  let db: TestDatabase;
  afterEach(async () => {
    await dbdModules.dbd.close?.();
    await db?.drop();
  });

  it('one pool per database for every section; DBDMin connections are opened at load', async () => {
    db = await createPgDatabase();
    const engine = await engineFor(`${conf(db).replace('DBDMin 1', 'DBDMin 2')}
<Location "/other">
  AuthType Basic
  AuthName "Other"
  AuthBasicProvider dbd
  AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE username = %s"
  Require valid-user
</Location>`);
    const count = async (): Promise<number> =>
      Number((await db.admin("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'authts'", [db.name]))[0]?.['n']);
    // Opened in the background at load: wait for it without sending a request.
    const deadline = Date.now() + 5_000;
    while ((await count()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe(2);
    for (let i = 0; i < 5; i++) {
      expect(await status(engine, '/sql/x', 'alice:alice-pw')).toBe(200);
      expect(await status(engine, '/other/', 'bob:bob-pw')).toBe(200);
    }
    expect(await count()).toBe(2);
    await engine.config.close();
    const closedBy = Date.now() + 5_000;
    while ((await count()) > 0 && Date.now() < closedBy) await new Promise((r) => setTimeout(r, 50));
    expect(await count()).toBe(0);
  });

  it('DBDPersist Off opens a connection per request and keeps none', async () => {
    db = await createPgDatabase();
    const engine = await engineFor(conf(db, db.params, 'DBDPersist Off').replace('DBDMin 1', 'DBDMin 0').replace('DBDKeep 2', 'DBDKeep 0'));
    try {
      expect(await status(engine, '/sql/x', 'alice:alice-pw')).toBe(200);
      const n = Number((await db.admin("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'authts'", [db.name]))[0]?.['n']);
      expect(n).toBe(0);
    } finally {
      await engine.config.close();
    }
  });
});

describe('MariaDB collation (docs/providers/sql.md: the query decides what matches)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMariaDatabase({ collation: 'default' });
  });
  afterAll(async () => {
    await dbdModules.dbd.close?.();
    await db?.drop();
  });

  it("with the server's default utf8mb4_general_ci, ALICE and 'alice ' find alice's row (as in httpd)", async () => {
    const engine = await engineFor(conf(db));
    const upper = await check(engine, { path: '/sql/x', basic: 'ALICE:alice-pw' });
    expect(upper.status).toBe(200);
    expect(upper.user).toBe('ALICE');
    expect(await status(engine, '/sql/x', 'alice :alice-pw')).toBe(200);
    expect(await status(engine, '/sql/x', 'jurgen:grüße-123')).toBe(200);
    await engine.config.close();
  });

  it('COLLATE utf8mb4_nopad_bin in the query (what conf-examples use) makes them unknown users', async () => {
    const exact = conf(db).replace(USER_QUERY, USER_QUERY.replace('username = %s', 'username = %s COLLATE utf8mb4_nopad_bin'));
    const engine = await engineFor(exact);
    expect(await status(engine, '/sql/x', 'alice:alice-pw')).toBe(200);
    expect(await status(engine, '/sql/x', 'ALICE:alice-pw')).toBe(401);
    expect(await status(engine, '/sql/x', 'alice :alice-pw')).toBe(401);
    expect(await status(engine, '/sql/x', 'jurgen:grüße-123')).toBe(401);
    await engine.config.close();
  });
});

describe('dbdProvider (authts/providers/dbd) on its own', () => {
  it.each(['pgsql', 'sqlite3'] as const)('%s: granted with the extra columns, denied, not-found; close() ends it', async (driver) => {
    const db = await makers[driver]();
    try {
      const users = await dbdProvider({ driver, params: db.url, userQuery: USER_QUERY, max: 2 });
      expect(users.name).toBe('dbd');
      expect(await users.authenticate('alice', 'alice-pw')).toEqual({ result: 'granted', env: new Map([['AUTHENTICATE_EMAIL', 'alice@example.org']]) });
      expect(await users.checkPassword('alice', 'wrong')).toBe('denied');
      expect(await users.checkPassword("' OR '1'='1", 'alice-pw')).toBe('not-found');
      await expect(users.checkPassword(42 as unknown as string, 'x')).rejects.toThrow(TypeError);
      await users.close();
      await expect(users.checkPassword('alice', 'alice-pw')).rejects.toMatchObject({ code: 'DBD_UNAVAILABLE' });
    } finally {
      await db.drop();
    }
  });

  it('a database that refuses the connection fails at once with DBD_UNAVAILABLE, without the password', async () => {
    const err = await dbdProvider({ driver: 'pgsql', params: 'postgres://web:hunter2@127.0.0.1:1/x', userQuery: USER_QUERY }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DBD_UNAVAILABLE' });
    expect((err as Error).message).not.toContain('hunter2');
  });
});
