/**
 * mod_authn_dbd / mod_authz_dbd conformance: the same configuration and the same queries in a
 * private Apache httpd (Debian's mod_dbd with libaprutil1-dbd-pgsql, -mysql and -sqlite3) and in
 * `authts serve`, both asking the same database; for every request both must give the table's
 * status. The expected answers are httpd's.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/serve.js';
import { rawRequest } from '../services/http-client.js';
import { startHttpd, type HttpdInstance } from '../services/httpd.js';
import { createMariaDatabase, createPgDatabase, createSqliteDatabase, GROUP_QUERY, USER_QUERY, type TestDatabase } from '../services/sql.js';
import { startAuthtsBeside } from './peers.js';

interface Row {
  readonly path: string;
  readonly auth?: string;
  readonly status: number;
}

function authConfig(driver: string, params: string): string {
  const loc = (path: string, require: string, query = USER_QUERY): string => `<Location "${path}">
  AuthType Basic
  AuthName "SQL"
  AuthBasicProvider dbd
  AuthDBDUserPWQuery "${query}"
  AuthzDBDQuery "${GROUP_QUERY}"
  Require ${require}
</Location>
`;
  return [
    `DBDriver ${driver}`,
    `DBDParams "${params}"`,
    'DBDMin 1',
    'DBDKeep 2',
    'DBDMax 4',
    loc('/v', 'valid-user'),
    loc('/admins', 'dbd-group admins'),
    loc('/devs', 'dbd-group nobody-group developers'),
    loc('/user', 'user alice'),
  ].join('\n');
}

const rows: readonly Row[] = [
  { path: '/v/x', status: 401 },
  { path: '/v/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/v/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/v/x', auth: 'alice:wrong', status: 401 },
  { path: '/v/x', auth: 'alice:', status: 401 },
  { path: '/v/x', auth: 'bob:bob-pw', status: 404 },
  { path: '/v/x', auth: 'carol:carol-pw', status: 404 },
  { path: '/v/x', auth: 'dave:dave-pw', status: 404 },
  { path: '/v/x', auth: 'john smith:john-pw', status: 404 },
  { path: '/v/x', auth: 'disabled:disabled-pw', status: 401 },
  { path: '/v/x', auth: 'nobody:x', status: 401 },
  { path: '/v/x', auth: `o'brien"; --:obrien-pw`, status: 404 },
  { path: '/v/x', auth: "' OR '1'='1:alice-pw", status: 401 },
  { path: '/v/x', auth: "alice' --:alice-pw", status: 401 },
  { path: '/v/x', auth: '%s:alice-pw', status: 401 },
  { path: '/v/x', auth: 'ALICE:alice-pw', status: 401 },
  { path: '/v/x', auth: 'alice :alice-pw', status: 401 },
  { path: '/v/x', auth: `${'a'.repeat(4000)}:alice-pw`, status: 401 },
  { path: '/admins/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/admins/x', auth: 'bob:bob-pw', status: 401 },
  { path: '/admins/x', status: 401 },
  { path: '/devs/x', auth: 'john smith:john-pw', status: 404 },
  { path: '/devs/x', auth: 'carol:carol-pw', status: 401 },
  { path: '/user/x', auth: 'alice:alice-pw', status: 404 },
  { path: '/user/x', auth: 'bob:bob-pw', status: 401 },
];

function send(base: string, row: Row) {
  const headers: [string, string][] = row.auth === undefined ? [] : [['Authorization', `Basic ${Buffer.from(row.auth, 'utf8').toString('base64')}`]];
  return rawRequest(base, { method: 'GET', path: row.path, headers });
}

describe.each(['pgsql', 'mysql', 'sqlite3'] as const)('mod_authn_dbd conformance on %s (httpd and authts, one database)', (driver) => {
  let db: TestDatabase;
  let httpd: HttpdInstance;
  let authts: RunningServer;
  let authtsUrl: string;

  beforeAll(async () => {
    db = driver === 'pgsql' ? await createPgDatabase() : driver === 'mysql' ? await createMariaDatabase({ collation: 'exact' }) : await createSqliteDatabase();
    // httpd's children run as www-data: the SQLite file goes into the instance directory.
    const params = driver === 'sqlite3' ? '${AUTHTS_HTTPD_DIR}/users.db' : db.params;
    const config = authConfig(driver, params);
    httpd = await startHttpd({
      config,
      modules: ['dbd', 'authn_dbd', 'authz_dbd'],
      ...(driver === 'sqlite3' ? { files: { 'users.db': await readFile(db.params) } } : {}),
    });
    ({ authts, authtsUrl } = await startAuthtsBeside(httpd, config));
  });

  afterAll(async () => {
    await authts?.close();
    await httpd?.stop();
    await db?.drop();
  });

  // httpd prepares every query on every new connection, so a query that does not prepare (no
  // such table) fails the whole pool there: 500 for every section. authts prepares per query
  // and fails only the sections using it (docs/differences-from-httpd.md); not in this table.
  for (const row of rows) {
    it(`${row.path} as ${JSON.stringify(row.auth?.split(':')[0]?.slice(0, 24) ?? 'nobody')} → ${row.status}`, async () => {
      const [h, a] = await Promise.all([send(httpd.url, row), send(authtsUrl, row)]);
      expect({ httpd: h.status, authts: a.status }).toEqual({ httpd: row.status, authts: row.status });
    });
  }
});
