/**
 * `DBDriver` and `DBDParams`: which database a `dbd` pool talks to, parsed once at load.
 *
 * `DBDParams` takes the form httpd's driver takes (libpq's `key=value` conninfo for `pgsql`,
 * apr_dbd_mysql's `key=value` list for `mysql`, a file name for `sqlite3`) or a URL
 * (`postgres://`, `postgresql://`, `mysql://`, `mariadb://`, `file:`).
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The drivers `DBDriver` names, as httpd spells them.
 *
 * @example
 * ```ts
 * const driver: DbdDriverName = parseDriverName('postgresql') ?? 'sqlite3'; // 'pgsql'
 * ```
 */
export type DbdDriverName = 'pgsql' | 'mysql' | 'sqlite3';

/**
 * Where a PostgreSQL pool connects (what `pg.Client` is given).
 *
 * @example
 * ```ts
 * parseDbdParams('pgsql', 'host=127.0.0.1 dbname=auth', '/') as PgParams;
 * ```
 */
export interface PgParams {
  readonly driver: 'pgsql';
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly connectTimeoutMs: number | undefined;
  readonly ssl: 'disable' | 'require' | 'verify-full' | undefined;
  readonly applicationName: string | undefined;
}

/**
 * Where a MySQL/MariaDB pool connects (what `mysql2` is given).
 *
 * @example
 * ```ts
 * parseDbdParams('mysql', 'host=127.0.0.1,dbname=auth', '/') as MysqlParams;
 * ```
 */
export interface MysqlParams {
  readonly driver: 'mysql';
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly socketPath: string | undefined;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly connectTimeoutMs: number | undefined;
}

/**
 * The SQLite file a pool opens (read-only).
 *
 * @example
 * ```ts
 * parseDbdParams('sqlite3', 'users.db', '/etc/authts'); // { driver: 'sqlite3', file: '/etc/authts/users.db' }
 * ```
 */
export interface SqliteParams {
  readonly driver: 'sqlite3';
  /** Absolute path of the database file. */
  readonly file: string;
}

/**
 * Parsed `DBDParams` of one driver.
 *
 * @example
 * ```ts
 * const params: DbdParams = parseDbdParams('mysql', 'mysql://web@127.0.0.1/auth', '/');
 * ```
 */
export type DbdParams = PgParams | MysqlParams | SqliteParams;

/**
 * A `DBDParams` value that cannot be used; `message` never contains the password.
 *
 * @example
 * ```ts
 * try { parseDbdParams('pgsql', 'bogus=1', '/'); } catch (err) { err instanceof DbdParamsError; // true }
 * ```
 */
export class DbdParamsError extends Error {
  override readonly name = 'DbdParamsError';
}

/**
 * The driver `DBDriver` names, or undefined for a driver authts does not have. `postgres`,
 * `postgresql`, `mariadb` and `sqlite` are accepted as spellings of the same drivers.
 *
 * @example
 * ```ts
 * parseDriverName('pgsql'); // 'pgsql'
 * parseDriverName('oracle'); // undefined
 * ```
 */
export function parseDriverName(name: string): DbdDriverName | undefined {
  switch (name.toLowerCase()) {
    case 'pgsql':
    case 'postgres':
    case 'postgresql':
      return 'pgsql';
    case 'mysql':
    case 'mariadb':
      return 'mysql';
    case 'sqlite3':
    case 'sqlite':
      return 'sqlite3';
    default:
      return undefined;
  }
}

/**
 * Parses `DBDParams` for `driver`. Relative SQLite paths resolve against `serverRoot`.
 * Throws {@link DbdParamsError} naming the bad key (never echoing a password).
 *
 * @example
 * ```ts
 * parseDbdParams('pgsql', "host=127.0.0.1 dbname=auth user=web password='s3 cret'", '/etc/authts');
 * parseDbdParams('mysql', 'mysql://web:secret@127.0.0.1:3306/auth', '/etc/authts');
 * parseDbdParams('sqlite3', 'users.db', '/etc/authts'); // { driver: 'sqlite3', file: '/etc/authts/users.db' }
 * ```
 */
export function parseDbdParams(driver: DbdDriverName, text: string, serverRoot: string): DbdParams {
  const trimmed = text.trim();
  if (trimmed === '') throw new DbdParamsError('DBDParams is empty');
  switch (driver) {
    case 'pgsql':
      return /^postgres(ql)?:\/\//i.test(trimmed) ? pgFromUrl(trimmed) : pgFromConninfo(trimmed);
    case 'mysql':
      return /^(mysql|mariadb):\/\//i.test(trimmed) ? mysqlFromUrl(trimmed) : mysqlFromList(trimmed);
    case 'sqlite3':
      return sqliteFile(trimmed, serverRoot);
  }
}

function port(value: string, key: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new DbdParamsError(`${key} must be a port number 1-65535 (got "${value}")`);
  }
  return Number(value);
}

function seconds(value: string, key: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new DbdParamsError(`${key} must be a whole number of seconds (got "${value}")`);
  return Number(value) * 1000;
}

function sslMode(value: string): PgParams['ssl'] {
  switch (value) {
    case 'disable':
    case 'allow':
    case 'prefer':
      // libpq tries TLS first for allow/prefer; authts does not fall back silently: plain.
      return 'disable';
    case 'require':
    case 'verify-ca':
      return 'require';
    case 'verify-full':
      return 'verify-full';
    default:
      throw new DbdParamsError(`sslmode must be disable, allow, prefer, require, verify-ca or verify-full (got "${value}")`);
  }
}

interface PgFields {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  connectTimeoutMs?: number;
  ssl?: PgParams['ssl'];
  applicationName?: string;
}

function pgSet(fields: PgFields, key: string, value: string): void {
  switch (key) {
    case 'host':
    case 'hostaddr':
      fields.host = value;
      return;
    case 'port':
      fields.port = port(value, 'port');
      return;
    case 'dbname':
      fields.database = value;
      return;
    case 'user':
      fields.user = value;
      return;
    case 'password':
      fields.password = value;
      return;
    case 'connect_timeout':
      fields.connectTimeoutMs = seconds(value, 'connect_timeout');
      return;
    case 'sslmode':
      fields.ssl = sslMode(value);
      return;
    case 'application_name':
      fields.applicationName = value;
      return;
    default:
      throw new DbdParamsError(
        `unknown pgsql parameter "${key}" (known: host, hostaddr, port, dbname, user, password, connect_timeout, sslmode, application_name)`,
      );
  }
}

function pgParams(fields: PgFields): PgParams {
  return {
    driver: 'pgsql',
    host: fields.host,
    port: fields.port,
    database: fields.database,
    user: fields.user,
    password: fields.password,
    connectTimeoutMs: fields.connectTimeoutMs,
    ssl: fields.ssl,
    applicationName: fields.applicationName,
  };
}

/** libpq's conninfo: `key = value` pairs; a value may be single-quoted with `\'` and `\\`. */
function pgFromConninfo(text: string): PgParams {
  const fields: PgFields = {};
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  while (true) {
    skipSpace();
    if (i >= text.length) break;
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && !/\s/.test(text[i]!)) i++;
    const key = text.slice(keyStart, i);
    skipSpace();
    if (text[i] !== '=') throw new DbdParamsError(`pgsql parameter "${key}" has no "=value"`);
    i++;
    skipSpace();
    let value = '';
    if (text[i] === "'") {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (c === "'") {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) throw new DbdParamsError(`pgsql parameter "${key}": unterminated quoted value`);
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
    }
    pgSet(fields, key, value);
  }
  return pgParams(fields);
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new DbdParamsError('DBDParams is not a valid URL');
  }
}

function pgFromUrl(text: string): PgParams {
  const url = parseUrl(text);
  const fields: PgFields = {};
  if (url.hostname !== '') fields.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port !== '') fields.port = port(url.port, 'port');
  if (url.username !== '') fields.user = decodeURIComponent(url.username);
  if (url.password !== '') fields.password = decodeURIComponent(url.password);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db !== '') fields.database = db;
  for (const [key, value] of url.searchParams) pgSet(fields, key, value);
  return pgParams(fields);
}

interface MysqlFields {
  host?: string;
  port?: number;
  socketPath?: string;
  database?: string;
  user?: string;
  password?: string;
  connectTimeoutMs?: number;
}

function mysqlParams(fields: MysqlFields): MysqlParams {
  return {
    driver: 'mysql',
    host: fields.host,
    port: fields.port,
    socketPath: fields.socketPath,
    database: fields.database,
    user: fields.user,
    password: fields.password,
    connectTimeoutMs: fields.connectTimeoutMs,
  };
}

/**
 * apr_dbd_mysql's list: `key=value` pairs separated by any of ` \r\n\t;|,`; values cannot
 * contain those characters (as in httpd). Keys that only tune libmysqlclient are accepted and
 * ignored; unknown keys are an error.
 */
function mysqlFromList(text: string): MysqlParams {
  const fields: MysqlFields = {};
  for (const pair of text.split(/[ \r\n\t;|,]+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new DbdParamsError(`mysql parameter "${pair.split('=')[0]}" has no "=value"`);
    const key = pair.slice(0, eq).toLowerCase();
    const value = pair.slice(eq + 1);
    switch (key) {
      case 'host':
        fields.host = value;
        break;
      case 'port':
        fields.port = port(value, 'port');
        break;
      case 'sock':
        fields.socketPath = value;
        break;
      case 'dbname':
        fields.database = value;
        break;
      case 'user':
        fields.user = value;
        break;
      case 'pass':
        fields.password = value;
        break;
      case 'connecttimeout':
        fields.connectTimeoutMs = seconds(value, 'connecttimeout');
        break;
      case 'readtimeout':
      case 'writetimeout':
      case 'flags':
      case 'fldsz':
      case 'group':
      case 'reconnect':
        break;
      default:
        throw new DbdParamsError(
          `unknown mysql parameter "${key}" (known: host, port, sock, dbname, user, pass, connecttimeout, readtimeout, writetimeout, flags, fldsz, group, reconnect)`,
        );
    }
  }
  return mysqlParams(fields);
}

function mysqlFromUrl(text: string): MysqlParams {
  const url = parseUrl(text);
  const fields: MysqlFields = {};
  if (url.hostname !== '') fields.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port !== '') fields.port = port(url.port, 'port');
  if (url.username !== '') fields.user = decodeURIComponent(url.username);
  if (url.password !== '') fields.password = decodeURIComponent(url.password);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db !== '') fields.database = db;
  for (const [key, value] of url.searchParams) {
    if (key === 'connectTimeout' || key === 'connecttimeout') fields.connectTimeoutMs = seconds(value, key);
    else if (key === 'socket' || key === 'sock') fields.socketPath = value;
    else throw new DbdParamsError(`unknown mysql URL parameter "${key}" (known: connecttimeout, socket)`);
  }
  return mysqlParams(fields);
}

function sqliteFile(text: string, serverRoot: string): SqliteParams {
  if (text === ':memory:' || text.startsWith('file::memory:')) {
    throw new DbdParamsError('an in-memory SQLite database would be empty (and different on every connection): name a file');
  }
  let path = text;
  if (/^file:/i.test(text)) {
    try {
      path = fileURLToPath(text.replace(/\?.*$/, ''));
    } catch {
      throw new DbdParamsError('DBDParams: not a usable file: URL (write an absolute file:///path or a plain path)');
    }
  }
  return { driver: 'sqlite3', file: isAbsolute(path) ? path : resolve(serverRoot, path) };
}

/**
 * A description of where `params` points, safe for logs and errors (no password).
 *
 * @example
 * ```ts
 * describeParams(parseDbdParams('pgsql', 'postgres://web:pw@127.0.0.1/auth', '/')); // 'pgsql://web@127.0.0.1:5432/auth'
 * ```
 */
export function describeParams(params: DbdParams): string {
  switch (params.driver) {
    case 'pgsql':
      return `pgsql://${params.user ?? ''}@${params.host ?? 'localhost'}:${params.port ?? 5432}/${params.database ?? ''}`;
    case 'mysql':
      return params.socketPath !== undefined
        ? `mysql://${params.user ?? ''}@unix:${params.socketPath}/${params.database ?? ''}`
        : `mysql://${params.user ?? ''}@${params.host ?? 'localhost'}:${params.port ?? 3306}/${params.database ?? ''}`;
    case 'sqlite3':
      return `sqlite3:${params.file}`;
  }
}
