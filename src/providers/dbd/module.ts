/**
 * mod_dbd, mod_authn_dbd and mod_authz_dbd: `DBDriver`, `DBDParams`, `DBDMin`, `DBDKeep`,
 * `DBDMax`, `DBDExptime`, `DBDPersist` (server); `AuthDBDUserPWQuery`, `AuthDBDUserRealmQuery`
 * (authn provider `dbd`); `AuthzDBDQuery` and `Require dbd-group`.
 *
 * Built in, so `authts serve` understands `AuthBasicProvider dbd`; the drivers (`pg`, `mysql2`,
 * `better-sqlite3`) are imported only when the first connection opens.
 */
import { onOffDirective } from '../../config/args.js';
import { AuthTsError, type SourceLocation } from '../../errors.js';
import type { AuthnProvider, AuthnResult, AuthzProvider, AuthzResult, DirectiveContext, Module, ModuleScope } from '../../module.js';
import { makeDummyHash, verifyPassword } from '../../passwords/index.js';
import type { AuthRequest } from '../../request.js';
import type { DbdResult } from './connection.js';
import { DbdParamsError, parseDbdParams, parseDriverName, type DbdDriverName, type DbdParams } from './params.js';
import { DEFAULT_LIMITS, DbdPool, type DbdLimits, type DbdPoolStats } from './pool.js';
import { DbdStatementError, parseStatement, type DbdStatement } from './statement.js';

/**
 * Server-wide settings of `dbd` (mod_dbd).
 *
 * @example
 * ```ts
 * req.serverSettings(dbdModules.dbd).params; // { driver: 'pgsql', host: '127.0.0.1', … }
 * ```
 */
export interface DbdServerSettings {
  driver: DbdDriverName | undefined;
  driverWhere: SourceLocation | undefined;
  /** Raw `DBDParams` and where it was, parsed once the driver is known (checkConfig). */
  paramsText: { text: string; where: SourceLocation; serverRoot: string } | undefined;
  params: DbdParams | undefined;
  limits: { -readonly [K in keyof DbdLimits]?: DbdLimits[K] };
}

/**
 * A query directive's value: the parsed statement and where it was written.
 *
 * @example
 * ```ts
 * req.settings(dbdModules.authnDbd).userQuery?.statement.parameters; // 1
 * ```
 */
export interface DbdQuerySetting {
  readonly statement: DbdStatement;
  readonly where: SourceLocation;
}

/**
 * Per-section settings of `authn_dbd`.
 *
 * @example
 * ```ts
 * const s: AuthnDbdSettings = req.settings(dbdModules.authnDbd);
 * ```
 */
export interface AuthnDbdSettings {
  userQuery?: DbdQuerySetting;
  realmQuery?: DbdQuerySetting;
}

/**
 * Per-section settings of `authz_dbd`.
 *
 * @example
 * ```ts
 * const s: AuthzDbdSettings = req.settings(dbdModules.authzDbd);
 * ```
 */
export interface AuthzDbdSettings {
  groupQuery?: DbdQuerySetting;
}

/**
 * A parsed `Require dbd-group` line: the group names, compared exactly (httpd's strcmp).
 *
 * @example
 * ```ts
 * // Require dbd-group admins staff  →  { groups: ['admins', 'staff'] }
 * ```
 */
export interface RequireDbdGroup {
  readonly groups: readonly string[];
}

/** The first row with a non-NULL first column, as mod_authn_dbd reads a result. */
function firstRow(result: DbdResult): readonly (string | null)[] | undefined {
  return result.rows.find((row) => row[0] !== null && row[0] !== undefined);
}

/**
 * `AUTHENTICATE_<COLUMN>` for every column after the first: the name upper-cased, every
 * character but ASCII letters and digits turned into `_` (as mod_authn_dbd); SQL NULL gives ''.
 *
 * @example
 * ```ts
 * authenticateVariable('e-mail'); // 'AUTHENTICATE_E_MAIL'
 * ```
 */
export function authenticateVariable(column: string): string {
  return `AUTHENTICATE_${column.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
}

function setColumns(req: AuthRequest, result: DbdResult, row: readonly (string | null)[]): void {
  for (let i = 1; i < result.columns.length; i++) {
    req.env.set(authenticateVariable(result.columns[i]!), row[i] ?? '');
  }
}

/** A bcrypt hash shape at cost 10: what unknown users cost before any real hash was read. */
const DEFAULT_HASH_MODEL = `$2y$10$${'.'.repeat(53)}`;

/**
 * Checks `password` against a dummy hash made like the pool's hashes, so that "no such user"
 * costs what "wrong password" costs.
 */
async function spendDummyCheck(pool: DbdPool, dummies: WeakMap<DbdPool, Promise<string>>, password: string): Promise<void> {
  let dummy = dummies.get(pool);
  if (!dummy) {
    dummy = makeDummyHash(pool.hashModel ?? DEFAULT_HASH_MODEL);
    dummies.set(pool, dummy);
    dummy.catch(() => dummies.delete(pool));
  }
  await verifyPassword(await dummy, password);
}

function intArg(ctx: DirectiveContext, value: string): number {
  if (!/^\d{1,9}$/.test(value)) return ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name} needs a whole number ≥ 0 (got "${value}")`);
  return Number(value);
}

function queryArg(ctx: DirectiveContext, text: string, parameters: number, what: string): DbdQuerySetting {
  let statement: DbdStatement;
  try {
    statement = parseStatement(text);
  } catch (err) {
    if (err instanceof DbdStatementError) return ctx.error('CONFIG_BAD_ARGUMENT', `${ctx.name}: ${err.message}`);
    throw err;
  }
  if (statement.parameters !== parameters) {
    ctx.error(
      'CONFIG_BAD_ARGUMENT',
      `${ctx.name} needs exactly ${parameters} %s placeholder${parameters === 1 ? '' : 's'} (${what}); found ${statement.parameters}`,
      'values are bound as parameters, never written into the query: write %s where each goes, without quotes',
    );
  }
  return Object.freeze({ statement, where: ctx.where });
}

/** A pool and how many loaded configurations hold it. */
interface SharedPool {
  readonly key: string;
  readonly pool: DbdPool;
  refs: number;
  closed: boolean;
}

/**
 * The three modules and what they share (the pools).
 *
 * @example
 * ```ts
 * const { dbd, authnDbd, authzDbd }: DbdModules = createDbdModules();
 * ```
 */
export interface DbdModules {
  readonly dbd: Module<Record<string, never>, DbdServerSettings>;
  readonly authnDbd: Module<AuthnDbdSettings>;
  readonly authzDbd: Module<AuthzDbdSettings>;
  /**
   * The pool `config` holds (metrics, status page): where `DBDParams` stands, its driver, its
   * counts and whether the database answered the last query; `undefined` when the configuration
   * names no database or holds no pool (released, or never used).
   *
   * @example
   * ```ts
   * dbdModules.poolStatus(server.config()); // { where: { file: '/etc/authts/site.conf', line: 4 }, driver: 'pgsql', up: true, stats: { open: 1, … } }
   * ```
   */
  poolStatus(config: ModuleScope): DbdPoolStatus | undefined;
}

/** What {@link DbdModules.poolStatus} answers. */
export interface DbdPoolStatus {
  /** Where the configuration's `DBDParams` is. */
  readonly where: SourceLocation;
  readonly driver: string;
  readonly up: boolean;
  readonly stats: DbdPoolStats;
}

/**
 * Creates the `dbd`, `authn_dbd` and `authz_dbd` modules. They share one pool per database
 * (driver, parameters and limits): every section and every loaded configuration naming the same
 * database uses the same connections. A pool is made and warmed (`DBDMin` connections) when a
 * configuration loads, and counts the configurations holding it: `Config.close()` (the module's
 * `release`) drops that configuration's reference, and the pool closes with the last one (a
 * reload with changed `DBDParams` closes the old pool once the old configuration is closed; one
 * with the same database keeps it). `close()` of `dbd` closes every pool at once (a later
 * request of a configuration still loaded opens a new one).
 *
 * Provider `dbd`, as mod_authn_dbd's:
 * - no `AuthDBDUserPWQuery` where it is used → throws `AuthTsError` `DBD_NOT_CONFIGURED` (500);
 * - the query runs with the user name bound to its `%s`; the first row whose first column is
 *   not NULL gives the stored hash (later rows are ignored); its other columns become
 *   `AUTHENTICATE_<COLUMN>` values;
 * - no such row → `'not-found'` (after a dummy check: the same cost as a wrong password);
 * - otherwise {@link verifyPassword} decides `'granted'` or `'denied'`;
 * - a database that cannot answer → throws `DBD_UNAVAILABLE`, a refused query
 *   `DBD_QUERY_FAILED` (both 500).
 *
 * `Require dbd-group g1 g2`: no user → `'denied-no-user'`; `AuthzDBDQuery` runs with the user
 * bound; every row's first column is a group; granted when one equals (exactly) a listed name;
 * a database failure throws (500), as mod_authz_dbd's GENERAL_ERROR.
 *
 * @example
 * ```ts
 * const { dbd, authnDbd, authzDbd } = createDbdModules();
 * const config = await loadConfig({ file: 'site.conf', modules: [...otherModules, dbd, authnDbd, authzDbd] });
 * ```
 */
export function createDbdModules(): DbdModules {
  /** One pool per database (driver, parameters, limits), with the configurations using it. */
  const shared = new Map<string, SharedPool>();
  /** Each loaded configuration (by its server settings) → the shared pool it holds a reference to. */
  const held = new WeakMap<DbdServerSettings, SharedPool>();
  /** Configurations released (closed): their late requests get no pool. */
  const released = new WeakSet<DbdServerSettings>();
  const dummies = new WeakMap<DbdPool, Promise<string>>();

  function limitsOf(server: DbdServerSettings): DbdLimits {
    return { ...DEFAULT_LIMITS, ...server.limits };
  }

  /** Takes a reference for this configuration to the pool of its database (made on first need). */
  function hold(server: DbdServerSettings, params: DbdParams): SharedPool {
    const limits = limitsOf(server);
    const key = JSON.stringify([params, limits]);
    let entry = shared.get(key);
    if (!entry) {
      entry = { key, pool: new DbdPool(params, limits), refs: 0, closed: false };
      shared.set(key, entry);
    }
    entry.refs++;
    held.set(server, entry);
    return entry;
  }

  /** The pool of this configuration's database. */
  function poolFor(server: DbdServerSettings): DbdPool {
    const params = server.params;
    if (!params) {
      throw new AuthTsError('DBD_NOT_CONFIGURED', 'no DBDriver/DBDParams is configured for the dbd provider');
    }
    const entry = held.get(server);
    if (entry && !entry.closed) return entry.pool;
    if (released.has(server)) throw new AuthTsError('DBD_UNAVAILABLE', 'the configuration was closed: its database pool is released');
    // The module's close() closed every pool while this configuration still lives: a new one.
    return hold(server, params).pool;
  }

  /** Drops this configuration's reference; the pool closes with the last one. */
  async function release(server: DbdServerSettings): Promise<void> {
    released.add(server);
    const entry = held.get(server);
    held.delete(server);
    if (!entry || entry.closed) return;
    entry.refs--;
    if (entry.refs > 0) return;
    entry.closed = true;
    shared.delete(entry.key);
    await entry.pool.close();
  }

  const dbd: Module<Record<string, never>, DbdServerSettings> = {
    name: 'dbd',
    createServerSettings: () => ({ driver: undefined, driverWhere: undefined, paramsText: undefined, params: undefined, limits: {} }),
    directives: [
      {
        name: 'DBDriver',
        context: 'server',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'DBDriver pgsql|mysql|sqlite3',
        apply(ctx, [name]) {
          const driver = parseDriverName(name ?? '');
          if (!driver) {
            ctx.error('CONFIG_BAD_ARGUMENT', `DBDriver "${name}" is not available`, 'authts has the pgsql, mysql (MariaDB too) and sqlite3 drivers');
          }
          ctx.server(dbd).driver = driver;
          ctx.server(dbd).driverWhere = ctx.where;
        },
      },
      {
        name: 'DBDParams',
        context: 'server',
        minArgs: 1,
        syntax: 'DBDParams param1=value1[,param2=value2]|URL',
        apply(ctx, _args, raw) {
          // The whole rest of the line: libpq's conninfo has its own quoting.
          let text = raw.trim();
          if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
          ctx.server(dbd).paramsText = { text, where: ctx.where, serverRoot: ctx.serverRoot };
        },
      },
      ...(['DBDMin', 'DBDKeep', 'DBDMax', 'DBDExptime'] as const).map((name) => ({
        name,
        context: 'server' as const,
        minArgs: 1,
        maxArgs: 1,
        syntax: `${name} number`,
        apply(ctx: DirectiveContext, [value]: readonly string[]) {
          const n = intArg(ctx, value ?? '');
          const limits = ctx.server(dbd).limits;
          if (name === 'DBDMin') limits.min = n;
          else if (name === 'DBDKeep') limits.keep = n;
          else if (name === 'DBDMax') limits.max = n;
          else limits.exptimeSeconds = n;
        },
      })),
      onOffDirective('DBDPersist', 'server', (ctx, on) => {
        ctx.server(dbd).limits.persist = on;
      }),
    ],
    checkConfig(view) {
      const server = view.serverSettings(dbd);
      const given = server.paramsText;
      if (given && !server.driver) {
        view.error(given.where, 'DBDParams', 'CONFIG_BAD_ARGUMENT', 'DBDParams without DBDriver', 'add DBDriver pgsql, mysql or sqlite3');
        return;
      }
      if (server.driver && !given) {
        view.error(server.driverWhere ?? { file: '<config>', line: 0 }, 'DBDriver', 'CONFIG_BAD_ARGUMENT', `DBDriver ${server.driver} without DBDParams`, 'add DBDParams naming the database');
        return;
      }
      if (!server.driver || !given) return;
      try {
        server.params = parseDbdParams(server.driver, given.text, given.serverRoot);
      } catch (err) {
        if (!(err instanceof DbdParamsError)) throw err;
        view.error(given.where, 'DBDParams', 'CONFIG_BAD_ARGUMENT', err.message);
        return;
      }
      const l = limitsOf(server);
      if (l.max < 1 || l.min > l.keep || l.keep > l.max) {
        view.error(
          given.where,
          'DBDParams',
          'CONFIG_BAD_ARGUMENT',
          `the pool limits must satisfy DBDMin (${l.min}) ≤ DBDKeep (${l.keep}) ≤ DBDMax (${l.max}) and DBDMax ≥ 1`,
        );
        return;
      }
      // Opened at start, as mod_dbd's child_init: in the background, so a database that is
      // down does not stop the server from starting (its requests answer 500 until it is back).
      // The configuration holds a reference to the pool until it is released.
      if (!held.has(server)) void hold(server, server.params).pool.warm();
    },
    release: async function releaseDbd(config): Promise<void> {
      await release(config.serverSettings(dbd));
    },
    close: async function closeDbd(): Promise<void> {
      const all = [...shared.values()];
      shared.clear();
      for (const entry of all) entry.closed = true;
      await Promise.all(all.map((e) => e.pool.close()));
    },
  };

  function requireDatabase(view: Parameters<NonNullable<Module['checkConfig']>>[0], queries: (DbdQuerySetting | undefined)[], directive: string): void {
    const server = view.serverSettings(dbd);
    if (server.driver && server.paramsText) return;
    for (const q of queries) {
      if (q) view.error(q.where, directive, 'CONFIG_BAD_ARGUMENT', `${directive} needs a database: no DBDriver and DBDParams are configured`, 'add DBDriver and DBDParams at server level');
    }
  }

  const authnProvider: AuthnProvider = {
    checkPassword: async function dbdCheckPassword(req, user, password): Promise<AuthnResult> {
      const query = req.settings(authnDbd).userQuery;
      if (!query) throw new AuthTsError('DBD_NOT_CONFIGURED', 'the "dbd" authn provider is used where no AuthDBDUserPWQuery is set');
      const pool = poolFor(req.serverSettings(dbd));
      const result = await pool.query(query.statement, [user]);
      const row = firstRow(result);
      if (!row) {
        await spendDummyCheck(pool, dummies, password);
        return 'not-found';
      }
      const hash = row[0]!;
      pool.hashModel ??= hash;
      setColumns(req, result, row);
      return (await verifyPassword(hash, password)) ? 'granted' : 'denied';
    },
    getRealmHash: async function dbdGetRealmHash(req, user, realm): Promise<string | undefined> {
      const query = req.settings(authnDbd).realmQuery;
      if (!query) throw new AuthTsError('DBD_NOT_CONFIGURED', 'the "dbd" authn provider is used for Digest where no AuthDBDUserRealmQuery is set');
      const result = await poolFor(req.serverSettings(dbd)).query(query.statement, [user, realm]);
      const row = firstRow(result);
      if (!row) return undefined;
      setColumns(req, result, row);
      return row[0]!;
    },
  };

  const authnDbd: Module<AuthnDbdSettings> = {
    name: 'authn_dbd',
    directives: [
      {
        name: 'AuthDBDUserPWQuery',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthDBDUserPWQuery "SELECT password FROM users WHERE user = %s"',
        apply(ctx, [text]) {
          ctx.dir(authnDbd).userQuery = queryArg(ctx, text ?? '', 1, 'the user name');
        },
      },
      {
        name: 'AuthDBDUserRealmQuery',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthDBDUserRealmQuery "SELECT hash FROM users WHERE user = %s AND realm = %s"',
        apply(ctx, [text]) {
          ctx.dir(authnDbd).realmQuery = queryArg(ctx, text ?? '', 2, 'the user name, then the realm');
        },
      },
    ],
    createDirSettings: () => ({}),
    mergeDirSettings: (base, add) => {
      const merged: AuthnDbdSettings = {};
      const user = add.userQuery ?? base.userQuery;
      const realm = add.realmQuery ?? base.realmQuery;
      if (user) merged.userQuery = user;
      if (realm) merged.realmQuery = realm;
      return merged;
    },
    authnProviders: { dbd: authnProvider },
    checkConfig(view) {
      for (const { settings } of view.sections) {
        const s = settings as AuthnDbdSettings;
        requireDatabase(view, [s.userQuery], 'AuthDBDUserPWQuery');
        requireDatabase(view, [s.realmQuery], 'AuthDBDUserRealmQuery');
      }
    },
  };

  const authzProvider: AuthzProvider<RequireDbdGroup> = {
    parseRequire(args, ctx) {
      // ap_getword_white: whitespace-separated, no quoting.
      const groups = args.split(/\s+/).filter(Boolean);
      if (groups.length === 0) ctx.warn('Require dbd-group without a group name never grants');
      if (args.includes('%{')) ctx.warn('Require dbd-group: authts does not evaluate %{…} expressions here; the names are taken literally');
      return Object.freeze({ groups: Object.freeze(groups) });
    },
    checkAuthorization: async function dbdGroupCheckAuthorization(req, parsed): Promise<AuthzResult> {
      const user = req.user;
      if (user === undefined) return 'denied-no-user';
      const query = req.settings(authzDbd).groupQuery;
      if (!query) throw new AuthTsError('DBD_NOT_CONFIGURED', 'Require dbd-group is used where no AuthzDBDQuery is set');
      const result = await poolFor(req.serverSettings(dbd)).query(query.statement, [user]);
      const groups = new Set(result.rows.map((row) => row[0]).filter((g): g is string => g !== null && g !== undefined));
      if (parsed.groups.some((g) => groups.has(g))) return 'granted';
      req.log.info({ user, groups: parsed.groups }, "Require dbd-group: user is not part of the 'require'ed group(s)");
      return 'denied';
    },
  };

  const authzDbd: Module<AuthzDbdSettings> = {
    name: 'authz_dbd',
    directives: [
      {
        name: 'AuthzDBDQuery',
        context: 'section',
        minArgs: 1,
        maxArgs: 1,
        syntax: 'AuthzDBDQuery "SELECT group FROM groups WHERE user = %s"',
        apply(ctx, [text]) {
          ctx.dir(authzDbd).groupQuery = queryArg(ctx, text ?? '', 1, 'the user name');
        },
      },
    ],
    createDirSettings: () => ({}),
    mergeDirSettings: (base, add) => {
      const q = add.groupQuery ?? base.groupQuery;
      return q ? { groupQuery: q } : {};
    },
    authzProviders: { 'dbd-group': authzProvider },
    userGroups: async function dbdUserGroups(req, user): Promise<readonly string[]> {
      const query = req.settings(authzDbd).groupQuery;
      if (!query) return [];
      const result = await poolFor(req.serverSettings(dbd)).query(query.statement, [user]);
      return result.rows.map((row) => row[0]).filter((g): g is string => g !== null && g !== undefined);
    },
    checkConfig(view) {
      for (const { settings } of view.sections) requireDatabase(view, [(settings as AuthzDbdSettings).groupQuery], 'AuthzDBDQuery');
    },
  };

  function poolStatus(config: ModuleScope): DbdPoolStatus | undefined {
    const server = config.serverSettings(dbd);
    const entry = held.get(server);
    if (!entry || entry.closed || !server.params || !server.paramsText) return undefined;
    return { where: server.paramsText.where, driver: server.params.driver, up: entry.pool.up, stats: entry.pool.stats() };
  }

  return { dbd, authnDbd, authzDbd, poolStatus };
}

/**
 * The built-in `dbd`, `authn_dbd` and `authz_dbd` modules.
 *
 * @example
 * ```ts
 * builtinModules().includes(dbdModules.dbd); // true
 * ```
 */
export const dbdModules: DbdModules = createDbdModules();
