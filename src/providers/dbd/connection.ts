/**
 * One connection to a PostgreSQL or MySQL/MariaDB server, as a `dbd` pool lends it. The driver
 * (`pg`, `mysql2`) is imported on the first connection, so a configuration without SQL never
 * loads it.
 */
import { AuthTsError } from '../../errors.js';
import type { MysqlParams, PgParams } from './params.js';

/**
 * What a query returns: column names and rows of text values (`null` for SQL NULL).
 *
 * @example
 * ```ts
 * const { columns, rows } = await connection.query('authts_1', 'SELECT pw, email FROM u WHERE name = $1', ['alice']);
 * ```
 */
export interface DbdResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/**
 * A query the server refused (bad SQL, missing table): the connection itself is fine.
 *
 * @example
 * ```ts
 * if (err instanceof DbdQueryError) lease.release(); // the connection itself is fine
 * ```
 */
export class DbdQueryError extends Error {
  override readonly name = 'DbdQueryError';
}

/**
 * A live connection. `broken` turns true once the driver saw the connection end or fail.
 *
 * @example
 * ```ts
 * const c: DbdConnection = await openPg(params);
 * if (!c.broken) await c.query('authts_1', sql, ['alice']);
 * ```
 */
export interface DbdConnection {
  readonly broken: boolean;
  /** How many queries this connection has answered. */
  readonly uses: number;
  /**
   * Runs a prepared statement (`name` identifies it on this connection) with text parameters.
   * Throws {@link DbdQueryError} when the server refused the query; anything else means the
   * connection can no longer be trusted.
   */
  query(name: string, sql: string, params: readonly string[]): Promise<DbdResult>;
  close(): Promise<void>;
}

/**
 * Connect timeout when DBDParams gives none.
 *
 * @example
 * ```ts
 * new pg.Client({ connectionTimeoutMillis: params.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
 * ```
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/**
 * A query that has not answered after this long fails (the server is stuck): 500, not a hang.
 *
 * @example
 * ```ts
 * new pg.Client({ query_timeout: QUERY_TIMEOUT_MS });
 * ```
 */
export const QUERY_TIMEOUT_MS = 10_000;

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * The driver's socket, so that an idle connection does not keep the process alive (a pool
 * must not stop `authts check` or a script from exiting); it is ref'd while a query runs.
 */
function socketOf(holder: unknown): { ref(): void; unref(): void } | undefined {
  const stream = (holder as { stream?: { ref?: unknown; unref?: unknown } } | undefined)?.stream;
  return stream && typeof stream.ref === 'function' && typeof stream.unref === 'function'
    ? (stream as { ref(): void; unref(): void })
    : undefined;
}

/** SQLSTATE classes that mean the server refused the statement, not that the link broke. */
const PG_CONNECTION_CLASSES = new Set(['08', '57', '53', '58', 'XX']);

/**
 * Opens a PostgreSQL connection. All values come back as the server's text (no type parsing),
 * as apr_dbd_pgsql gives them. `onBroken` is called when the driver sees the connection end or
 * fail (the pool then replaces it).
 *
 * @example
 * ```ts
 * const c = await openPg(parseDbdParams('pgsql', 'postgres://web@127.0.0.1/auth', '/') as PgParams);
 * await c.query('q1', 'SELECT password FROM users WHERE name = $1', ['alice']);
 * ```
 */
export async function openPg(params: PgParams, onBroken?: () => void): Promise<DbdConnection> {
  const { default: pg } = await import('pg');
  let broken = false;
  let uses = 0;
  const client = new pg.Client({
    ...(params.host !== undefined ? { host: params.host } : {}),
    ...(params.port !== undefined ? { port: params.port } : {}),
    ...(params.database !== undefined ? { database: params.database } : {}),
    ...(params.user !== undefined ? { user: params.user } : {}),
    ...(params.password !== undefined ? { password: params.password } : {}),
    ...(params.applicationName !== undefined ? { application_name: params.applicationName } : { application_name: 'authts' }),
    ssl: params.ssl === undefined || params.ssl === 'disable' ? false : { rejectUnauthorized: params.ssl === 'verify-full' },
    connectionTimeoutMillis: params.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    types: { getTypeParser: () => (value: string) => value },
  } as ConstructorParameters<typeof pg.Client>[0]);
  // An idle connection the server ended (restart, pg_terminate_backend) reports here; without a
  // listener the process would crash.
  client.on('error', () => {
    broken = true;
    onBroken?.();
  });
  client.on('end', () => {
    broken = true;
    onBroken?.();
  });
  try {
    await client.connect();
  } catch (err) {
    broken = true;
    client.end().catch(() => {});
    throw err;
  }
  const socket = socketOf((client as unknown as { connection?: unknown }).connection);
  socket?.unref();
  return {
    get broken() {
      return broken;
    },
    get uses() {
      return uses;
    },
    async query(name, sql, values) {
      uses++;
      socket?.ref();
      try {
        const result = await client.query({ name, text: sql, values: [...values], rowMode: 'array' });
        return {
          columns: result.fields.map((f) => f.name),
          rows: (result.rows as unknown[][]).map((row) => row.map(text)),
        };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (!broken && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !PG_CONNECTION_CLASSES.has(code.slice(0, 2))) {
          throw new DbdQueryError(`PostgreSQL refused the query (SQLSTATE ${code}): ${(err as Error).message}`, { cause: err });
        }
        broken = true;
        throw err;
      } finally {
        socket?.unref();
      }
    },
    async close() {
      broken = true;
      await client.end();
    },
  };
}

/**
 * Opens a MySQL/MariaDB connection speaking utf8mb4. Prepared statements are cached per
 * connection by mysql2. `onBroken` is called when the driver sees the connection end or fail.
 *
 * @example
 * ```ts
 * const c = await openMysql(parseDbdParams('mysql', 'mysql://web@127.0.0.1/auth', '/') as MysqlParams);
 * await c.query('q1', 'SELECT password FROM users WHERE name = ?', ['alice']);
 * ```
 */
export async function openMysql(params: MysqlParams, onBroken?: () => void): Promise<DbdConnection> {
  const mysql = await import('mysql2/promise');
  let broken = false;
  let uses = 0;
  const conn = await mysql.createConnection({
    ...(params.host !== undefined ? { host: params.host } : {}),
    ...(params.port !== undefined ? { port: params.port } : {}),
    ...(params.socketPath !== undefined ? { socketPath: params.socketPath } : {}),
    ...(params.database !== undefined ? { database: params.database } : {}),
    ...(params.user !== undefined ? { user: params.user } : {}),
    ...(params.password !== undefined ? { password: params.password } : {}),
    connectTimeout: params.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  conn.on('error', () => {
    broken = true;
    onBroken?.();
  });
  conn.on('end', () => {
    broken = true;
    onBroken?.();
  });
  const socket = socketOf((conn as unknown as { connection?: unknown }).connection);
  socket?.unref();
  return {
    get broken() {
      return broken;
    },
    get uses() {
      return uses;
    },
    async query(_name, sql, values) {
      uses++;
      socket?.ref();
      try {
        const [rows, fields] = await conn.execute({ sql, rowsAsArray: true, timeout: QUERY_TIMEOUT_MS }, [...values]);
        return {
          columns: (fields ?? []).map((f) => f.name),
          rows: (rows as unknown[][]).map((row) => row.map(text)),
        };
      } catch (err) {
        const e = err as { fatal?: unknown; sqlState?: unknown; code?: unknown };
        if (!broken && e.fatal !== true && typeof e.sqlState === 'string') {
          throw new DbdQueryError(`MySQL refused the query (${String(e.code)}): ${(err as Error).message}`, { cause: err });
        }
        broken = true;
        throw err;
      } finally {
        socket?.unref();
      }
    },
    async close() {
      if (broken) {
        conn.destroy();
        return;
      }
      broken = true;
      await Promise.race([conn.end(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]).catch(() => {});
      conn.destroy();
    },
  };
}

/**
 * The AuthTsError for a connection that failed to open or broke, without secrets.
 *
 * @example
 * ```ts
 * throw unavailable('pgsql://web@127.0.0.1:5432/auth', err);
 * ```
 */
export function unavailable(where: string, err: unknown): AuthTsError {
  const reason = err instanceof Error ? err.message : String(err);
  return new AuthTsError('DBD_UNAVAILABLE', `database ${where} cannot answer: ${reason}`, { cause: err });
}
