/**
 * SQL peers for the dbd tests: a database per test on the machine's PostgreSQL (127.0.0.1:5432,
 * trust, user postgres) and MariaDB (127.0.0.1:3306, root without password), SQLite files, and
 * private PostgreSQL / MariaDB servers in temp dirs that a test may stop and start (by PID).
 * Every database is created with the same users and groups ({@link SEED_USERS}); each helper
 * drops or removes what it made. A peer that is down fails the test: nothing is skipped.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { freePort } from './net.js';

const run = promisify(execFile);

/** A user row of the seed: the hash formats httpd's apr_password_validate knows. */
export interface SeedUser {
  readonly name: string;
  readonly password: string;
  readonly hash: string;
  readonly email: string | null;
  readonly disabled: boolean;
}

/**
 * Users (cleartext passwords for the tests), made by `htpasswd -B -C 5`, `htpasswd -m`,
 * `htpasswd -s` and `openssl passwd -6` (the rows of shared/recipes/sql/seed-data.sql).
 */
export const SEED_USERS: readonly SeedUser[] = [
  { name: 'alice', password: 'alice-pw', hash: '$2y$05$rsHvBEA4X4qF7GtYL8lVx.zYuC3k8T48dSkEQXaeV8n6sLTMXFSsK', email: 'alice@example.org', disabled: false },
  { name: 'bob', password: 'bob-pw', hash: '$apr1$4gulRkq5$3RKFWPmXATOOaAiqzbDKS/', email: 'bob@example.org', disabled: false },
  { name: 'carol', password: 'carol-pw', hash: '{SHA}hsAaMBat8aKiQgxhKhAqvbXOPbw=', email: null, disabled: false },
  { name: 'dave', password: 'dave-pw', hash: '$6$s4ltS4lt$0MYbBIv8IG/zmulWC7EgJV6b1QO0B.bssg7bZqb7bCLLLsZZM4SA76z3pQ3TTW4tjglTPXG8Ouegr9ugEo/le0', email: 'dave@example.org', disabled: false },
  { name: 'john smith', password: 'john-pw', hash: '$2y$05$tOJp2L7puVhgp0ZShmq7KeNjwHmbqS5Ekk3PUydrw4dG6P6ONPOUe', email: 'john@example.org', disabled: false },
  { name: 'jürgen', password: 'grüße-123', hash: '$2y$05$I9YgvVhU1c/.2W3SYCdopeD3WN0/GNwimFaicYumQw36QzYCnCZCS', email: 'juergen@example.org', disabled: false },
  { name: 'disabled', password: 'disabled-pw', hash: '$2y$05$mc75Gv4i6PDwxepsE5STbOMZ0FX/IBF8l5yLK946yIxXFznky1RHm', email: null, disabled: true },
  // SQL metacharacters in a real name: found only through bound parameters.
  { name: "o'brien\"; --", password: 'obrien-pw', hash: '{SHA}qyoWp2CZps6fa5mKP2iWjvPfOlY=', email: null, disabled: false },
];

/** user → groups. */
export const SEED_GROUPS: readonly (readonly [string, string])[] = [
  ['alice', 'admins'],
  ['alice', 'staff'],
  ['bob', 'developers'],
  ['john smith', 'developers'],
  ['jürgen', 'developers'],
  ['carol', 'staff'],
  ['carol', 'Staff Room'],
];

/** The queries every test uses (httpd's form: `%s` placeholders). */
export const USER_QUERY = 'SELECT password_hash, email FROM users WHERE username = %s AND disabled = 0';
export const GROUP_QUERY = 'SELECT groupname FROM user_groups WHERE username = %s';

/** A database made for one test. */
export interface TestDatabase {
  /** `DBDriver` value. */
  readonly driver: 'pgsql' | 'mysql' | 'sqlite3';
  /** `DBDParams` in httpd's key=value form (a file path for SQLite). */
  readonly params: string;
  /** The same database as a URL (`postgres://`, `mysql://`, `file:`). */
  readonly url: string;
  readonly name: string;
  /** Runs SQL as the admin (for KILL, pg_terminate_backend, counting connections). */
  admin(sql: string, values?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Drops the database (or removes the file). */
  drop(): Promise<void>;
}

function uniqueName(): string {
  return `authts_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
}

const CREATE_USERS = (usernameType: string): string => `CREATE TABLE users (
  username ${usernameType} NOT NULL PRIMARY KEY,
  password_hash VARCHAR(255),
  email VARCHAR(255),
  disabled SMALLINT NOT NULL DEFAULT 0
)`;
const CREATE_GROUPS = (usernameType: string): string => `CREATE TABLE user_groups (
  username ${usernameType} NOT NULL,
  groupname ${usernameType} NOT NULL,
  PRIMARY KEY (username, groupname)
)`;

function seedRows(): { users: (string | number | null)[][]; groups: string[][] } {
  return {
    users: SEED_USERS.map((u) => [u.name, u.hash, u.email, u.disabled ? 1 : 0]),
    groups: SEED_GROUPS.map(([u, g]) => [u, g]),
  };
}

/** PostgreSQL on the machine (127.0.0.1:5432 unless `PGPORT`), or a private one by port. */
export async function createPgDatabase(options: { port?: number; host?: string } = {}): Promise<TestDatabase> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 5432;
  const name = uniqueName();
  const adminTo = async (database: string): Promise<pg.Client> => {
    const c = new pg.Client({ host, port, user: 'postgres', database, connectionTimeoutMillis: 5_000 });
    await c.connect();
    return c;
  };
  const root = await adminTo('postgres');
  try {
    await root.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
  } finally {
    await root.end();
  }
  const db = await adminTo(name);
  try {
    await db.query(CREATE_USERS('VARCHAR(255)'));
    await db.query(CREATE_GROUPS('VARCHAR(255)'));
    const { users, groups } = seedRows();
    for (const u of users) await db.query('INSERT INTO users VALUES ($1, $2, $3, $4)', u);
    for (const g of groups) await db.query('INSERT INTO user_groups VALUES ($1, $2)', g);
  } finally {
    await db.end();
  }
  return {
    driver: 'pgsql',
    name,
    params: `host=${host} port=${port} user=postgres dbname=${name}`,
    url: `postgres://postgres@${host}:${port}/${name}`,
    async admin(sql, values = []) {
      const c = await adminTo('postgres');
      try {
        return (await c.query(sql, [...values])).rows;
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = await adminTo('postgres');
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * MariaDB on the machine (127.0.0.1:3306, root). `collation` is the user-name columns':
 * `default` is the server's (utf8mb4_general_ci: `ALICE` and `alice ` match `alice`), `exact`
 * is `utf8mb4_nopad_bin` (byte-exact, no PAD SPACE).
 */
export async function createMariaDatabase(options: { collation?: 'default' | 'exact'; port?: number } = {}): Promise<TestDatabase> {
  const port = options.port ?? 3306;
  const name = uniqueName();
  const connect = (database?: string): Promise<mysql.Connection> =>
    mysql.createConnection({ host: '127.0.0.1', port, user: 'root', charset: 'utf8mb4', connectTimeout: 5_000, ...(database ? { database } : {}) });
  const root = await connect();
  try {
    await root.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    await root.query(`USE ${name}`);
    const type = options.collation === 'exact' ? 'VARCHAR(255) COLLATE utf8mb4_nopad_bin' : 'VARCHAR(255)';
    await root.query(CREATE_USERS(type));
    await root.query(CREATE_GROUPS(type));
    const { users, groups } = seedRows();
    for (const u of users) await root.execute('INSERT INTO users VALUES (?, ?, ?, ?)', u);
    for (const g of groups) await root.execute('INSERT INTO user_groups VALUES (?, ?)', g);
  } finally {
    await root.end();
  }
  return {
    driver: 'mysql',
    name,
    params: `host=127.0.0.1,port=${port},user=root,dbname=${name}`,
    url: `mysql://root@127.0.0.1:${port}/${name}`,
    async admin(sql, values = []) {
      const c = await connect();
      try {
        const [rows] = await c.query(sql, [...values]);
        return rows as Record<string, unknown>[];
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = await connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A SQLite file with the seed, in `dir` (made with better-sqlite3, closed before returning). */
export async function createSqliteDatabase(dir?: string): Promise<TestDatabase> {
  const where = dir ?? (await mkdtemp(join(tmpdir(), 'authts-sqlite-')));
  const name = uniqueName();
  const file = join(where, `${name}.db`);
  const db = new Database(file);
  try {
    db.exec(CREATE_USERS('TEXT'));
    db.exec(CREATE_GROUPS('TEXT'));
    const { users, groups } = seedRows();
    const insertUser = db.prepare('INSERT INTO users VALUES (?, ?, ?, ?)');
    const insertGroup = db.prepare('INSERT INTO user_groups VALUES (?, ?)');
    db.transaction(() => {
      for (const u of users) insertUser.run(...u);
      for (const g of groups) insertGroup.run(...g);
    })();
  } finally {
    db.close();
  }
  return {
    driver: 'sqlite3',
    name,
    params: file,
    url: `file://${file}`,
    async admin(sql, values = []) {
      const c = new Database(file);
      try {
        const stmt = c.prepare(sql);
        return stmt.reader ? (stmt.all(...values) as Record<string, unknown>[]) : (stmt.run(...values), []);
      } finally {
        c.close();
      }
    },
    async drop() {
      if (dir === undefined) await rm(where, { recursive: true, force: true });
      else await rm(file, { force: true });
    },
  };
}

/** A private database server a test may stop and start. */
export interface PrivateServer {
  readonly port: number;
  readonly dir: string;
  /** PID of the server process while it runs. */
  pid(): number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

function pgBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  const latest = versions.at(-1);
  if (!latest) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)');
  return `/usr/lib/postgresql/${latest}/bin`;
}

const asUser = (user: string, argv: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', user, '--', ...argv]] : [argv[0]!, argv.slice(1)];

/**
 * A private PostgreSQL (initdb + pg_ctl in a temp dir, trust auth on 127.0.0.1:<free port>).
 * As root the server runs as `postgres`, which must own the directory.
 */
export async function startPrivatePg(): Promise<PrivateServer> {
  const bin = pgBin();
  const dir = await mkdtemp(join(tmpdir(), 'authts-pg-'));
  await chmod(dir, 0o755);
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const [cmd, args] = asUser('postgres', [`${bin}/initdb`, '-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '-N', '--auth=trust']);
  await run(cmd, args);
  const port = await freePort();
  const ctl = async (...more: string[]): Promise<void> => {
    const [c, a] = asUser('postgres', [`${bin}/pg_ctl`, '-D', data, '-l', join(dir, 'postgres.log'), ...more]);
    await run(c, a);
  };
  const start = (): Promise<void> =>
    ctl('-w', '-t', '30', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`, 'start');
  await start();
  const pid = (): number | undefined => {
    try {
      return Number(readFileSyncSafe(join(data, 'postmaster.pid')).split('\n')[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  let destroyed = false;
  return {
    port,
    dir,
    pid,
    // pg_ctl signals exactly the postmaster of this data directory (its PID file).
    stop: () => ctl('-m', 'fast', '-w', '-t', '30', 'stop'),
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      if (existsSync(join(data, 'postmaster.pid'))) await ctl('-m', 'immediate', '-w', '-t', '30', 'stop').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function readFileSyncSafe(path: string): string {
  return readFileSync(path, 'utf8');
}

/** A private MariaDB (mariadb-install-db + mariadbd in a temp dir, root without password). */
export async function startPrivateMariadb(): Promise<PrivateServer> {
  const dir = await mkdtemp(join(tmpdir(), 'authts-mariadb-'));
  await mkdir(join(dir, 'data'));
  await mkdir(join(dir, 'tmp'));
  const isRoot = process.getuid?.() === 0;
  const userFlag = isRoot ? ['--user=mysql'] : [];
  if (isRoot) await run('chown', ['-R', 'mysql:', dir]);
  await run('mariadb-install-db', ['--no-defaults', ...userFlag, `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']);
  const port = await freePort();
  const sock = join(dir, 'mysqld.sock');
  let child: ChildProcess | undefined;
  const alive = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  async function start(): Promise<void> {
    child = spawn(
      '/usr/sbin/mariadbd',
      [
        '--no-defaults', ...userFlag, `--datadir=${join(dir, 'data')}`, `--socket=${sock}`, `--port=${port}`,
        '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'mysqld.pid')}`, `--log-error=${join(dir, 'mysqld.err')}`,
        `--tmpdir=${join(dir, 'tmp')}`, '--skip-name-resolve', '--skip-log-bin', '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci', '--innodb-buffer-pool-size=32M', '--innodb-flush-log-at-trx-commit=0',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`mariadbd exited while starting; see ${join(dir, 'mysqld.err')}`);
      try {
        const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1_000 });
        await c.end();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('mariadbd did not accept connections within 30 s');
  }
  async function stop(): Promise<void> {
    const c = child;
    if (!c || !alive()) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  await start();
  let destroyed = false;
  return {
    port,
    dir,
    pid: () => (alive() ? child?.pid : undefined),
    stop,
    start,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A database made from a conf-example's own schema file. */
export interface ExampleDatabase {
  /** libpq key=value `DBDParams`. */
  readonly params: string;
  drop(): Promise<void>;
}

/** A database on the machine's PostgreSQL, loaded with `schemaSql` (several statements). */
export async function createExamplePgDatabase(schemaSql: string): Promise<ExampleDatabase> {
  const name = uniqueName();
  const root = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5_000 });
  await root.connect();
  try {
    await root.query(`CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`);
  } finally {
    await root.end();
  }
  const db = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name });
  await db.connect();
  try {
    await db.query(schemaSql);
  } finally {
    await db.end();
  }
  return {
    params: `host=127.0.0.1 port=5432 user=postgres dbname=${name}`,
    async drop() {
      const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
