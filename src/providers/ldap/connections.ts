/**
 * LDAP connections as mod_ldap keeps them: connections bound as the service account are pooled
 * per (server, bind DN, password) and reused across requests — and shared: LDAP tags every
 * operation with a message ID, so concurrent searches and compares of many requests go out on
 * the same connection (RFC 4511 §4.1.1), their requests written together once per event-loop
 * turn. Nothing ever binds on them but their opening. User binds happen on connections of a
 * separate {@link ConnectionCache}, lent to one request at a time, which every borrower binds
 * first, so no request ever runs on a connection another request left bound as a user.
 *
 * `ldapts` is imported on first use, so loading authts (and configurations without LDAP) never
 * loads it.
 */
import { createHash } from 'node:crypto';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Client } from 'ldapts';
import { ConnectionCache } from '../../cache.js';
import { AuthTsError } from '../../errors.js';
import type { LdapHost, LdapSecurity, LdapUrl } from './url.js';

type Ldapts = typeof import('ldapts');
let ldapts: Promise<Ldapts> | undefined;

/**
 * Imports `ldapts` once. Rejects with `AuthTsError` `LDAP_NOT_INSTALLED` when it is missing.
 *
 * @example
 * ```ts
 * const { Client } = await loadLdapts();
 * ```
 */
export function loadLdapts(): Promise<Ldapts> {
  ldapts ??= import('ldapts').then(sendDerefAliases, (err: unknown) => {
    ldapts = undefined;
    throw new AuthTsError('LDAP_NOT_INSTALLED', 'the LDAP provider needs the "ldapts" package: npm install ldapts', { cause: err });
  });
  return ldapts;
}

/** How a search dereferences aliases (RFC 4511 §4.5.1.3; `AuthLDAPDereferenceAliases`). */
export type DerefAliases = 'never' | 'search' | 'find' | 'always';

/** The `derefAliases` of searches made by {@link ldapSearch}, keyed by their `attributes` array. */
const derefOf = new WeakMap<object, DerefAliases>();
const PATCHED = Symbol.for('authts.ldap.derefAliases');

/**
 * ldapts 8's `Client.search` does not pass `options.derefAliases` on to its `SearchRequest`
 * (every search goes out with `neverDerefAliases`), but does pass the `attributes` array as is.
 * So {@link ldapSearch} registers each search's `derefAliases` under its own `attributes` array,
 * and the request takes it from there when it is written. Fails loudly when ldapts changes shape.
 */
function sendDerefAliases(mod: Ldapts): Ldapts {
  const proto = mod.SearchRequest.prototype as unknown as Record<PropertyKey, unknown> & {
    writeMessage(this: { attributes: unknown; derefAliases: DerefAliases }, writer: unknown): void;
  };
  if (proto[PATCHED] === true) return mod;
  const write = proto.writeMessage;
  if (typeof write !== 'function') throw new AuthTsError('LDAP_NOT_INSTALLED', 'this version of ldapts has no SearchRequest.writeMessage; authts cannot set derefAliases');
  proto.writeMessage = function writeMessage(writer) {
    const deref = typeof this.attributes === 'object' && this.attributes !== null ? derefOf.get(this.attributes) : undefined;
    if (deref !== undefined) this.derefAliases = deref;
    write.call(this, writer);
  };
  proto[PATCHED] = true;
  return mod;
}

/**
 * `client.search` with `derefAliases` honoured (see {@link loadLdapts}; ldapts itself drops it).
 *
 * @example
 * ```ts
 * const { searchEntries } = await ldapSearch(client, 'ou=people,dc=example,dc=org', { filter: '(uid=a)', derefAliases: 'always' });
 * ```
 */
export function ldapSearch(
  client: Client,
  base: string,
  options: { readonly scope?: 'base' | 'one' | 'sub'; readonly filter: string; readonly attributes?: readonly string[]; readonly derefAliases: DerefAliases; readonly sizeLimit?: number },
): ReturnType<Client['search']> {
  const attributes = [...(options.attributes ?? [])];
  derefOf.set(attributes, options.derefAliases);
  return client.search(base, {
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
    filter: options.filter,
    attributes,
    derefAliases: options.derefAliases,
    ...(options.sizeLimit !== undefined ? { sizeLimit: options.sizeLimit } : {}),
  });
}

/** Server-wide connection settings (mod_ldap's `LDAP*` directives). */
export interface LdapConnectionSettings {
  /** `LDAPTrustedGlobalCert`: the CAs to trust (PEM or DER); undefined = Node's default CA store. */
  readonly ca: readonly (string | Buffer)[] | undefined;
  /** `LDAPVerifyServerCert` (default true). Off accepts any certificate: for tests only. */
  readonly verifyServerCert: boolean;
  /** `LDAPTimeout` in ms: each operation (bind, search, compare) and each wait for a pooled connection. */
  readonly timeoutMs: number;
  /** `LDAPConnectionTimeout` in ms: the TCP (and TLS) connect. */
  readonly connectTimeoutMs: number;
  /** `LDAPRetries`: further rounds over the servers after a failed one. */
  readonly retries: number;
  /** `LDAPRetryDelay` in ms between rounds. */
  readonly retryDelayMs: number;
  /** `LDAPConnectionPoolTTL` in ms: -1 keeps idle connections forever, 0 never keeps one. */
  readonly poolTtlMs: number;
  /**
   * `AuthTsLDAPPoolSize`: connections per server and pool (default {@link DEFAULT_POOL_SIZE}).
   * User binds hold one each, so this many run at once and more wait (at most `LDAPTimeout`);
   * service operations share connections, a new one opening when each has 32 under way.
   */
  readonly maxPerKey?: number;
}

/**
 * Connections per server and pool when `maxPerKey` / `AuthTsLDAPPoolSize` is not set. As many
 * as the requests a busy server answers at once (httpd keeps one per worker thread): a request
 * waiting for a user-bind connection measurably costs throughput (bench/LDAP-RESULTS.md).
 * Connections open only as load needs them.
 *
 * @example
 * ```ts
 * new LdapConnections({ ...DEFAULT_CONNECTION_SETTINGS, maxPerKey: DEFAULT_POOL_SIZE * 2 });
 * ```
 */
export const DEFAULT_POOL_SIZE = 32;

/**
 * Defaults as httpd's (connect timeout: 10 s, where httpd leaves it to the OS).
 *
 * @example
 * ```ts
 * new LdapConnections({ ...DEFAULT_CONNECTION_SETTINGS, retries: 1 });
 * ```
 */
export const DEFAULT_CONNECTION_SETTINGS: LdapConnectionSettings = Object.freeze({
  ca: undefined,
  verifyServerCert: true,
  timeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  retries: 3,
  retryDelayMs: 0,
  poolTtlMs: -1,
});

/** The identity a pooled service connection is bound as; `undefined`: anonymous. */
export interface LdapBindIdentity {
  readonly dn: string;
  readonly password: string;
}

interface Conn {
  readonly client: Client;
  /**
   * False once any socket of the connection closed. ldapts's own `isConnected` misses a server
   * closing a StartTLS-upgraded connection (it watches the plain socket it replaced), and a
   * request sent there would wait for LDAPTimeout.
   */
  readonly live: Liveness;
  /** How many borrowers used it. */
  uses: number;
  /** Operations under way on it (shared service connections). */
  inflight: number;
  /** When `inflight` last dropped to 0 (`Date.now()`), for `LDAPConnectionPoolTTL`. */
  idleSince: number;
  /** A `cork()` whose `uncork()` is scheduled (shared service connections). */
  corked: boolean;
}

/** The shared service connections of one key. */
interface SharedKey {
  conns: Conn[];
  /** The connection being opened; others wait for it instead of opening their own. */
  opening: Promise<Conn> | undefined;
}

/**
 * Operations in flight on one shared service connection before another is opened (up to the
 * pool size). slapd runs the operations of one connection concurrently, and the more share a
 * connection the more of their requests go out in one write.
 */
const SHARED_INFLIGHT = 32;

interface KeyParams {
  readonly host: LdapHost;
  readonly security: LdapSecurity;
  /** Bound once at open (service pool); undefined for the user pool and anonymous. */
  readonly bind: LdapBindIdentity | undefined;
}

/** LDAP result codes httpd retries on (server down/unavailable/busy). */
const TRANSIENT_RESULTS = new Set([51, 52]);
const SECURITY_RESULTS = new Set([47, 48, 49, 50]);

/**
 * The numeric LDAP result code of an error the server answered with (ldapts's
 * `ResultCodeError`), else undefined (network errors, timeouts, `AuthTsError`s).
 *
 * @example
 * ```ts
 * await client.bind(dn, password).catch((err) => ldapResultCode(err) === 49 ? 'denied' : Promise.reject(err));
 * ```
 */
export function ldapResultCode(err: unknown): number | undefined {
  if (err instanceof Error && err.name !== 'AuthTsError' && typeof (err as { code?: unknown }).code === 'number') {
    return (err as unknown as { code: number }).code;
  }
  return undefined;
}

function isTlsRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    typeof code === 'string' &&
    (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME|ERR_SSL|EPROTO/.test(code))
  );
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${code !== undefined ? `${String(code)}: ` : ''}${err.message.split('\n')[0]}`;
  }
  return String(err);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Unbinds politely when the connection is still up (at most 1 s), then destroys its sockets
 * whatever happened: an unbind on a connection the server already dropped never settles.
 */
async function closeConnection(conn: Conn): Promise<void> {
  try {
    if (conn.live.alive && conn.client.isConnected) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        conn.client.unbind().catch(() => {}),
        new Promise<void>((r) => {
          timer = setTimeout(r, 1_000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
  } finally {
    conn.live.alive = false;
    for (const socket of conn.live.sockets) socket.destroy();
  }
}

/** Whether a connection's sockets are open, and the sockets, to destroy them on close. */
interface Liveness {
  alive: boolean;
  readonly sockets: { destroy(): unknown }[];
}

/**
 * A connect function that works once (a dropped connection is never silently re-opened, so
 * never re-opened without StartTLS or unbound) and marks the connection dead when its socket closes.
 */
function once<F extends (...args: any[]) => any>(fn: F, what: string, live: Liveness): F {
  let used = false;
  return ((...args: unknown[]) => {
    if (used) throw new Error(`${what}: this LDAP connection was lost; it is not re-opened (a new one is)`);
    used = true;
    const socket = fn(...args) as { once(event: 'close', listener: () => void): unknown; unref?(): unknown; destroy(): unknown };
    live.sockets.push(socket);
    socket.once('close', () => {
      live.alive = false;
    });
    // An idle pooled connection must not keep the process alive (as an HTTP agent's idle
    // sockets do not); while an operation is under way its LDAPTimeout timer does.
    socket.unref?.();
    // One request, one answer: never let Nagle hold a small LDAP message back.
    (socket as { setNoDelay?(on: boolean): unknown }).setNoDelay?.(true);
    return socket;
  }) as F;
}

/**
 * The connections of one configuration (or one standalone provider): two {@link ConnectionCache}s,
 * servers tried in order, `LDAPRetries` rounds, bounded waits. A failure to reach any server is
 * `AuthTsError` `LDAP_UNAVAILABLE` (`LDAP_TLS_REFUSED` when a certificate was refused); an
 * answer of the server (`invalidCredentials`, `noSuchObject`…) is thrown as ldapts gives it, for
 * the caller to translate.
 *
 * @example
 * ```ts
 * const pool = new LdapConnections({ ...DEFAULT_CONNECTION_SETTINGS, ca: [pem] });
 * const entries = await pool.asService(url, { dn: bindDn, password }, (c) => c.search(base, { filter }));
 * await pool.close();
 * ```
 */
export class LdapConnections {
  readonly settings: LdapConnectionSettings;
  readonly #tls: ConnectionOptions;
  readonly #params = new Map<string, KeyParams>();
  readonly #cache: ConnectionCache<Conn>;
  /** Shared service connections per key (not with `LDAPConnectionPoolTTL 0`: those are never kept). */
  readonly #shared = new Map<string, SharedKey>();
  readonly #maxPerKey: number;
  readonly #sweeper: NodeJS.Timeout | undefined;
  /** `password → sha256` for the pool keys (hashed once, not per request). */
  readonly #digests = new Map<string, string>();
  #closed = false;
  /** Connections opened so far (for tests and the bench). */
  opened = 0;

  constructor(settings: LdapConnectionSettings) {
    this.settings = settings;
    this.#tls = {
      ...(settings.ca ? { ca: settings.ca.map((c) => (typeof c === 'string' ? c : c)) } : {}),
      rejectUnauthorized: settings.verifyServerCert,
      minVersion: 'TLSv1.2',
    };
    this.#maxPerKey = settings.maxPerKey ?? DEFAULT_POOL_SIZE;
    this.#cache = new ConnectionCache<Conn>(
      {
        open: (key) => this.#open(key),
        close: (conn) => closeConnection(conn),
        isHealthy: (conn) => conn.live.alive && conn.client.isConnected,
      },
      {
        maxPerKey: this.#maxPerKey,
        idleTtlMs: settings.poolTtlMs,
        acquireTimeoutMs: Math.max(1, settings.timeoutMs),
      },
    );
    if (settings.poolTtlMs > 0) {
      this.#sweeper = setInterval(() => {
        this.#cache.sweep();
        this.#sweepShared();
      }, Math.max(1_000, settings.poolTtlMs));
      this.#sweeper.unref();
    }
  }

  /**
   * Runs `fn` on a pooled connection bound as `bind` (anonymous when undefined). The connection
   * goes back to the pool when `fn` resolves or fails with an LDAP answer; it is closed when the
   * failure leaves its state unknown (network, timeout), and the next server / round is tried.
   */
  asService<T>(url: LdapUrl, bind: LdapBindIdentity | undefined, fn: (client: Client) => Promise<T>): Promise<T> {
    return this.#run(url, bind, fn);
  }

  /**
   * Binds as `dn` / `password` on a connection of the user pool, then runs `fn` (if any) on it,
   * bound as that user. The bind's failure (`invalidCredentials`…) is thrown as ldapts gives it.
   * Never call with an empty password: that is an anonymous bind (RFC 4513 §5.1.2).
   */
  asUser<T>(url: LdapUrl, dn: string, password: string, fn: (client: Client) => Promise<T>): Promise<T> {
    if (password === '') return Promise.reject(new TypeError('asUser: an empty password is an anonymous bind'));
    return this.#run(url, 'user', async (client) => {
      await client.bind(dn, password);
      return fn(client);
    });
  }

  /** Closes every idle connection; lent ones (and shared ones in use) close when given back. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    const idle: Conn[] = [];
    for (const pool of this.#shared.values()) {
      for (const conn of pool.conns) if (conn.inflight === 0) idle.push(conn);
      pool.conns = pool.conns.filter((c) => c.inflight > 0);
    }
    await Promise.all([this.#cache.close(), ...idle.map((c) => closeConnection(c))]);
  }

  /**
   * Connection counts over every server and identity (metrics, status page): `open` connections
   * (lent, opening or idle, shared service connections included), `idle` ones, and requests
   * `waiting` for one because the pool size is reached.
   */
  totals(): { open: number; idle: number; waiting: number } {
    const cached = this.#cache.totals();
    let open = cached.busy + cached.idle;
    let idle = cached.idle;
    for (const shared of this.#shared.values()) {
      open += shared.conns.length;
      idle += shared.conns.filter((c) => c.inflight === 0).length;
    }
    return { open, idle, waiting: cached.waiting };
  }

  /**
   * Connection counts of a pool for `url`'s first host (tests): `busy` connections with an
   * operation under way, `idle` ones kept for later.
   */
  stats(url: LdapUrl, bind: LdapBindIdentity | undefined | 'user'): { busy: number; idle: number } {
    const key = this.#key(url.hosts[0]!, url.security, bind);
    const shared = this.#shared.get(key);
    if (shared) {
      const busy = shared.conns.filter((c) => c.inflight > 0).length;
      return { busy, idle: shared.conns.length - busy };
    }
    const s = this.#cache.stats(key);
    return { busy: s.busy, idle: s.idle };
  }

  #key(host: LdapHost, security: LdapSecurity, bind: LdapBindIdentity | undefined | 'user'): string {
    const who =
      bind === 'user'
        ? 'user'
        : bind === undefined
          ? 'anon'
          : `svc:${bind.dn}:${this.#digest(bind.password)}`;
    const key = `${security}|${host.host}|${host.port}|${who}`;
    if (!this.#params.has(key)) this.#params.set(key, { host, security, bind: bind === 'user' ? undefined : bind });
    return key;
  }

  #digest(password: string): string {
    let digest = this.#digests.get(password);
    if (digest === undefined) {
      digest = createHash('sha256').update(password).digest('base64url');
      if (this.#digests.size >= 64) this.#digests.clear(); // a few service accounts, never more
      this.#digests.set(password, digest);
    }
    return digest;
  }

  /**
   * A shared service connection for `key`: the first open one with room, else a new one (one
   * open at a time per key; others wait for it), else — all `maxPerKey` full — the least busy.
   */
  async #acquireShared(key: string): Promise<Conn> {
    let pool = this.#shared.get(key);
    if (!pool) {
      pool = { conns: [], opening: undefined };
      this.#shared.set(key, pool);
    }
    for (;;) {
      if (this.#closed) throw new AuthTsError('PROVIDER_UNAVAILABLE', 'the LDAP connections are closed');
      const ttl = this.settings.poolTtlMs;
      const now = Date.now();
      let least: Conn | undefined;
      for (const conn of [...pool.conns]) {
        const expired = ttl > 0 && conn.inflight === 0 && now - conn.idleSince > ttl;
        if (expired || !conn.live.alive || !conn.client.isConnected) {
          this.#dropShared(pool, conn);
          continue;
        }
        if (conn.inflight < SHARED_INFLIGHT) return conn;
        if (!least || conn.inflight < least.inflight) least = conn;
      }
      if (pool.opening) {
        await pool.opening;
        continue;
      }
      if (pool.conns.length < this.#maxPerKey) {
        const current = pool;
        const opening = this.#open(key).then((conn) => {
          if (this.#closed) {
            void closeConnection(conn);
            throw new AuthTsError('PROVIDER_UNAVAILABLE', 'the LDAP connections are closed');
          }
          current.conns.push(conn);
          return conn;
        });
        current.opening = opening;
        try {
          return await opening;
        } finally {
          if (current.opening === opening) current.opening = undefined;
        }
      }
      return least!;
    }
  }

  /** Takes `conn` out of its shared pool and closes it; operations still on it fail and are retried. */
  #dropShared(pool: SharedKey, conn: Conn): void {
    const i = pool.conns.indexOf(conn);
    if (i >= 0) pool.conns.splice(i, 1);
    void closeConnection(conn);
  }

  /** Closes shared connections idle for longer than `LDAPConnectionPoolTTL`. */
  #sweepShared(): void {
    const ttl = this.settings.poolTtlMs;
    const now = Date.now();
    for (const pool of this.#shared.values()) {
      for (const conn of [...pool.conns]) if (conn.inflight === 0 && now - conn.idleSince > ttl) this.#dropShared(pool, conn);
    }
  }

  /**
   * Borrows a connection: shared for the service account (unless `LDAPConnectionPoolTTL 0`),
   * lent to this borrower alone for user binds.
   */
  async #borrow(key: string, shared: boolean): Promise<{ conn: Conn; release(): void; destroy(): Promise<void> }> {
    if (!shared) {
      const lease = await this.#cache.acquire(key);
      return { conn: lease.connection, release: () => lease.release(), destroy: () => lease.destroy() };
    }
    const conn = await this.#acquireShared(key);
    conn.inflight++;
    // The operations every request starts in this turn of the event loop leave in one write
    // (one syscall, one TCP segment) instead of one each.
    const socket = conn.live.sockets[conn.live.sockets.length - 1] as { cork?(): void; uncork?(): void } | undefined;
    if (!conn.corked && socket?.cork && socket.uncork) {
      conn.corked = true;
      socket.cork();
      setImmediate(() => {
        conn.corked = false;
        socket.uncork!();
      });
    }
    let done = false;
    const finish = (): void => {
      done = true;
      if (--conn.inflight === 0) {
        conn.idleSince = Date.now();
        if (this.#closed) void closeConnection(conn);
      }
    };
    return {
      conn,
      release: () => {
        if (!done) finish();
      },
      destroy: async () => {
        if (done) return;
        finish();
        const pool = this.#shared.get(key);
        if (pool) this.#dropShared(pool, conn);
        else await closeConnection(conn);
      },
    };
  }

  async #open(key: string): Promise<Conn> {
    const params = this.#params.get(key)!;
    const { Client } = await loadLdapts();
    const { host, port } = params.host;
    const servername = isIP(host) ? undefined : host;
    const tlsOptions: ConnectionOptions = { ...this.#tls, host, ...(servername ? { servername } : {}) };
    const live: Liveness = { alive: true, sockets: [] };
    const client = new Client({
      url: `${params.security === 'ssl' ? 'ldaps' : 'ldap'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
      timeout: this.settings.timeoutMs,
      connectTimeout: this.settings.connectTimeoutMs,
      strictDN: false,
      ...(params.security === 'ssl' ? { tlsOptions } : {}),
      createConnection: once(netConnect, 'connect', live),
      createSecureConnection: once(tlsConnect, 'TLS connect', live),
    });
    this.opened++;
    try {
      if (params.security === 'starttls') await client.startTLS(tlsOptions);
      if (params.bind) {
        try {
          await client.bind(params.bind.dn, params.bind.password);
        } catch (err) {
          const code = ldapResultCode(err);
          if (code !== undefined && SECURITY_RESULTS.has(code)) {
            throw new AuthTsError(
              'LDAP_SERVICE_BIND_FAILED',
              `the bind as ${params.bind.dn} (AuthLDAPBindDN) was refused by ${host}:${port}: ${describe(err)}`,
              { cause: err },
            );
          }
          throw err;
        }
      }
    } catch (err) {
      await closeConnection({ client, live, uses: 0, inflight: 0, idleSince: 0, corked: false });
      throw err;
    }
    return { client, live, uses: 0, inflight: 0, idleSince: Date.now(), corked: false };
  }

  async #run<T>(url: LdapUrl, bind: LdapBindIdentity | undefined | 'user', fn: (client: Client) => Promise<T>): Promise<T> {
    let lastError: unknown;
    let tlsRefused = false;
    const { retries, retryDelayMs } = this.settings;
    const shared = bind !== 'user' && this.settings.poolTtlMs !== 0;
    for (let round = 0; round <= retries; round++) {
      if (round > 0 && retryDelayMs > 0) await sleep(retryDelayMs);
      for (const host of url.hosts) {
        const key = this.#key(host, url.security, bind);
        // A pooled connection the server dropped while it sat idle (restart, idle timeout) is
        // replaced at once by a new one, without using up a round of LDAPRetries.
        for (let replaced = 0; replaced < 3; replaced++) {
          let lease: { conn: Conn; release(): void; destroy(): Promise<void> };
          try {
            lease = await this.#borrow(key, shared);
          } catch (err) {
            if (err instanceof AuthTsError && err.code !== 'PROVIDER_UNAVAILABLE') throw err;
            const code = ldapResultCode(err);
            if (code !== undefined && !TRANSIENT_RESULTS.has(code)) throw err;
            if (isTlsRefusal(err)) tlsRefused = true;
            lastError = err;
            break;
          }
          const conn = lease.conn;
          if (!conn.live.alive) {
            await lease.destroy();
            lastError = new Error('the connection closed while idle');
            continue;
          }
          const reused = conn.uses++ > 0;
          try {
            const result = await fn(conn.client);
            lease.release();
            return result;
          } catch (err) {
            const code = ldapResultCode(err);
            if (code !== undefined && !TRANSIENT_RESULTS.has(code)) {
              // The server answered: the connection is fine and still bound as before (service)
              // or will be bound again by its next borrower (user pool).
              lease.release();
              throw err;
            }
            await lease.destroy();
            lastError = err;
            if (!reused) break;
          }
        }
      }
      if (tlsRefused) break; // a refused certificate does not get better by asking again
    }
    const servers = url.hosts.map((h) => `${h.host}:${h.port}`).join(' ');
    if (tlsRefused) {
      throw new AuthTsError('LDAP_TLS_REFUSED', `the certificate of ${servers} was not trusted: ${describe(lastError)}`, { cause: lastError });
    }
    throw new AuthTsError('LDAP_UNAVAILABLE', `no LDAP server answered (${servers}; ${retries + 1} rounds): ${describe(lastError)}`, {
      cause: lastError,
    });
  }
}
