/**
 * The figures of one `authts serve` (its own prom-client Registry, never the global one): request
 * outcomes per section, request and provider durations, and what the modules count (credential
 * cache, regulation, SQL pools), read from them when scraped. Made only when a loaded
 * configuration has a `SetHandler authts-metrics` or `authts-status` section: without one, no
 * request pays for any of it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config, DirConfig } from '../config/config.js';
import { findRegulationModule } from '../authn/regulation.js';
import { findSocacheModule } from '../authn/socache.js';
import type { RequestObserver } from '../observe.js';
import type { Verdict } from '../phases.js';
import { dbdModules, type DbdPoolStatus } from '../providers/dbd/module.js';
import { authnzLdap } from '../providers/ldap/module.js';
import { sectionLabel, whereLabel } from '../log-audit.js';

/**
 * What became of a request, from the phases' verdict and the status answered: `allowed` (the
 * phases let it through), `unauthenticated` (401), `forbidden` (403), `banned` (429, brute-force
 * regulation), `error` (5xx), `refused` (any other refusal: 400, 413, a redirect to a login
 * page…).
 */
export type RequestOutcome = 'allowed' | 'unauthenticated' | 'forbidden' | 'banned' | 'error' | 'refused';

/** The outcome of a request answered `status`, `allowed` or not by the phases. */
export function outcomeOf(allowed: boolean, status: number): RequestOutcome {
  if (allowed) return 'allowed';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'banned';
  if (status >= 500) return 'error';
  return 'refused';
}

/** Buckets (seconds) for request and provider durations: bcrypt and LDAP live in 5–500 ms. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One row of {@link StatusSnapshot.requests}. */
export interface RequestCount {
  readonly section: string;
  readonly outcome: string;
  readonly status: string;
  readonly count: number;
}

/** One row of {@link StatusSnapshot.providers}. */
export interface ProviderFigure {
  readonly kind: string;
  readonly provider: string;
  readonly result: string;
  readonly count: number;
  /** Mean duration in milliseconds. */
  readonly meanMs: number;
}

/** The figures the status page shows (`?json` answers this object). */
export interface StatusSnapshot {
  /** ISO time the server started. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  /** The main configuration file now answering. */
  readonly configFile: string;
  /** ISO time the configuration now answering was loaded. */
  readonly configLoadedAt: string;
  readonly requests: readonly RequestCount[];
  readonly providers: readonly ProviderFigure[];
  readonly credentialCache: { readonly hits: number; readonly misses: number } | undefined;
  readonly regulation: { readonly bans: number; readonly refused: number } | undefined;
  readonly sqlPools: readonly SqlPoolFigure[];
  /** The configuration's LDAP connections over every server; `undefined` before the first. */
  readonly ldapPool: { readonly open: number; readonly idle: number; readonly waiting: number } | undefined;
}

/** One row of {@link StatusSnapshot.sqlPools}: a pool, named by where its `DBDParams` is. */
export interface SqlPoolFigure extends Omit<DbdPoolStatus, 'where'> {
  /** `file:line` of `DBDParams`. */
  readonly where: string;
}

/** The counts a module reports since it was made, turned into a counter's increments. */
class Monotonic {
  #seen = new Map<string, number>();
  /** The increase of `name` since the last call (0 when the count went down: a new module). */
  delta(name: string, now: number): number {
    const before = this.#seen.get(name) ?? 0;
    this.#seen.set(name, now);
    return now >= before ? now - before : now;
  }
}

/**
 * The metrics of one server. `observer` goes on every request's `RequestInfo` (provider
 * latencies); `recordRequest` is called once per answered request.
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics(() => server.config());
 * const text = await metrics.registry.metrics();
 * ```
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly startedAt = Date.now();
  readonly observer: RequestObserver;
  readonly #current: () => Config;
  readonly #loadedAt = new WeakMap<Config, number>();
  readonly #requests: Counter<'section' | 'outcome' | 'status'>;
  readonly #duration: Histogram<'outcome'>;
  readonly #providers: Histogram<'kind' | 'provider' | 'result'>;

  constructor(current: () => Config) {
    this.#current = current;
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'authts_requests_total',
      help: 'Requests answered, by outcome of the phases, final status and the innermost section (file:line) that matched',
      labelNames: ['section', 'outcome', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'authts_request_duration_seconds',
      help: 'Time from the request to the end of its answer, by outcome',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    const providers = new Histogram({
      name: 'authts_provider_duration_seconds',
      help: 'Time each authn provider (password or token check) and authz provider (one Require line) took, by result',
      labelNames: ['kind', 'provider', 'result'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#providers = providers;
    this.observer = {
      providerAnswered(_req, answer) {
        providers.observe({ kind: answer.kind, provider: answer.provider, result: answer.result }, answer.durationMs / 1000);
      },
    };
    const seen = new Monotonic();
    const modules = (): Config['registry']['modules'] => current().registry.modules;
    new Counter({
      name: 'authts_authn_cache_lookups_total',
      help: 'Credential cache (AuthnCacheSOCache) lookups, by result (hit or miss)',
      labelNames: ['result'],
      registers,
      collect() {
        const stats = findSocacheModule(modules())?.stats() ?? { hits: 0, misses: 0 };
        this.inc({ result: 'hit' }, seen.delta('cache.hit', stats.hits));
        this.inc({ result: 'miss' }, seen.delta('cache.miss', stats.misses));
      },
    });
    new Counter({
      name: 'authts_regulation_bans_total',
      help: 'Bans started by brute-force regulation (AuthTsRegulation)',
      registers,
      collect() {
        this.inc(seen.delta('regulation.bans', findRegulationModule(modules())?.stats().bans ?? 0));
      },
    });
    new Counter({
      name: 'authts_regulation_refused_total',
      help: 'Logins answered 429 because their user name or address was banned',
      registers,
      collect() {
        this.inc(seen.delta('regulation.refused', findRegulationModule(modules())?.stats().refused ?? 0));
      },
    });
    const pool = (): DbdPoolStatus | undefined => {
      const config = current();
      return config.registry.modules.includes(dbdModules.dbd) ? dbdModules.poolStatus(config) : undefined;
    };
    const poolGauge = (name: string, help: string, value: (p: DbdPoolStatus) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['params', 'driver'],
        registers,
        collect() {
          this.reset();
          const p = pool();
          if (p) this.set({ params: whereLabel(current(), p.where), driver: p.driver }, value(p));
        },
      });
    };
    poolGauge('authts_dbd_pool_open', 'SQL connections open or opening (SQLite: worker threads), by DBDParams file:line', (p) => p.stats.open);
    poolGauge('authts_dbd_pool_idle', 'SQL connections idle', (p) => p.stats.idle);
    poolGauge('authts_dbd_pool_waiting', 'Requests waiting for an SQL connection (DBDMax reached)', (p) => p.stats.waiting);
    poolGauge('authts_dbd_up', '1 when the database answered the last query, 0 when it could not', (p) => (p.up ? 1 : 0));
    const ldap = (): ReturnType<typeof authnzLdap.poolTotals> => {
      const config = current();
      return config.registry.modules.includes(authnzLdap) ? authnzLdap.poolTotals(config) : undefined;
    };
    const ldapGauge = (name: string, help: string, value: (t: NonNullable<ReturnType<typeof ldap>>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value(ldap() ?? { open: 0, idle: 0, waiting: 0 }));
        },
      });
    };
    ldapGauge('authts_ldap_pool_open', 'LDAP connections open (lent, opening or idle) over every server and bind identity', (t) => t.open);
    ldapGauge('authts_ldap_pool_idle', 'LDAP connections idle', (t) => t.idle);
    ldapGauge('authts_ldap_pool_waiting', 'Requests waiting for an LDAP connection (AuthTsLDAPPoolSize reached)', (t) => t.waiting);
    const loadedAt = this.#loadedAt;
    new Gauge({
      name: 'authts_config_loaded_timestamp_seconds',
      help: 'When the configuration now answering was loaded (changes with each successful reload)',
      registers,
      collect() {
        this.set((loadedAt.get(current()) ?? Date.now()) / 1000);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'authts_' });
  }

  /** Notes that `config` starts answering now (for `authts_config_loaded_timestamp_seconds`). */
  configLoaded(config: Config): void {
    this.#loadedAt.set(config, Date.now());
  }

  /** Counts one answered request. */
  recordRequest(section: string, outcome: RequestOutcome, status: number, seconds: number): void {
    this.#requests.inc({ section, outcome, status: String(status) });
    this.#duration.observe({ outcome }, seconds);
  }

  /** The figures for the status page. */
  async snapshot(): Promise<StatusSnapshot> {
    const config = this.#current();
    const requests = (await this.#requests.get()).values.map((v) => ({
      section: String(v.labels.section ?? '-'),
      outcome: String(v.labels.outcome ?? ''),
      status: String(v.labels.status ?? ''),
      count: v.value,
    }));
    const sums = new Map<string, { kind: string; provider: string; result: string; count: number; sum: number }>();
    for (const v of (await this.#providers.get()).values) {
      if (v.metricName !== 'authts_provider_duration_seconds_sum' && v.metricName !== 'authts_provider_duration_seconds_count') continue;
      const key = `${v.labels.kind}\0${v.labels.provider}\0${v.labels.result}`;
      const row = sums.get(key) ?? { kind: String(v.labels.kind), provider: String(v.labels.provider), result: String(v.labels.result), count: 0, sum: 0 };
      if (v.metricName.endsWith('_count')) row.count = v.value;
      else row.sum = v.value;
      sums.set(key, row);
    }
    const providers = [...sums.values()].map((r) => ({ kind: r.kind, provider: r.provider, result: r.result, count: r.count, meanMs: r.count === 0 ? 0 : (r.sum / r.count) * 1000 }));
    const socache = findSocacheModule(config.registry.modules);
    const regulation = findRegulationModule(config.registry.modules);
    const pool = config.registry.modules.includes(dbdModules.dbd) ? dbdModules.poolStatus(config) : undefined;
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      configFile: config.mainFile,
      configLoadedAt: new Date(this.#loadedAt.get(config) ?? this.startedAt).toISOString(),
      requests: requests.sort((a, b) => a.section.localeCompare(b.section) || a.status.localeCompare(b.status)),
      providers: providers.sort((a, b) => a.provider.localeCompare(b.provider) || a.result.localeCompare(b.result)),
      credentialCache: socache?.stats(),
      regulation: regulation?.stats(),
      sqlPools: pool ? [{ ...pool, where: whereLabel(config, pool.where) }] : [],
      ldapPool: config.registry.modules.includes(authnzLdap) ? authnzLdap.poolTotals(config) : undefined,
    };
  }

  /** Counts one request decided by the phases (verdict known) or answered before them. */
  record(config: Config, verdict: Verdict | undefined, dir: DirConfig | undefined, status: number, seconds: number): void {
    this.recordRequest(sectionLabel(config, dir), outcomeOf(verdict?.allowed ?? status < 400, status), status, seconds);
  }
}
