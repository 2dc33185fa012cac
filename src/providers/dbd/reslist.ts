/**
 * apr_reslist, as mod_dbd uses it for `DBDMin`, `DBDKeep`, `DBDMax` and `DBDExptime`: a list of
 * connections to one database with a minimum kept open, a soft maximum of idle ones, a hard
 * maximum, and a time to live for idle connections above the soft maximum.
 */

/**
 * How a {@link Reslist} opens, checks and closes its resources.
 *
 * @example
 * ```ts
 * const factory: ReslistFactory<Client> = { open: () => connect(), close: (c) => c.end(), isHealthy: (c) => !c.broken };
 * ```
 */
export interface ReslistFactory<C> {
  open(): Promise<C>;
  close(resource: C): Promise<void>;
  /** False for a resource that must not be lent again (the server ended it). */
  isHealthy(resource: C): boolean;
}

/**
 * The limits (mod_dbd's directives) and, for tests, the clock and the maintenance period.
 *
 * @example
 * ```ts
 * const options: ReslistOptions = { min: 1, keep: 2, max: 10, ttlMs: 300_000, persist: true, acquireTimeoutMs: 5_000 };
 * ```
 */
export interface ReslistOptions {
  /** `DBDMin`: resources opened at once and kept open (refilled after they die). */
  readonly min: number;
  /** `DBDKeep`: idle resources kept past `ttlMs`; idle ones above it close once idle `ttlMs`. */
  readonly keep: number;
  /** `DBDMax`: hard limit of open resources (lent, idle and opening). */
  readonly max: number;
  /** `DBDExptime` in ms; 0: idle resources never expire (apr_reslist's zero TTL). */
  readonly ttlMs: number;
  /** `DBDPersist`: false closes every resource when it is given back, and keeps none. */
  readonly persist: boolean;
  /** How long `acquire` waits for a resource when `max` are lent. */
  readonly acquireTimeoutMs: number;
  /** Clock (ms), for tests. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * How often the maintenance timer runs (expiry, refill after failures), in ms. Default: half
   * the TTL, between 250 ms and 30 s (30 s without a TTL). The timer is unref'd.
   */
  readonly maintainIntervalMs?: number;
  /** Where errors of background opens and closes go (they never reach a request). */
  readonly onError?: (err: unknown) => void;
}

/**
 * A borrowed resource: give it back with `release()`, or `destroy()` it when its state is unknown.
 *
 * @example
 * ```ts
 * const lease = await list.acquire();
 * try { await lease.resource.query('SELECT 1'); lease.release(); } catch { await lease.destroy(); }
 * ```
 */
export interface ReslistLease<C> {
  readonly resource: C;
  release(): void;
  destroy(): Promise<void>;
}

/**
 * What {@link Reslist.stats} reports.
 *
 * @example
 * ```ts
 * list.stats(); // { total: 2, idle: 2, lent: 0, opening: 0, waiting: 0 }
 * ```
 */
export interface ReslistStats {
  /** Open or opening resources (what the server sees). */
  readonly total: number;
  readonly idle: number;
  readonly lent: number;
  readonly opening: number;
  /** Callers waiting for a resource (all `max` lent). */
  readonly waiting: number;
}

interface Idle<C> {
  readonly resource: C;
  /** When it was given back (apr's `freed`). */
  readonly since: number;
}

interface Waiter<C> {
  resolve(lease: ReslistLease<C>): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

/**
 * apr_reslist's rules, with a background maintenance timer instead of apr's maintenance on
 * release only:
 *
 * - `min` resources are opened by {@link Reslist.fill} and kept: when one dies (closed as
 *   unhealthy, destroyed after an error, expired) the list opens another, so that `min` are
 *   open again (a failed open is tried again at the next maintenance);
 * - idle resources above `keep` are closed once idle for `ttlMs` (apr's `reslist_maint`), the
 *   oldest first; at most `keep` idle resources stay past their TTL;
 * - an idle resource idle for `ttlMs` or longer is never lent: it is closed and the next one
 *   taken (apr_reslist_acquire); the newest idle resource is lent first;
 * - at most `max` are open; further callers wait (in arrival order) up to `acquireTimeoutMs`;
 * - a resource the factory reports unhealthy is closed by the next maintenance or acquire.
 *
 * The timer is unref'd (an idle list never keeps the process alive) and `close()` stops it.
 *
 * @example
 * ```ts
 * const list = new Reslist({ open: connect, close: (c) => c.end(), isHealthy: (c) => !c.broken },
 *   { min: 1, keep: 2, max: 10, ttlMs: 300_000, persist: true, acquireTimeoutMs: 5_000 });
 * await list.fill();
 * const lease = await list.acquire();
 * lease.release();
 * await list.close();
 * ```
 */
export class Reslist<C> {
  readonly #factory: ReslistFactory<C>;
  readonly #options: ReslistOptions;
  readonly #now: () => number;
  /** Oldest first: released resources are pushed at the end, and lent from the end. */
  #idle: Idle<C>[] = [];
  #lent = 0;
  /** Opens under way: counted as open (for `max` and `min`) until placed. */
  #opening = 0;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #waiters: Waiter<C>[] = [];
  readonly #closing = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #refillScheduled = false;
  #closed = false;

  constructor(factory: ReslistFactory<C>, options: ReslistOptions) {
    const { min, keep, max, ttlMs } = options;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('Reslist: max must be an integer ≥ 1');
    if (!Number.isInteger(min) || !Number.isInteger(keep) || min < 0 || min > keep || keep > max) {
      throw new TypeError('Reslist: limits must satisfy 0 ≤ min ≤ keep ≤ max');
    }
    if (!(ttlMs >= 0)) throw new TypeError('Reslist: ttlMs must be ≥ 0');
    this.#factory = factory;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    if (options.persist) {
      const interval = options.maintainIntervalMs ?? (ttlMs > 0 ? Math.min(30_000, Math.max(250, Math.floor(ttlMs / 2))) : 30_000);
      this.#timer = setInterval(() => this.maintain(), interval);
      this.#timer.unref();
    }
  }

  /** Open or opening resources. */
  get #total(): number {
    return this.#idle.length + this.#lent + this.#opening;
  }

  /**
   * Opens resources until `min` are open; resolves when those opens have settled (failures are
   * not thrown: the next maintenance or acquire tries again).
   */
  async fill(): Promise<void> {
    if (this.#closed || !this.#options.persist) return;
    const opens: Promise<unknown>[] = [];
    while (this.#total < this.#options.min) opens.push(this.#openIdle());
    await Promise.allSettled(opens);
  }

  /**
   * One maintenance pass: closes unhealthy idle resources and the idle ones above `keep` that
   * have been idle for the TTL, then opens resources up to `min`. Runs on the timer; tests with
   * an injected clock call it directly.
   */
  maintain(): void {
    if (this.#closed) return;
    const healthy: Idle<C>[] = [];
    for (const idle of this.#idle) {
      if (this.#healthy(idle.resource)) healthy.push(idle);
      else this.#closeQuietly(idle.resource);
    }
    this.#idle = healthy;
    this.#trim();
    void this.fill();
  }

  /** Counts, for tests and diagnostics. */
  stats(): ReslistStats {
    return { total: this.#total, idle: this.#idle.length, lent: this.#lent, opening: this.#opening, waiting: this.#waiters.length };
  }

  /** Lends the newest healthy, unexpired idle resource, opens one under `max`, or waits. */
  async acquire(): Promise<ReslistLease<C>> {
    if (this.#closed) throw new Error('the pool is closed');
    let dropped = false;
    while (this.#idle.length > 0) {
      const idle = this.#idle.pop()!;
      if (this.#expired(idle) || !this.#healthy(idle.resource)) {
        this.#closeQuietly(idle.resource);
        dropped = true;
        continue;
      }
      this.#lent++;
      return this.#lease(idle.resource);
    }
    if (dropped) this.#scheduleRefill();
    if (this.#total < this.#options.max) {
      let resource: C;
      try {
        resource = await this.#open();
      } catch (err) {
        this.#opening--;
        this.#wakeWaiter();
        throw err;
      }
      this.#opening--;
      if (this.#closed) {
        this.#closeQuietly(resource);
        throw new Error('the pool is closed');
      }
      this.#lent++;
      return this.#lease(resource);
    }
    return new Promise<ReslistLease<C>>((resolve, reject) => {
      const waiter: Waiter<C> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(new Error(`no connection free within ${this.#options.acquireTimeoutMs} ms (DBDMax ${this.#options.max} lent)`));
        }, this.#options.acquireTimeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * Stops the timer, fails the waiters, closes the idle resources and those being opened; lent
   * ones close when given back. Resolves when every close has finished.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearInterval(this.#timer);
      for (const waiter of this.#waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('the pool is closed'));
      }
      for (const idle of this.#idle.splice(0)) this.#closeQuietly(idle.resource);
    }
    // Opens in flight end in #openIdle / acquire, which close what they get once closed.
    while (this.#pending.size > 0 || this.#closing.size > 0) {
      await Promise.allSettled([...this.#pending, ...this.#closing]);
    }
  }

  #lease(resource: C): ReslistLease<C> {
    let done = false;
    return {
      resource,
      release: () => {
        if (done) return;
        done = true;
        this.#lent--;
        if (this.#closed || !this.#options.persist || !this.#healthy(resource)) {
          this.#closeQuietly(resource);
          this.#afterLoss();
          return;
        }
        const waiter = this.#waiters.shift();
        if (waiter) {
          clearTimeout(waiter.timer);
          this.#lent++;
          waiter.resolve(this.#lease(resource));
          return;
        }
        this.#idle.push({ resource, since: this.#now() });
        this.#trim();
      },
      destroy: async () => {
        if (done) return;
        done = true;
        this.#lent--;
        const closing = this.#closeQuietly(resource);
        this.#afterLoss();
        await closing;
      },
    };
  }

  /** A slot was freed: the longest waiter takes it, or the list refills to `min`. */
  #afterLoss(): void {
    if (this.#closed) return;
    this.#wakeWaiter();
    this.#scheduleRefill();
  }

  #wakeWaiter(): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.acquire().then(waiter.resolve, waiter.reject);
  }

  /** apr's reslist_maint: idle resources above `keep` close once idle for the TTL, oldest first. */
  #trim(): void {
    const { keep, ttlMs } = this.#options;
    if (ttlMs === 0) return;
    const now = this.#now();
    while (this.#idle.length > keep && now - this.#idle[0]!.since >= ttlMs) {
      this.#closeQuietly(this.#idle.shift()!.resource);
    }
  }

  #scheduleRefill(): void {
    if (this.#refillScheduled || this.#closed || !this.#options.persist) return;
    this.#refillScheduled = true;
    setImmediate(() => {
      this.#refillScheduled = false;
      void this.fill();
    }).unref();
  }

  /** Opens one resource into the idle list (or straight to a waiter). */
  async #openIdle(): Promise<void> {
    let resource: C;
    try {
      resource = await this.#open();
    } catch (err) {
      // Tried again by the next maintenance (the database may be down): no retry loop here.
      this.#options.onError?.(err);
      this.#wakeWaiter();
      return;
    } finally {
      this.#opening--;
    }
    if (this.#closed) {
      this.#closeQuietly(resource);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      this.#lent++;
      waiter.resolve(this.#lease(resource));
      return;
    }
    this.#idle.push({ resource, since: this.#now() });
  }

  /**
   * Starts an open, counted in `#opening` from now on; the caller decrements it in the same
   * turn as it places the resource (no moment where it is counted nowhere).
   */
  #open(): Promise<C> {
    this.#opening++;
    let opening: Promise<C>;
    try {
      opening = this.#factory.open();
    } catch (err) {
      opening = Promise.reject(err);
    }
    this.#pending.add(opening);
    const forget = (): void => void this.#pending.delete(opening);
    opening.then(forget, forget);
    return opening;
  }

  #expired(idle: Idle<C>): boolean {
    return this.#options.ttlMs > 0 && this.#now() - idle.since >= this.#options.ttlMs;
  }

  #healthy(resource: C): boolean {
    try {
      return this.#factory.isHealthy(resource);
    } catch {
      return false;
    }
  }

  #closeQuietly(resource: C): Promise<void> {
    const closing = this.#factory.close(resource).catch((err: unknown) => this.#options.onError?.(err));
    const tracked = closing.finally(() => this.#closing.delete(tracked));
    this.#closing.add(tracked);
    return tracked;
  }
}
