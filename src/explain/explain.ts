/**
 * `authts explain`: decides one request exactly as `authts serve` would — same target
 * normalization, same forward-auth and `ProxyPass` routing, same DocumentRoot mapping, the real
 * providers — without listening anywhere, and reports how the decision was reached: the matched
 * sections, the merged `Require` tree with each node's result in both passes, every provider
 * answer, the final status and headers.
 *
 * The report is plain data (see {@link ExplainReport}); `--json` prints it as it is, and
 * ./format.ts renders it as text. It never holds a password or a token: the credentials are
 * described by their length, and header values that carry secrets are hidden.
 */
import type { Config, DirConfig } from '../config/config.js';
import type { Section } from '../config/sections.js';
import { core } from '../core-module.js';
import { AuthEngine } from '../engine.js';
import { AuthTsError } from '../errors.js';
import { forwardAuth } from '../forward-auth-module.js';
import { createLogger, type Logger } from '../log.js';
import { methodInLimit } from '../module.js';
import type { ProviderAnswer, RequestObserver, TreePass } from '../observe.js';
import type { Verdict } from '../phases.js';
import type { RequestInfo } from '../request-state.js';
import { authzCore } from '../authz/core.js';
import type { AuthzNode, TraceEntry, TreeResult } from '../authz/tree.js';
import { ambiguousSpelling, identityHeaders, isForwardAuthRequest, originalRequestInfo, readForwardedRequest } from '../server/forward-auth.js';
import { mapToFilesystem, normalizeRequestTarget, resolveDocumentRoot } from '../server/paths.js';
import { proxyRouteFor } from '../server/proxy.js';

/** The version of the {@link ExplainReport} shape; it changes only when a field changes meaning or goes away. */
export const EXPLAIN_REPORT_VERSION = 1 as const;

/** The request to explain, as it would arrive on the wire. */
export interface ExplainInput {
  /** An HTTP method token, e.g. `GET` (upper-cased before use, as `authts serve` sees methods). */
  readonly method: string;
  /** The request-target in wire form (one character per byte): origin form or absolute form. */
  readonly target: string;
  /** Request headers, lower-case names; a header sent twice has two values. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** The client's address (`Require ip`, `Require local`; the peer for forward-auth). */
  readonly remoteAddress: string;
  /** The address the request arrived on. */
  readonly localAddress: string;
  readonly tls: boolean;
  /** How the credentials are described in the report (their values never are). */
  readonly credentials: CredentialsShown | null;
}

/** The credentials the request carries, as the report shows them: never their secret part. */
export type CredentialsShown =
  | { readonly scheme: 'basic'; readonly user: string; readonly password: string }
  | { readonly scheme: 'bearer'; readonly token: string };

/** One matched section, in merge order. */
export interface SectionShown {
  /** `directory`, `files` or `location` (httpd's three walks). */
  readonly kind: Section['kind'];
  /** The section as written: `Directory`, `LocationMatch`, … */
  readonly name: string;
  /** Its path or name (wildcards as written), or its regular expression as `/source/flags`. */
  readonly pattern: string;
  /** True for `<DirectoryMatch>`, `<FilesMatch>`, `<LocationMatch>` and the `~` forms. */
  readonly regex: boolean;
  readonly file: string;
  readonly line: number;
}

/** A node of the merged `Require` tree with what each pass found. */
export interface TreeNodeShown {
  readonly type: 'require' | 'container';
  /** `Require group staff` for a line; `<RequireAll>`, `AuthMerging And`, … for a container. */
  readonly text: string;
  readonly negate: boolean;
  /** For a container: how its children combine. */
  readonly op?: 'and' | 'or';
  readonly file: string;
  readonly line: number;
  /** Methods the node applies to when written in `<Limit>`/`<LimitExcept>`, else undefined (all). */
  readonly limit?: string;
  /** The node's result (after negation) without a user; null when that pass did not reach it. */
  readonly userless: TreeResult | null;
  /** The node's result (after negation) with the user; null when that pass did not reach it. */
  readonly user: TreeResult | null;
  readonly children?: readonly TreeNodeShown[];
}

/** A provider answer, tagged with the step it belongs to. */
export interface ProviderAnswerShown extends ProviderAnswer {
  /** `userless` / `user`: a `Require` line in that pass of the tree; `authn`: a credential check. */
  readonly pass: TreePass | 'authn';
}

/** One step of the decision, as far as the report can tell (see docs/explain.md). */
export interface PhaseShown {
  readonly step: 'target' | 'forward-auth' | 'access' | 'require-userless' | 'authn' | 'require-user';
  /** What happened, in words. */
  readonly outcome: string;
}

/** Where the request goes, as `authts serve` routes it. */
export type RouteShown =
  | {
      readonly kind: 'file';
      readonly documentRoot: string;
      readonly filename: string;
      /** What follows `filename` in a path that does not exist (path info, seen by no section), or `''`. */
      readonly pathInfo: string;
      readonly exists: boolean;
      readonly isDirectory: boolean;
    }
  | { readonly kind: 'no-document-root' }
  | { readonly kind: 'proxy'; readonly prefix: string; readonly upstream: string; readonly file: string; readonly line: number }
  | {
      readonly kind: 'forward-auth';
      readonly endpoint: string;
      /** Null when the forward-auth request itself was refused. */
      readonly original: { readonly style: string; readonly method: string; readonly target: string; readonly clientAddress: string; readonly tls: boolean } | null;
    };

/** A log line written while deciding (codes and messages only; authts never logs secrets). */
export interface LogLineShown {
  readonly level: string;
  readonly msg: string;
  readonly code?: string;
}

/** Everything `authts explain` found out about one request. Stable: see docs/explain.md. */
export interface ExplainReport {
  readonly version: typeof EXPLAIN_REPORT_VERSION;
  readonly request: {
    readonly method: string;
    readonly target: string;
    readonly remoteAddress: string;
    readonly tls: boolean;
    readonly headers: Readonly<Record<string, string>>;
    readonly credentials: CredentialsShown | null;
  };
  /** The normalized path and query, or why the target was refused before any phase ran. */
  readonly normalized:
    | { readonly ok: true; readonly path: string; readonly query: string }
    | { readonly ok: false; readonly status: number; readonly reason: string }
    | null;
  readonly route: RouteShown | null;
  readonly sections: readonly SectionShown[];
  /** The merged `Require` tree; null when no section has one (or the phases were not reached). */
  readonly tree: TreeNodeShown | null;
  /** Which pass of the tree decided the request; null when neither did. */
  readonly decidedBy: TreePass | null;
  readonly providers: readonly ProviderAnswerShown[];
  readonly phases: readonly PhaseShown[];
  /** The authenticated user; null when none was (a name whose password failed is not one). */
  readonly user: string | null;
  /** The scheme that authenticated `user` (`Basic`, `Bearer`, …). */
  readonly authType: string | null;
  readonly allowed: boolean;
  /** The status the phases decided (200: allowed), as `authts serve` would answer a refusal. */
  readonly status: number;
  /** The response headers the decision carries (`WWW-Authenticate`, `Retry-After`, identity headers…). */
  readonly headers: Readonly<Record<string, string>>;
  /** For an allowed request: what `authts serve` does next (serves the file, proxies, 404 …). */
  readonly next: string | null;
  readonly log: readonly LogLineShown[];
}

/** Header values never shown: they carry credentials or sessions. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** `(hidden, N bytes)`: how a secret is shown. */
export function hidden(secret: string | Buffer): string {
  const bytes = typeof secret === 'string' ? Buffer.byteLength(secret, 'latin1') : secret.length;
  return `(hidden, ${bytes} byte${bytes === 1 ? '' : 's'})`;
}

function shownHeaders(headers: ExplainInput['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(headers)) {
    const joined = values.join(', ');
    out[name] = SECRET_HEADERS.has(name) ? hidden(joined) : joined;
  }
  return out;
}

/** The label authz_core gives a section's implicit container. */
const IMPLICIT_LABEL = '<Directory>, <Location>, or similar';

function limitText(node: AuthzNode): string | undefined {
  if (node.limited === 'all') return undefined;
  return node.limited.map((l) => `${l.except ? 'except ' : ''}${[...l.methods].join(' ')}`).join('; ');
}

function shownTree(node: AuthzNode, userless: ReadonlyMap<AuthzNode, TreeResult>, user: ReadonlyMap<AuthzNode, TreeResult>): TreeNodeShown {
  const limit = limitText(node);
  const base = {
    type: node.type,
    // A section's own Require lines form an implicit <RequireAny> (httpd names it after the section kinds).
    text: node.type === 'require' ? node.text : node.label === IMPLICIT_LABEL ? 'implicit <RequireAny> of a section' : node.label,
    negate: node.negate,
    file: node.where.file,
    line: node.where.line,
    ...(limit === undefined ? {} : { limit }),
    userless: userless.get(node) ?? null,
    user: user.get(node) ?? null,
  };
  if (node.type === 'require') return base;
  return { ...base, op: node.op, children: node.children.map((child) => shownTree(child, userless, user)) };
}

function resultsOf(trace: readonly TraceEntry[] | undefined): Map<AuthzNode, TreeResult> {
  return new Map((trace ?? []).map((entry) => [entry.node, entry.result]));
}

/** What the userless pass's result means for the request (mod_authz_core's access_ex hook). */
const USERLESS_MEANING: Record<TreeResult, string> = {
  granted: 'allowed without authentication',
  'denied-no-user': 'authentication needed',
  denied: 'refused (403) before any credentials are checked',
  neutral: 'refused (403): nothing granted',
  error: 'a provider could not answer (500)',
};

/** Collects what the phases report through the request observer. */
class Recorder implements RequestObserver {
  readonly answers: ProviderAnswerShown[] = [];
  readonly traces = new Map<TreePass, readonly TraceEntry[]>();

  providerAnswered(_req: unknown, answer: ProviderAnswer): void {
    const pass = answer.kind === 'authn' ? 'authn' : this.traces.has('userless') ? 'user' : 'userless';
    this.answers.push({ ...answer, pass });
  }

  treeEvaluated(_req: unknown, pass: TreePass, trace: readonly TraceEntry[]): void {
    this.traces.set(pass, [...trace]);
  }
}

/** A logger that keeps the level, message and code of every line (never other fields). */
function capturingLogger(): { log: Logger; lines: LogLineShown[] } {
  const lines: LogLineShown[] = [];
  const levels: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  const log = createLogger({
    level: 'info',
    destination: {
      write(line: string) {
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string; code?: unknown };
          const code = typeof entry.code === 'string' ? entry.code : undefined;
          lines.push({ level: levels[entry.level ?? 30] ?? 'info', msg: entry.msg ?? '', ...(code === undefined ? {} : { code }) });
        } catch {
          lines.push({ level: 'info', msg: '(unreadable log line)' });
        }
      },
    },
  });
  return { log, lines };
}

function sectionsOf(dir: DirConfig | undefined): SectionShown[] {
  return (dir?.sections ?? []).map((s) => ({ kind: s.kind, name: s.name, pattern: s.regex ? String(s.regex) : s.pattern, regex: s.regex !== undefined, file: s.where.file, line: s.where.line }));
}

/**
 * Decides `input` under `config` as `authts serve` would and reports how. Runs the configured
 * providers for real (a database that is down gives 500 here too) but opens no socket. The
 * caller owns `config` and closes it.
 *
 * @example
 * ```ts
 * const config = await loadConfig({ file: 'site.conf', modules: builtinModules() });
 * try {
 *   const report = await explainRequest(config, {
 *     method: 'GET', target: '/staff/', headers: {}, remoteAddress: '127.0.0.1',
 *     localAddress: '127.0.0.1', tls: false, credentials: null,
 *   });
 *   report.status; // 401
 * } finally {
 *   await config.close();
 * }
 * ```
 */
export async function explainRequest(config: Config, input: ExplainInput): Promise<ExplainReport> {
  const { log, lines } = capturingLogger();
  const engine = new AuthEngine(config, log);
  const recorder = new Recorder();
  const method = input.method.toUpperCase();
  const phases: PhaseShown[] = [];
  const report: { -readonly [K in keyof ReportHead]: ReportHead[K] } = {
    version: EXPLAIN_REPORT_VERSION,
    request: {
      method,
      target: Buffer.from(input.target, 'latin1').toString('utf8'),
      remoteAddress: input.remoteAddress,
      tls: input.tls,
      headers: shownHeaders(input.headers),
      credentials: input.credentials,
    },
    normalized: null,
    route: null,
    phases,
    log: lines,
  };
  const refusedEarly = (status: number, outcome: string, step: PhaseShown['step']): ExplainReport => {
    phases.push({ step, outcome });
    return assemble(report, { sections: [], tree: null, decidedBy: null, providers: [], user: null, authType: null, allowed: false, status, headers: {}, next: null });
  };
  // Every decision below is watched by the recorder; the headers differ for forward-auth.
  const observed = { localAddress: input.localAddress, observer: recorder };

  // The order of serve.ts's handle(): forward-auth endpoint, target, ProxyPass, DocumentRoot.
  if (isForwardAuthRequest(config, input.target)) {
    const settings = config.serverSettings(forwardAuth);
    const endpoint = settings.path ?? '';
    const read = readForwardedRequest(settings, { url: input.target, method, headers: input.headers, peerAddress: input.remoteAddress });
    if (!read.ok) {
      report.route = { kind: 'forward-auth', endpoint, original: null };
      return refusedEarly(read.status, `${read.code}: ${read.reason}`, 'forward-auth');
    }
    const original = read.request;
    report.route = {
      kind: 'forward-auth',
      endpoint,
      original: { style: original.style, method: original.method, target: original.target, clientAddress: original.clientAddress, tls: original.tls },
    };
    const target = normalizeRequestTarget(original.target);
    report.normalized = target.ok ? { ok: true, path: target.path, query: target.query } : { ok: false, status: target.status, reason: target.reason };
    if (!target.ok) return refusedEarly(target.status, `the original request target is refused: ${target.reason}`, 'target');
    const ambiguous = ambiguousSpelling(original.target);
    if (ambiguous !== undefined) return refusedEarly(400, `FORWARD_AUTH_AMBIGUOUS_PATH: the path has ${ambiguous}`, 'forward-auth');
    const info: RequestInfo = { ...originalRequestInfo(original, target), ...observed };
    const { verdict, dir } = await engine.decide(info);
    let extra: Map<string, string> | undefined;
    let status = verdict.status;
    if (verdict.allowed) {
      try {
        extra = await identityHeaders(engine, info, verdict, settings, log);
      } catch (err) {
        const code = err instanceof AuthTsError ? err.code : 'FORWARD_AUTH_IDENTITY';
        log.error({ code }, 'forward-auth: the identity could not be answered');
        status = 500;
      }
    }
    const next = status === 200 ? 'answered 200 to the proxy with the identity headers; the proxy serves the content' : null;
    return finish(report, dir, verdict, recorder, status, extra, next);
  }

  const target = normalizeRequestTarget(input.target);
  if (!target.ok) {
    report.normalized = { ok: false, status: target.status, reason: target.reason };
    return refusedEarly(target.status, `refused before any phase: ${target.reason}`, 'target');
  }
  report.normalized = { ok: true, path: target.path, query: target.query };
  const common = { method, path: target.path, query: target.query, unparsedUri: input.target, headers: input.headers, remoteAddress: input.remoteAddress, tls: input.tls, ...observed };

  const route = proxyRouteFor(config, target.path, input.target);
  if (route !== undefined) {
    report.route = { kind: 'proxy', prefix: route.mapping.prefix, upstream: `${route.target.origin}${route.upstreamPath}`, file: route.mapping.where.file, line: route.mapping.where.line };
    const { verdict, dir } = await engine.decide({ ...common, filename: undefined, isDirectory: false });
    return finish(report, dir, verdict, recorder, verdict.status, undefined, verdict.allowed ? `proxied to ${route.target.origin}${route.upstreamPath}` : null);
  }

  const documentRoot = config.serverSettings(core).documentRoot;
  let filename: string | undefined;
  let isDirectory = false;
  let exists = false;
  if (documentRoot === undefined) {
    report.route = { kind: 'no-document-root' };
  } else {
    let realRoot: string;
    try {
      realRoot = resolveDocumentRoot(documentRoot);
    } catch (err) {
      report.route = { kind: 'file', documentRoot, filename: documentRoot, pathInfo: '', exists: false, isDirectory: false };
      return refusedEarly(500, `${err instanceof Error ? err.message : String(err)} (authts serve answers 500 until it can)`, 'target');
    }
    const mapping = await mapToFilesystem(documentRoot, target.path, realRoot);
    ({ filename, isDirectory, exists } = mapping);
    report.route = { kind: 'file', documentRoot, filename: mapping.filename, pathInfo: mapping.pathInfo, exists, isDirectory };
  }
  const { verdict, dir } = await engine.decide({ ...common, filename, isDirectory });
  return finish(report, dir, verdict, recorder, verdict.allowed && dir === undefined ? 500 : verdict.status, undefined, verdict.allowed && dir ? nextForFile(dir, filename, exists, isDirectory) : null);
}

/** What `authts serve` does after the phases allowed a request that maps (or not) to a file. */
function nextForFile(dir: DirConfig, filename: string | undefined, exists: boolean, isDirectory: boolean): string {
  const handler = dir.get(core).handler;
  if (handler !== undefined && handler !== 'none') return `SetHandler ${handler} answers`;
  if (filename === undefined) return 'no DocumentRoot: 404 Not Found';
  if (!exists) return 'no such file: 404 Not Found';
  if (isDirectory) {
    const index = dir.get(core).directoryIndex ?? ['index.html'];
    return `a directory: serves its DirectoryIndex (${index.join(' ')}), each index file checked again as a subrequest`;
  }
  return 'serves the file';
}

/** The part of a report known before the phases run. */
type ReportHead = Pick<ExplainReport, 'version' | 'request' | 'normalized' | 'route' | 'log'> & { readonly phases: PhaseShown[] };

/** Completes a report from the decision and what the recorder saw during it. */
function finish(
  report: ReportHead,
  dir: DirConfig | undefined,
  verdict: Verdict,
  recorder: Recorder,
  status: number,
  extraHeaders: ReadonlyMap<string, string> | undefined,
  next: string | null,
): ExplainReport {
  const userlessTrace = recorder.traces.get('userless');
  const userTrace = recorder.traces.get('user');
  const root = dir?.get(authzCore).tree;
  const userlessRoot = userlessTrace?.[0]?.result;
  const userRoot = userTrace?.[0]?.result;
  const phases = report.phases;
  const method = report.request.method;
  // The authz pass runs only after authentication succeeded; an authz handler of its own
  // (AuthTsHandler) that allowed the request did too. Otherwise verdict.user is only the name
  // the client claimed (r->user is set before the password is checked).
  const authenticated = verdict.user !== undefined && (userRoot !== undefined || verdict.allowed);
  const applies = (node: AuthzNode) => node.limited === 'all' || node.limited.some((l) => methodInLimit(l, method));

  if (userlessRoot === undefined) {
    if (root === undefined || !applies(root)) {
      phases.push({ step: 'access', outcome: verdict.allowed ? 'no Require applies: allowed without authentication' : `ended with ${status}` });
    } else {
      phases.push({
        step: 'access',
        outcome: verdict.allowed
          ? 'allowed before Require was evaluated (Satisfy Any with an access rule that allows)'
          : `ended with ${status} before Require was evaluated (Order/Allow/Deny, or an access handler)`,
      });
    }
  } else {
    phases.push({ step: 'require-userless', outcome: `${userlessRoot}: ${USERLESS_MEANING[userlessRoot]}` });
    if (userlessRoot === 'denied-no-user') {
      if (authenticated) {
        phases.push({ step: 'authn', outcome: `user "${verdict.user}" authenticated (${verdict.authType ?? 'no AuthType'})` });
      } else if (verdict.user !== undefined) {
        // r->user is set to the claimed name before the password is checked.
        phases.push({ step: 'authn', outcome: `user "${verdict.user}" not authenticated: ${status}` });
      } else {
        phases.push({ step: 'authn', outcome: `no user authenticated: ${status}` });
      }
      if (userRoot !== undefined) {
        phases.push({ step: 'require-user', outcome: `${userRoot}: ${userRoot === 'granted' ? 'allowed' : `refused (${status})`}` });
      }
    }
  }
  const decidedBy: TreePass | null =
    userlessRoot === undefined ? null : userlessRoot !== 'denied-no-user' ? 'userless' : userRoot !== undefined ? 'user' : null;
  const headers: Record<string, string> = {};
  for (const [name, value] of verdict.headers) headers[name] = value;
  for (const [name, value] of extraHeaders ?? []) headers[name] = value;
  return assemble(report, {
    sections: sectionsOf(dir),
    tree: root === undefined ? null : shownTree(root, resultsOf(userlessTrace), resultsOf(userTrace)),
    decidedBy,
    providers: recorder.answers,
    user: authenticated ? (verdict.user ?? null) : null,
    authType: authenticated ? (verdict.authType ?? null) : null,
    allowed: status === 200,
    status,
    headers,
    next: status === 200 ? next : null,
  });
}

/** The report with its fields in the documented order (JSON output follows it). */
function assemble(head: ReportHead, rest: Omit<ExplainReport, keyof ReportHead>): ExplainReport {
  return {
    version: head.version,
    request: head.request,
    normalized: head.normalized,
    route: head.route,
    sections: rest.sections,
    tree: rest.tree,
    decidedBy: rest.decidedBy,
    providers: rest.providers,
    phases: head.phases,
    user: rest.user,
    authType: rest.authType,
    allowed: rest.allowed,
    status: rest.status,
    headers: rest.headers,
    next: rest.next,
    log: head.log,
  };
}
