/**
 * A `dbd` pool: the connections to one database, shared by every section (and every provider)
 * that uses it, as mod_dbd's reslist. PostgreSQL and MySQL connections are lent by a
 * {@link Reslist} (`DBDMin`, `DBDKeep`, `DBDMax`, `DBDExptime`); SQLite queries run on a pool of
 * worker threads, each holding one read-only handle.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { AuthTsError } from '../../errors.js';
import { DbdQueryError, openMysql, openPg, unavailable, type DbdConnection, type DbdResult } from './connection.js';
import { describeParams, type DbdParams } from './params.js';
import { Reslist, type ReslistLease } from './reslist.js';
import type { SqliteAnswer, SqliteTask } from './sqlite-worker.js';
import { statementSql, type DbdStatement } from './statement.js';

/**
 * `DBDMin`, `DBDKeep`, `DBDMax`, `DBDExptime` (seconds) and `DBDPersist`.
 *
 * @example
 * ```ts
 * const limits: DbdLimits = { ...DEFAULT_LIMITS, max: 4 };
 * ```
 */
export interface DbdLimits {
  readonly min: number;
  readonly keep: number;
  readonly max: number;
  readonly exptimeSeconds: number;
  readonly persist: boolean;
}

/**
 * httpd's defaults (threaded MPM).
 *
 * @example
 * ```ts
 * new DbdPool(params, { ...DEFAULT_LIMITS, min: 2 });
 * ```
 */
export const DEFAULT_LIMITS: DbdLimits = Object.freeze({ min: 1, keep: 2, max: 10, exptimeSeconds: 300, persist: true });

/** How long a request waits for a free connection when all `DBDMax` are lent. */
const ACQUIRE_TIMEOUT_MS = 5_000;

/**
 * What {@link DbdPool.stats} reports.
 *
 * @example
 * ```ts
 * pool.stats(); // { busy: 0, idle: 2, opened: 2 }
 * ```
 */
export interface DbdPoolStats {
  /** Connections lent or opening, and requests waiting for one (SQLite: queries running or queued). */
  readonly busy: number;
  /** Idle connections (SQLite: worker threads). */
  readonly idle: number;
  /** Connections opened since the pool was made (SQLite: worker threads now). */
  readonly opened: number;
  /** Connections open or opening now (SQLite: worker threads). */
  readonly open: number;
  /** Requests waiting for a connection because `DBDMax` are lent (SQLite: queries queued). */
  readonly waiting: number;
}

/**
 * Test hooks of {@link DbdPool}: the clock and the maintenance period of its {@link Reslist}.
 *
 * @example
 * ```ts
 * let now = 0;
 * const pool = new DbdPool(params, limits, { now: () => now, maintainIntervalMs: 3_600_000 });
 * ```
 */
export interface DbdPoolOptions {
  readonly now?: () => number;
  readonly maintainIntervalMs?: number;
}

/**
 * The connections to one database. `query` borrows a connection, runs a prepared statement and
 * gives it back. A connection the driver saw break is never lent again; one that breaks during
 * a query is closed, and the query is tried once more on a new connection when the broken one
 * had been used before (it went stale while idle: the server restarted or killed it). Every
 * idle connection older than the break is then distrusted too. A database that cannot answer
 * is an `AuthTsError` `DBD_UNAVAILABLE` (the request gets 500); the next query tries again, so
 * service resumes by itself when the database is back.
 *
 * @example
 * ```ts
 * const pool = new DbdPool(parseDbdParams('pgsql', 'postgres://web@127.0.0.1/auth', '/'), DEFAULT_LIMITS);
 * const result = await pool.query(parseStatement('SELECT pw FROM users WHERE name = %s'), ['alice']);
 * await pool.close();
 * ```
 */
export class DbdPool {
  readonly params: DbdParams;
  readonly limits: DbdLimits;
  /** Where the pool points, without secrets (for logs and errors). */
  readonly where: string;
  readonly #list: Reslist<Tracked> | undefined;
  #sqlite: Piscina<SqliteTask, SqliteAnswer> | undefined;
  readonly #names = new Map<string, string>();
  #generation = 0;
  #opened = 0;
  #closed = false;
  #up = true;
  #warming: Promise<void> | undefined;
  /** The hash unknown users are checked against is made like this (the first hash read). */
  hashModel: string | undefined;

  constructor(params: DbdParams, limits: DbdLimits, options: DbdPoolOptions = {}) {
    this.params = params;
    this.limits = limits;
    this.where = describeParams(params);
    if (params.driver !== 'sqlite3') {
      // A connection the server ended while idle is replaced at once (DBDMin is kept).
      const broke = (): void => {
        if (!this.#closed) setImmediate(() => this.#list?.maintain()).unref();
      };
      this.#list = new Reslist<Tracked>(
        {
          open: async () => {
            const connection = params.driver === 'pgsql' ? await openPg(params, broke) : await openMysql(params, broke);
            this.#opened++;
            return { connection, generation: this.#generation };
          },
          close: (t) => t.connection.close(),
          isHealthy: (t) => !t.connection.broken && t.generation === this.#generation,
        },
        {
          // DBDPersist Off: no connection is kept (DBDMin and DBDKeep do not apply).
          min: limits.persist ? limits.min : 0,
          keep: limits.persist ? limits.keep : 0,
          max: limits.max,
          ttlMs: limits.exptimeSeconds * 1000,
          persist: limits.persist,
          acquireTimeoutMs: ACQUIRE_TIMEOUT_MS,
          ...(options.now ? { now: options.now } : {}),
          ...(options.maintainIntervalMs !== undefined ? { maintainIntervalMs: options.maintainIntervalMs } : {}),
        },
      );
    }
  }

  /**
   * Opens `DBDMin` connections now (in the background; failures are not fatal: the first
   * request tries again and answers 500 while the database cannot answer). Resolves when done.
   */
  warm(): Promise<void> {
    this.#warming ??= this.#warm();
    return this.#warming;
  }

  async #warm(): Promise<void> {
    if (!this.limits.persist || this.limits.min === 0) return;
    if (this.params.driver === 'sqlite3') {
      this.#workers();
      return;
    }
    await this.#list!.fill();
  }

  /**
   * One maintenance pass now (it also runs on an unref'd timer): idle connections above
   * `DBDKeep` idle for `DBDExptime` are closed, dead ones dropped, and `DBDMin` reopened.
   */
  maintain(): void {
    this.#list?.maintain();
  }

  /** Counts for tests and diagnostics. */
  stats(): DbdPoolStats {
    if (this.#list) {
      const s = this.#list.stats();
      return { busy: s.lent + s.opening + s.waiting, idle: s.idle, opened: this.#opened, open: s.total, waiting: s.waiting };
    }
    const workers = this.#sqlite?.threads.length ?? 0;
    const queued = this.#sqlite?.queueSize ?? 0;
    return { busy: queued, idle: workers, opened: workers, open: workers, waiting: queued };
  }

  /**
   * Runs `statement` with `params` bound (never interpolated). Throws `AuthTsError`
   * `DBD_UNAVAILABLE` when the database cannot answer, `DBD_QUERY_FAILED` when it refused the
   * query (bad SQL, missing table, wrong number of parameters).
   */
  async query(statement: DbdStatement, params: readonly string[]): Promise<DbdResult> {
    try {
      const result = await this.#query(statement, params);
      this.#up = true;
      return result;
    } catch (err) {
      if (err instanceof AuthTsError && err.code === 'DBD_UNAVAILABLE') this.#up = false;
      throw err;
    }
  }

  /**
   * Whether the database answered the last query (a refused query counts as an answer); true
   * until the first query. For metrics and the status page.
   */
  get up(): boolean {
    return this.#up;
  }

  async #query(statement: DbdStatement, params: readonly string[]): Promise<DbdResult> {
    if (this.#closed) throw new AuthTsError('DBD_UNAVAILABLE', `the pool of ${this.where} is closed`);
    if (params.length !== statement.parameters) {
      throw new TypeError(`DbdPool.query: the statement has ${statement.parameters} placeholder(s), got ${params.length} value(s)`);
    }
    const sql = statementSql(statement, this.params.driver);
    if (this.params.driver === 'sqlite3') return this.#querySqlite(this.params.file, sql, params);
    const name = this.#statementName(sql);
    for (let attempt = 0; ; attempt++) {
      let lease: ReslistLease<Tracked>;
      try {
        lease = await this.#list!.acquire();
      } catch (err) {
        throw unavailable(this.where, err);
      }
      const { connection } = lease.resource;
      const reused = connection.uses > 0;
      try {
        const result = await connection.query(name, sql, params);
        if (this.limits.persist) lease.release();
        else await lease.destroy();
        return result;
      } catch (err) {
        if (err instanceof DbdQueryError) {
          lease.release();
          throw new AuthTsError('DBD_QUERY_FAILED', `${this.where}: ${err.message}`, { cause: err });
        }
        // The link broke: whatever else sat idle as long is suspect too (server restart).
        this.#generation++;
        await lease.destroy();
        if (attempt === 0 && reused) continue;
        throw unavailable(this.where, err);
      }
    }
  }

  /** Whether {@link DbdPool.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes every connection (lent ones when given back), stops the maintenance timer and the
   * SQLite workers.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#list?.close();
    await this.#warming?.catch(() => {});
    const sqlite = this.#sqlite;
    this.#sqlite = undefined;
    await sqlite?.destroy();
  }

  #statementName(sql: string): string {
    let name = this.#names.get(sql);
    if (!name) {
      name = `authts_${this.#names.size + 1}`;
      this.#names.set(sql, name);
    }
    return name;
  }

  #workers(): Piscina<SqliteTask, SqliteAnswer> {
    if (!this.#sqlite) {
      // Run from source (vitest, tsx) the worker is a .ts file and needs tsx (see crypt-pool.ts).
      const fromSource = import.meta.url.endsWith('.ts');
      const filename = new URL(`./sqlite-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href;
      const execArgv = fromSource ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : undefined;
      this.#sqlite = new Piscina<SqliteTask, SqliteAnswer>({
        filename,
        minThreads: this.limits.persist ? this.limits.min : 0,
        maxThreads: this.limits.max,
        idleTimeout: !this.limits.persist ? 1 : this.limits.exptimeSeconds === 0 ? 2 ** 31 - 1 : this.limits.exptimeSeconds * 1000,
        recordTiming: false,
        ...(execArgv ? { execArgv } : {}),
      });
    }
    return this.#sqlite;
  }

  async #querySqlite(file: string, sql: string, params: readonly string[]): Promise<DbdResult> {
    let answer: SqliteAnswer;
    try {
      answer = await this.#workers().run({ file, sql, params: [...params] });
    } catch (err) {
      throw unavailable(this.where, err);
    }
    if (answer.ok) return { columns: answer.columns, rows: answer.rows };
    if (answer.kind === 'query') throw new AuthTsError('DBD_QUERY_FAILED', `${this.where}: SQLite refused the query: ${answer.message}`);
    throw new AuthTsError('DBD_UNAVAILABLE', `database ${this.where} cannot answer: ${answer.message}`);
  }
}

interface Tracked {
  readonly connection: DbdConnection;
  readonly generation: number;
}
