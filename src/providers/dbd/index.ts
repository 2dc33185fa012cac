/**
 * `authts/providers/dbd`: SQL users (PostgreSQL, MySQL/MariaDB, SQLite) outside a
 * configuration, and the pieces `AuthBasicProvider dbd` is made of.
 *
 * @example
 * ```ts
 * import { dbdProvider } from 'authts/providers/dbd';
 * const users = await dbdProvider({ driver: 'sqlite3', params: 'users.db', userQuery: 'SELECT hash FROM users WHERE name = %s' });
 * await users.checkPassword('alice', 'secret'); // 'granted' | 'denied' | 'not-found'
 * await users.close();
 * ```
 */
import type { AuthnResult, PasswordChecker } from '../../module.js';
import { makeDummyHash, verifyPassword } from '../../passwords/index.js';
import { DbdParamsError, parseDbdParams, parseDriverName, type DbdDriverName } from './params.js';
import { authenticateVariable } from './module.js';
import { DEFAULT_LIMITS, DbdPool, type DbdLimits } from './pool.js';
import { DbdStatementError, parseStatement } from './statement.js';

export { authenticateVariable, createDbdModules, dbdModules, type DbdModules, type DbdServerSettings, type AuthnDbdSettings, type AuthzDbdSettings } from './module.js';
export { parseDbdParams, parseDriverName, describeParams, DbdParamsError, type DbdParams, type DbdDriverName } from './params.js';
export { parseStatement, statementSql, DbdStatementError, type DbdStatement } from './statement.js';
export { DbdPool, DEFAULT_LIMITS, type DbdLimits, type DbdPoolOptions, type DbdPoolStats } from './pool.js';
export type { DbdResult } from './connection.js';

/**
 * Options of {@link dbdProvider}; the directive each one mirrors is named.
 *
 * @example
 * ```ts
 * const options: DbdProviderOptions = { driver: 'sqlite3', params: 'users.db', userQuery: 'SELECT hash FROM users WHERE name = %s', max: 4 };
 * ```
 */
export interface DbdProviderOptions {
  /** `DBDriver`: `pgsql`, `mysql` (MariaDB too) or `sqlite3`. */
  readonly driver: DbdDriverName | 'postgres' | 'postgresql' | 'mariadb' | 'sqlite';
  /** `DBDParams`: the driver's `key=value` form or a URL; for SQLite a file (relative to the working directory). */
  readonly params: string;
  /** `AuthDBDUserPWQuery`: one `%s` (the user name); the first column is the stored hash. */
  readonly userQuery: string;
  /** `DBDMin`, `DBDKeep`, `DBDMax`, `DBDExptime` (seconds), `DBDPersist`; httpd's defaults. */
  readonly min?: number;
  readonly keep?: number;
  readonly max?: number;
  readonly exptimeSeconds?: number;
  readonly persist?: boolean;
}

/**
 * A SQL {@link PasswordChecker} that also tells the extra columns of the user's row.
 *
 * @example
 * ```ts
 * const answer = await users.authenticate('alice', 'alice-pw');
 * if (answer.result === 'granted') answer.env.get('AUTHENTICATE_EMAIL');
 * ```
 */
export interface DbdPasswordChecker extends PasswordChecker {
  /**
   * Like `checkPassword`, with the other columns of the user's row when granted, keyed
   * `AUTHENTICATE_<COLUMN>` as the `dbd` provider sets them.
   */
  authenticate(user: string, password: string): Promise<{ result: 'granted'; env: ReadonlyMap<string, string> } | { result: 'denied' | 'not-found' }>;
}

function limit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`dbdProvider: options.${name} must be an integer ≥ 0`);
  return value;
}

/**
 * The `dbd` provider on its own, exactly as `AuthBasicProvider dbd` checks: the query runs with
 * the name bound to `%s`, the first row whose first column is not NULL holds the hash (any format
 * `verifyPassword` knows), no row is `'not-found'` after a dummy check of the same cost. The pool
 * opens one connection now, so a wrong address or password fails here (`AuthTsError`
 * `DBD_UNAVAILABLE`) rather than at the first check. Throws `TypeError` for bad options.
 *
 * @example
 * ```ts
 * import { dbdProvider } from 'authts/providers/dbd';
 * const users = await dbdProvider({
 *   driver: 'pgsql',
 *   params: 'postgres://web:secret@127.0.0.1/auth',
 *   userQuery: 'SELECT password_hash FROM users WHERE username = %s AND NOT disabled',
 * });
 * await users.checkPassword('alice', 'alice-pw'); // 'granted'
 * await users.close();
 * ```
 */
export async function dbdProvider(options: DbdProviderOptions): Promise<DbdPasswordChecker> {
  if (typeof options !== 'object' || options === null) throw new TypeError('dbdProvider: options must be an object');
  const driver = typeof options.driver === 'string' ? parseDriverName(options.driver) : undefined;
  if (!driver) throw new TypeError('dbdProvider: options.driver must be pgsql, mysql or sqlite3');
  if (typeof options.params !== 'string' || options.params === '') throw new TypeError('dbdProvider: options.params must be a non-empty string');
  if (typeof options.userQuery !== 'string') throw new TypeError('dbdProvider: options.userQuery must be a query string');
  let params;
  let statement;
  try {
    params = parseDbdParams(driver, options.params, process.cwd());
    statement = parseStatement(options.userQuery);
  } catch (err) {
    if (err instanceof DbdParamsError || err instanceof DbdStatementError) throw new TypeError(`dbdProvider: ${err.message}`);
    throw err;
  }
  if (statement.parameters !== 1) throw new TypeError(`dbdProvider: options.userQuery needs exactly one %s (found ${statement.parameters})`);
  const limits: DbdLimits = {
    min: limit('min', options.min, DEFAULT_LIMITS.min),
    keep: limit('keep', options.keep, DEFAULT_LIMITS.keep),
    max: limit('max', options.max, DEFAULT_LIMITS.max),
    exptimeSeconds: limit('exptimeSeconds', options.exptimeSeconds, DEFAULT_LIMITS.exptimeSeconds),
    persist: options.persist ?? DEFAULT_LIMITS.persist,
  };
  if (limits.max < 1 || limits.min > limits.keep || limits.keep > limits.max) {
    throw new TypeError('dbdProvider: options must satisfy min ≤ keep ≤ max and max ≥ 1');
  }
  const pool = new DbdPool(params, limits);
  try {
    // One real query proves the address, the credentials and the query itself now.
    await pool.query(statement, ['']);
  } catch (err) {
    await pool.close();
    throw err;
  }
  let dummy: Promise<string> | undefined;

  async function authenticate(user: string, password: string): Promise<{ result: 'granted'; env: ReadonlyMap<string, string> } | { result: 'denied' | 'not-found' }> {
    if (typeof user !== 'string' || typeof password !== 'string') throw new TypeError('checkPassword: user and password must be strings');
    const result = await pool.query(statement!, [user]);
    const row = result.rows.find((r) => r[0] !== null && r[0] !== undefined);
    if (!row) {
      dummy ??= makeDummyHash(pool.hashModel ?? `$2y$10$${'.'.repeat(53)}`);
      await verifyPassword(await dummy, password);
      return { result: 'not-found' };
    }
    const hash = row[0]!;
    pool.hashModel ??= hash;
    if (!(await verifyPassword(hash, password))) return { result: 'denied' };
    const env = new Map<string, string>();
    for (let i = 1; i < result.columns.length; i++) env.set(authenticateVariable(result.columns[i]!), row[i] ?? '');
    return { result: 'granted', env };
  }

  return {
    name: 'dbd',
    authenticate,
    checkPassword: async function checkPassword(user, password): Promise<AuthnResult> {
      return (await authenticate(user, password)).result;
    },
    close: function close(): Promise<void> {
      return pool.close();
    },
  };
}
