/**
 * `SetHandler authts-status`: the server's figures for a person (httpd's server-status and
 * ldap-status), as an HTML page or, with `?json`, as JSON.
 *
 * Protected by default: the page answers 403 unless the section's `Require` rules name who may
 * see it — at least one `Require` line other than `Require all granted` / `Require all denied`
 * (`Require ip 127.0.0.1`, `Require valid-user`, `Require group admins`…). A status page left
 * open by a forgotten `Require` shows nothing.
 */
import type { DirConfig } from '../config/config.js';
import { authzCore } from '../authz/core.js';
import type { AuthzNode } from '../authz/tree.js';
import { methodInLimit, type Module } from '../module.js';
import type { StatusSnapshot } from '../metrics/metrics.js';
import { serverMetricsFor } from '../metrics/server-observability.js';

/**
 * True when the merged `Require` rules of `dir` that apply to `method` name who may see the page
 * (see the file comment): a `Require` inside `<Limit POST>` does not protect a GET.
 */
export function hasProtectingRequire(dir: DirConfig, method: string): boolean {
  const tree = dir.get(authzCore).tree;
  const applies = (node: AuthzNode): boolean => node.limited === 'all' || node.limited.some((limit) => methodInLimit(limit, method));
  const names = (node: AuthzNode): boolean =>
    applies(node) && (node.type === 'require' ? node.provider.name.toLowerCase() !== 'all' : node.children.some(names));
  return tree !== undefined && names(tree);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function table(caption: string, head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return `<h2>${escapeHtml(caption)}</h2>\n<p>none yet</p>\n`;
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<h2>${escapeHtml(caption)}</h2>\n<table>\n<tr>${th}</tr>\n${body}\n</table>\n`;
}

/** The status page as HTML; every value from the configuration or a client is escaped. */
export function renderStatusHtml(s: StatusSnapshot): string {
  const parts = [
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>authts status</title>',
    '<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 8px;text-align:left}</style></head>\n<body>\n<h1>authts status</h1>\n',
    `<p>Started ${escapeHtml(s.startedAt)} (up ${escapeHtml(s.uptimeSeconds)} s). Configuration ${escapeHtml(s.configFile)}, loaded ${escapeHtml(s.configLoadedAt)}.</p>\n`,
    table('Requests', ['section', 'outcome', 'status', 'count'], s.requests.map((r) => [r.section, r.outcome, r.status, r.count])),
    table('Providers', ['kind', 'provider', 'result', 'answers', 'mean ms'], s.providers.map((p) => [p.kind, p.provider, p.result, p.count, p.meanMs.toFixed(2)])),
    table('Credential cache', ['hits', 'misses'], s.credentialCache ? [[s.credentialCache.hits, s.credentialCache.misses]] : []),
    table('Brute-force regulation', ['bans', 'refused while banned'], s.regulation ? [[s.regulation.bans, s.regulation.refused]] : []),
    table('SQL pools', ['DBDParams', 'driver', 'up', 'open', 'idle', 'busy', 'waiting'], s.sqlPools.map((p) => [p.where, p.driver, p.up ? 'yes' : 'NO', p.stats.open, p.stats.idle, p.stats.busy, p.stats.waiting])),
    table('LDAP connections', ['open', 'idle', 'waiting'], s.ldapPool ? [[s.ldapPool.open, s.ldapPool.idle, s.ldapPool.waiting]] : []),
    '</body></html>\n',
  ];
  return parts.join('');
}

/**
 * The module with the `authts-status` content handler.
 *
 * @example
 * ```apache
 * <Location /authts-status>
 *     SetHandler authts-status
 *     Require ip 127.0.0.1
 * </Location>
 * ```
 */
export const authTsStatus: Module = {
  name: 'authts_status',
  contentHandlers: [
    {
      name: 'authts-status',
      async handle(ctx) {
        const metrics = serverMetricsFor(ctx.config);
        if (metrics === undefined) throw new Error('authts-status: this configuration is not served by authts serve');
        const head = ctx.req.method === 'HEAD';
        const send = (status: number, type: string, body: string): void => {
          ctx.res.statusCode = status;
          ctx.res.setHeader('Content-Type', type);
          ctx.res.setHeader('Cache-Control', 'no-store');
          ctx.res.setHeader('Content-Length', Buffer.byteLength(body));
          ctx.res.end(head ? undefined : body);
        };
        if (!hasProtectingRequire(ctx.dir, ctx.req.method ?? 'GET')) {
          ctx.log.warn({ code: 'STATUS_UNPROTECTED', path: ctx.path }, 'authts-status refused: its section has no Require naming who may see it');
          send(403, 'text/html; charset=utf-8', '<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n<body><h1>Forbidden</h1></body></html>\n');
          return;
        }
        if (ctx.req.method !== 'GET' && !head) {
          ctx.res.setHeader('Allow', 'GET, HEAD');
          send(405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
          return;
        }
        const snapshot = await metrics.snapshot();
        const json = ctx.query.split('&').includes('json');
        if (json) send(200, 'application/json; charset=utf-8', `${JSON.stringify(snapshot, null, 2)}\n`);
        else send(200, 'text/html; charset=utf-8', renderStatusHtml(snapshot));
      },
    },
  ],
};
