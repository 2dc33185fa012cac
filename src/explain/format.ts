/**
 * The text form of an {@link ExplainReport}, for people: one block per question (what was
 * asked, where it maps, which sections, the `Require` tree, the provider answers, the decision).
 * Scripts should read `--json` instead; this layout may change between versions.
 */
import { relative, isAbsolute } from 'node:path';
import { STATUS_CODES } from 'node:http';
import type { ExplainReport, TreeNodeShown } from './explain.js';

/** How a node's children combine, in words. */
function combines(node: TreeNodeShown): string {
  if (node.type !== 'container') return '';
  if (node.negate) return ' (none of)';
  return node.op === 'and' ? ' (all of)' : ' (any of)';
}

/** `file` relative to `cwd` when it is below it, else as it is. */
function shortPath(file: string, cwd: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** `a/b.conf:12`, relative to `cwd` when the file is below it. */
function place(file: string, line: number, cwd: string): string {
  return `${shortPath(file, cwd)}:${line}`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Rows of columns, each column as wide as its widest cell. */
function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => (indent + row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i] ?? 0))).join('  ')).trimEnd());
}

function treeRows(node: TreeNodeShown, depth: number, cwd: string, rows: string[][]): void {
  const limit = node.limit === undefined ? '' : ` [only ${node.limit}]`;
  rows.push([
    `${'  '.repeat(depth)}${node.text}${combines(node)}${limit}`,
    node.userless ?? '-',
    node.user ?? '-',
    place(node.file, node.line, cwd),
  ]);
  for (const child of node.children ?? []) treeRows(child, depth + 1, cwd, rows);
}

const STEP_NAMES: Record<ExplainReport['phases'][number]['step'], string> = {
  target: 'request target',
  'forward-auth': 'forward-auth',
  access: 'access',
  'require-userless': 'Require without a user',
  authn: 'authentication',
  'require-user': 'Require with the user',
};

/**
 * Renders `report` as text; file names are shown relative to `cwd` where they are below it.
 *
 * @example
 * ```ts
 * process.stdout.write(formatReport(await explainRequest(config, input), process.cwd()));
 * ```
 */
export function formatReport(report: ExplainReport, cwd: string): string {
  const out: string[] = [];
  const { request } = report;
  out.push(`request: ${request.method} ${request.target} from ${request.remoteAddress}${request.tls ? ' over TLS' : ''}`);
  const cred = request.credentials;
  if (cred?.scheme === 'basic') out.push(`  credentials: Basic, user "${cred.user}", password ${cred.password}`);
  if (cred?.scheme === 'bearer') out.push(`  credentials: Bearer token ${cred.token}`);
  for (const [name, value] of Object.entries(request.headers)) {
    // The credentials line above already describes what --user/--token put there.
    if (name === 'authorization' && cred !== null) continue;
    out.push(`  ${name}: ${value}`);
  }

  out.push('', 'target:');
  const n = report.normalized;
  if (n?.ok === true) out.push(`  path: ${n.path}${n.query === '' ? '' : `  query: ${n.query}`}`);
  if (n?.ok === false) out.push(`  refused: ${n.status} (${n.reason})`);
  const route = report.route;
  if (route?.kind === 'file') {
    const what = !route.exists ? 'does not exist' : route.isDirectory ? 'directory' : 'file';
    const rest = route.pathInfo === '' ? '' : `; path info ${route.pathInfo}, seen by no section`;
    out.push(`  filename: ${shortPath(route.filename, cwd)} (${what}${rest})`);
  } else if (route?.kind === 'no-document-root') {
    out.push('  filename: none (no DocumentRoot: only <Location> sections apply)');
  } else if (route?.kind === 'proxy') {
    out.push(`  ProxyPass ${route.prefix} (${place(route.file, route.line, cwd)}): proxied to ${route.upstream}; no filename, only <Location> sections apply`);
  } else if (route?.kind === 'forward-auth') {
    const o = route.original;
    out.push(`  forward-auth endpoint ${route.endpoint}: ${o ? `decides ${o.method} ${o.target} from ${o.clientAddress || '(unknown client)'} (${o.style} style${o.tls ? ', https' : ''})` : 'request refused'}`);
  }

  out.push('', 'sections (merge order):');
  if (report.sections.length === 0) out.push('  none');
  out.push(...table(report.sections.map((s, i) => [`${i + 1}. <${s.name} ${s.regex ? s.pattern : JSON.stringify(s.kind === 'directory' ? shortPath(s.pattern, cwd) : s.pattern)}>`, place(s.file, s.line, cwd)])));

  const decided = report.decidedBy;
  out.push('', `Require tree (results without a user | with the user${decided ? `; decided by the ${decided === 'userless' ? 'userless' : 'user'} pass` : ''}):`);
  if (report.tree === null) {
    out.push('  none');
  } else {
    const rows: string[][] = [['', `without user${decided === 'userless' ? ' *' : ''}`, `with user${decided === 'user' ? ' *' : ''}`, '']];
    treeRows(report.tree, 0, cwd, rows);
    out.push(...table(rows));
    out.push('  (- : not evaluated in that pass; * : the pass that decided)');
  }

  out.push('', 'provider answers:');
  if (report.providers.length === 0) out.push('  none');
  out.push(
    ...table(
      report.providers.map((a) => [a.pass, a.provider, a.result, `${a.durationMs.toFixed(1)} ms`, a.require ?? '']),
    ),
  );

  out.push('', 'decision:');
  for (const phase of report.phases) out.push(`  ${STEP_NAMES[phase.step]}: ${phase.outcome}`);
  if (report.user !== null && !report.phases.some((p) => p.step === 'authn')) out.push(`  user: ${report.user}${report.authType ? ` (${report.authType})` : ''}`);
  out.push(`  status: ${report.status} ${STATUS_CODES[report.status] ?? ''}${report.allowed ? ' (allowed)' : ' (refused)'}`.trimEnd());
  if (report.next !== null) out.push(`  then: ${report.next}`);
  for (const [name, value] of Object.entries(report.headers)) out.push(`  ${name}: ${value}`);

  if (report.log.length > 0) {
    out.push('', 'log:');
    for (const line of report.log) out.push(`  ${line.level}: ${line.msg}${line.code ? ` [${line.code}]` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
