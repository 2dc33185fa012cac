/**
 * `ConnectionCache`: keyed borrowing of long-lived connections (LDAP clients, SQL connections)
 * that modules keep between requests — the reason embedded handlers beat CGI.
 */
import { AuthTsError } from './errors.js';

/** How a cache makes, checks and ends connections for a key. */
export interface ConnectionFactory<C> {
  /** Opens a new connection for `key` (connect, bind, …). Throws when it cannot. */
  open(key: string): Promise<C>;
  /** Ends a connection. Errors are logged by the caller's logger, never thrown to a request. */
  close(connection: C): Promise<void>;
  /**
   * Optional check of an idle connection before it is lent again; false (or a throw) closes it
   * and another is taken or opened.
   */
  isHealthy?(connection: C): boolean | Promise<boolean>;
}

/** Limits of a {@link ConnectionCache}. */
export interface ConnectionCacheOptions {
  /** At most this many connections per key, lent or idle (default 10). */
  readonly maxPerKey?: number;
  /**
   * Close a connection idle for longer than this, in ms. `-1` keeps idle connections forever,
   * `0` never keeps one (httpd's `LDAPConnectionPoolTTL` semantics). Default 60 000.
   */
  readonly idleTtlMs?: number;
  /** How long `acquire` waits for a free connection before failing (default 5 000 ms). */
  readonly acquireTimeoutMs?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
  /** Where close errors go (they never reach a request). */
  readonly onCloseError?: (err: unknown) => void;
}

/** A borrowed connection: give it back with `release()`, or `destroy()` it when its state is unknown. */
export interface Lease<C> {
  readonly connection: C;
  /** Returns the connection to the idle set of its key. */
  release(): void;
  /** Closes the connection (after an error: never return a connection in an unknown state). */
  destroy(): Promise<void>;
}

interface Idle<C> {
  readonly connection: C;
  readonly since: number;
}

interface Waiter<C> {
  resolve(lease: Lease<C>): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

interface KeyState<C> {
  /** Connections lent out or being opened. */
  busy: number;
  idle: Idle<C>[];
  waiters: Waiter<C>[];
}

/** Numbers for one key, for tests and `authts explain`-style diagnostics. */
export interface KeyStats {
  readonly busy: number;
  readonly idle: number;
  readonly waiting: number;
}

/**
 * Lends connections per key with a per-key limit, idle TTL, bounded waits and health checks.
 * Waiters are served in arrival order. A connection is lent to one borrower at a time; one
 * whose borrower threw is closed, not returned (`use`).
 *
 * @example
 * ```ts
 * const cache = new ConnectionCache({ open: (url) => connect(url), close: (c) => c.unbind() }, { maxPerKey: 4 });
 * const entry = await cache.use('ldap://127.0.0.1:389', (client) => client.search(base, { filter }));
 * await cache.close();
 * ```
 */
export class ConnectionCache<C> {
  readonly #factory: ConnectionFactory<C>;
  readonly #maxPerKey: number;
  readonly #idleTtlMs: number;
  readonly #acquireTimeoutMs: number;
  readonly #now: () => number;
  readonly #onCloseError: (err: unknown) => void;
  readonly #keys = new Map<string, KeyState<C>>();
  #closed = false;

  constructor(factory: ConnectionFactory<C>, options: ConnectionCacheOptions = {}) {
    if (typeof factory?.open !== 'function' || typeof factory.close !== 'function') {
      throw new TypeError('ConnectionCache: factory needs open() and close()');
    }
    const maxPerKey = options.maxPerKey ?? 10;
    if (!Number.isInteger(maxPerKey) || maxPerKey < 1) throw new TypeError('ConnectionCache: options.maxPerKey must be an integer ≥ 1');
    const idleTtlMs = options.idleTtlMs ?? 60_000;
    if (!(idleTtlMs === -1 || idleTtlMs >= 0)) throw new TypeError('ConnectionCache: options.idleTtlMs must be -1 or ≥ 0');
    const acquireTimeoutMs = options.acquireTimeoutMs ?? 5_000;
    if (!(acquireTimeoutMs > 0)) throw new TypeError('ConnectionCache: options.acquireTimeoutMs must be > 0');
    this.#factory = factory;
    this.#maxPerKey = maxPerKey;
    this.#idleTtlMs = idleTtlMs;
    this.#acquireTimeoutMs = acquireTimeoutMs;
    this.#now = options.now ?? Date.now;
    this.#onCloseError = options.onCloseError ?? (() => {});
  }

  /**
   * Borrows a connection for `fn` and gives it back when `fn` resolves; when `fn` throws, the
   * connection is closed (its state is unknown) and the error propagates.
   */
  async use<T>(key: string, fn: (connection: C) => Promise<T>): Promise<T> {
    const lease = await this.acquire(key);
    let result: T;
    try {
      result = await fn(lease.connection);
    } catch (err) {
      await lease.destroy();
      throw err;
    }
    lease.release();
    return result;
  }

  /** Borrows a connection: an idle healthy one, a new one under the limit, or the next one freed. */
  async acquire(key: string): Promise<Lease<C>> {
    if (this.#closed) throw new AuthTsError('PROVIDER_UNAVAILABLE', 'the connection cache is closed');
    const state = this.#state(key);
    while (state.idle.length > 0) {
      const idle = state.idle.pop()!;
      if (this.#expired(idle)) {
        this.#closeQuietly(idle.connection);
        continue;
      }
      state.busy++;
      if (await this.#healthy(idle.connection)) return this.#lease(key, state, idle.connection);
      state.busy--;
      this.#closeQuietly(idle.connection);
    }
    if (state.busy < this.#maxPerKey) return this.#openFor(key, state);
    return new Promise<Lease<C>>((resolve, reject) => {
      const waiter: Waiter<C> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          state.waiters.splice(state.waiters.indexOf(waiter), 1);
          reject(new AuthTsError('PROVIDER_UNAVAILABLE', `no connection free for ${key} within ${this.#acquireTimeoutMs} ms`));
        }, this.#acquireTimeoutMs),
      };
      state.waiters.push(waiter);
    });
  }

  /** Counts for `key`. */
  stats(key: string): KeyStats {
    const state = this.#keys.get(key);
    return { busy: state?.busy ?? 0, idle: state?.idle.length ?? 0, waiting: state?.waiters.length ?? 0 };
  }

  /** Counts over every key (metrics, status page). */
  totals(): KeyStats {
    let busy = 0;
    let idle = 0;
    let waiting = 0;
    for (const state of this.#keys.values()) {
      busy += state.busy;
      idle += state.idle.length;
      waiting += state.waiters.length;
    }
    return { busy, idle, waiting };
  }

  /** Closes idle connections past their TTL (also done lazily on `acquire`). */
  sweep(): void {
    for (const state of this.#keys.values()) {
      const keep: Idle<C>[] = [];
      for (const idle of state.idle) {
        if (this.#expired(idle)) this.#closeQuietly(idle.connection);
        else keep.push(idle);
      }
      state.idle = keep;
    }
  }

  /** Closes every idle connection, fails every waiter; lent connections close when given back. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing: Promise<void>[] = [];
    for (const state of this.#keys.values()) {
      for (const waiter of state.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new AuthTsError('PROVIDER_UNAVAILABLE', 'the connection cache is closed'));
      }
      for (const idle of state.idle.splice(0)) closing.push(this.#closeConnection(idle.connection));
    }
    await Promise.all(closing);
  }

  #state(key: string): KeyState<C> {
    let state = this.#keys.get(key);
    if (!state) {
      state = { busy: 0, idle: [], waiters: [] };
      this.#keys.set(key, state);
    }
    return state;
  }

  async #openFor(key: string, state: KeyState<C>): Promise<Lease<C>> {
    state.busy++;
    try {
      return this.#lease(key, state, await this.#factory.open(key));
    } catch (err) {
      state.busy--;
      this.#wakeWaiter(key, state);
      throw err;
    }
  }

  #lease(key: string, state: KeyState<C>, connection: C): Lease<C> {
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      state.busy--;
      return true;
    };
    return {
      connection,
      release: () => {
        if (!finish()) return;
        if (this.#closed || this.#idleTtlMs === 0) {
          this.#closeQuietly(connection);
        } else {
          state.idle.push({ connection, since: this.#now() });
        }
        this.#wakeWaiter(key, state);
      },
      destroy: async () => {
        if (!finish()) return;
        this.#wakeWaiter(key, state);
        await this.#closeConnection(connection);
      },
    };
  }

  /** Hands a freed slot to the longest waiter: an idle connection, or a new one. */
  #wakeWaiter(key: string, state: KeyState<C>): void {
    const waiter = state.waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.acquire(key).then(waiter.resolve, waiter.reject);
  }

  #expired(idle: Idle<C>): boolean {
    return this.#idleTtlMs !== -1 && this.#now() - idle.since > this.#idleTtlMs;
  }

  async #healthy(connection: C): Promise<boolean> {
    if (!this.#factory.isHealthy) return true;
    try {
      return await this.#factory.isHealthy(connection);
    } catch {
      return false;
    }
  }

  #closeQuietly(connection: C): void {
    void this.#closeConnection(connection);
  }

  async #closeConnection(connection: C): Promise<void> {
    try {
      await this.#factory.close(connection);
    } catch (err) {
      this.#onCloseError(err);
    }
  }
}
