#!/usr/bin/env node
// authts serve against a bare node:http server and a private Apache httpd, in one run, on
// 127.0.0.1. See docs/performance.md for the method and the last results.
//
//   npm run bench:serve                  build, then run every row; writes bench/SERVE-RESULTS.md
//   BENCH_DURATION=2 BENCH_REPS=1 npm run bench:serve   a quick look (SERVE-RESULTS.md is still
//                                                        written, with the settings it ran with)
//
// (npm run bench runs bench/peers-bench.mjs, every scenario against every peer; this script is
// the authts serve vs httpd static-file comparison with its targets.)
//
// Needs: wrk (Debian: apt-get install wrk), Apache httpd 2.4 and htpasswd (Debian: apt-get
// install apache2 apache2-utils), and a built dist/ (npm run build). A missing one fails the
// run: no row is ever dropped.
//
// Environment: BENCH_DURATION (s per measurement, default 4), BENCH_WARMUP (s before each
// measurement, default 1), BENCH_REPS (default 3), BENCH_CONNECTIONS (default 32),
// BENCH_MAX_SECONDS (default 300: redoing measurements disturbed by other processes stops
// when the run would exceed it), BENCH_ONLY (regex on row ids: a partial run, SERVE-RESULTS.md not
// written), BENCH_KEEP=1 keeps the temp directory, AUTHTS_HTTPD_BIN / AUTHTS_HTTPD_MODULES_DIR /
// HTPASSWD_BIN / WRK_BIN override the peers' paths.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  AUTHTS_CLI, BENCH, contamination, fmt, freePort, get, machineInfo as baseMachineInfo, makeTempDir, MAX_RETRIES_PER_MEASUREMENT,
  measureRow, measureRows, onSignalsStop, OTHER_CPU_RETRY, pct, rawTable, removeTempDir, ROOT, runBench, settingsFromEnv, spawnTracked,
  startedLine, stopAll, summarize, table as resultsTable, treeCpu, treeRssMiB, waitListening, writeResults, WRK_BIN,
} from './lib.mjs';
import { HTTPD_BASE_MODULES, HTTPD_BIN, HTTPD_MODULES_DIR, HTTPD_MPM, mkdirPublic, startHttpd as startHttpdInstance, writePublic } from './httpd.mjs';

const HTPASSWD_BIN = process.env.HTPASSWD_BIN ?? 'htpasswd';

const SETTINGS = settingsFromEnv(300);

const USER = 'bench';
const PASSWORD = 'bench-password-7';
const BIG_FILE_USERS = 100_000;
/** The file every row serves: 256 bytes of text. */
const FILE_BODY = Buffer.from('authts bench: a small static file served by every row of the table.\n'.repeat(4).slice(0, 255) + '\n');

onSignalsStop('bench');

// ---------------------------------------------------------------------------------------------
// Preflight: every peer must be here.

function requireTool(label, command, args, hint) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`bench: ${label} not found (${command}: ${r.error.message}). ${hint}`);
  return `${r.stdout}${r.stderr}`;
}

function preflight() {
  const problems = [];
  if (process.platform !== 'linux') problems.push('the bench reads /proc: it runs on Linux only');
  if (!existsSync(AUTHTS_CLI)) problems.push(`${AUTHTS_CLI} is missing: run npm run build (npm run bench:serve does)`);
  if (!existsSync(HTTPD_BIN)) problems.push(`${HTTPD_BIN} is missing: apt-get install apache2 (or set AUTHTS_HTTPD_BIN)`);
  for (const m of HTTPD_MODULES) {
    if (!existsSync(join(HTTPD_MODULES_DIR, `mod_${m}.so`))) problems.push(`${HTTPD_MODULES_DIR}/mod_${m}.so is missing (apt-get install apache2)`);
  }
  if (problems.length > 0) throw new Error(`bench: cannot run:\n  - ${problems.join('\n  - ')}`);
  const wrk = requireTool('wrk', WRK_BIN, ['-v'], 'Install it: apt-get install wrk (or set WRK_BIN).');
  requireTool('htpasswd', HTPASSWD_BIN, ['-nbs', 'x', 'y'], 'Install it: apt-get install apache2-utils (or set HTPASSWD_BIN).');
  const httpd = requireTool('httpd', HTTPD_BIN, ['-v'], 'Install it: apt-get install apache2.');
  return {
    wrkVersion: wrk.split('\n')[0].replace(/\s+Copyright.*$/, '').trim(),
    httpdVersion: (/Server version:\s*(.*)/.exec(httpd)?.[1] ?? httpd.split('\n')[0]).trim(),
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

function htpasswdLine(flags) {
  const r = spawnSync(HTPASSWD_BIN, [flags, USER, PASSWORD], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`htpasswd ${flags} failed: ${r.stderr}`);
  const line = r.stdout.split('\n')[0].trim();
  if (!line.startsWith(`${USER}:`)) throw new Error(`htpasswd ${flags}: unexpected output ${JSON.stringify(r.stdout)}`);
  return line;
}

/** `{SHA}` lines of 99,999 made-up users, then the real htpasswd line last (see docs/performance.md). */
function bigShaFile(realLine) {
  const lines = [];
  for (let i = 1; i < BIG_FILE_USERS; i++) {
    const sha = createHash('sha1').update(randomBytes(12)).digest('base64');
    lines.push(`user${String(i).padStart(6, '0')}:{SHA}${sha}`);
  }
  lines.push(realLine);
  return `${lines.join('\n')}\n`;
}

/** The protections measured; `none` has no auth block. */
const PROTECTIONS = [
  { id: 'none', label: 'unprotected', flags: undefined },
  { id: 'apr1', label: 'Basic, `$apr1$` user', flags: '-nbm' },
  { id: 'bcrypt', label: 'Basic, bcrypt cost 5 (`$2y$05$`)', flags: '-nbB' },
  { id: 'sha1', label: 'Basic, `{SHA}`, 1-user file', flags: '-nbs' },
  { id: 'sha100k', label: 'Basic, `{SHA}`, 100,000-user file', flags: '-nbs' },
];

async function makeSite(dir) {
  const www = join(dir, 'www');
  const users = join(dir, 'users');
  await mkdirPublic(www);
  await mkdirPublic(users);
  for (const p of PROTECTIONS) {
    await mkdirPublic(join(www, p.id));
    await writePublic(join(www, p.id, 'file.txt'), FILE_BODY);
  }
  const userFiles = {};
  const lines = {
    apr1: htpasswdLine('-nbm'),
    // -C 5: bcrypt cost 5, as the issue asks.
    bcrypt: spawnSync(HTPASSWD_BIN, ['-nbB', '-C', '5', USER, PASSWORD], { encoding: 'utf8' }).stdout.split('\n')[0].trim(),
    sha1: htpasswdLine('-nbs'),
  };
  if (!lines.bcrypt.startsWith(`${USER}:$2y$05$`)) throw new Error(`htpasswd -nbB -C 5 gave ${JSON.stringify(lines.bcrypt)}`);
  if (!lines.apr1.startsWith(`${USER}:$apr1$`)) throw new Error(`htpasswd -nbm gave ${JSON.stringify(lines.apr1)}`);
  if (!lines.sha1.startsWith(`${USER}:{SHA}`)) throw new Error(`htpasswd -nbs gave ${JSON.stringify(lines.sha1)}`);
  for (const id of ['apr1', 'bcrypt', 'sha1']) {
    userFiles[id] = join(users, `${id}.htpasswd`);
    await writePublic(userFiles[id], `${lines[id]}\n`);
  }
  userFiles.sha100k = join(users, 'sha100k.htpasswd');
  await writePublic(userFiles.sha100k, bigShaFile(lines.sha1));
  return { www, userFiles };
}

/** The auth block of one protection, the same text for httpd and authts. */
function authBlock(site, protectionId) {
  if (protectionId === 'none') return '';
  return [
    `<Directory "${join(site.www, protectionId)}">`,
    '    AuthType Basic',
    '    AuthName "bench"',
    '    AuthBasicProvider file',
    `    AuthUserFile "${site.userFiles[protectionId]}"`,
    '    Require valid-user',
    '</Directory>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Servers.

const waitHttp = (name, port, handle) => waitListening(name, port, handle, '/none/file.txt');

async function startBare(mode, site) {
  const port = await freePort();
  const name = `bare node:http (${mode})`;
  const handle = spawnTracked(name, process.execPath, [join(BENCH, 'bare-server.mjs'), mode, join(site.www, 'none', 'file.txt'), String(port)]);
  await waitHttp(name, port, handle);
  return { name, pid: handle.child.pid, port, handle, kind: 'node' };
}

async function startAuthts(dir, site, protectionId) {
  const port = await freePort();
  const conf = join(dir, `authts-${protectionId}.conf`);
  await writePublic(
    conf,
    [`# generated by bench/serve-bench.mjs`, `Listen 127.0.0.1:${port}`, `DocumentRoot "${site.www}"`, authBlock(site, protectionId)].join('\n'),
  );
  const name = `authts serve (${protectionId})`;
  const handle = spawnTracked(name, process.execPath, [AUTHTS_CLI, 'serve', '-f', conf, '--workers', '1'], { cwd: ROOT });
  await waitHttp(name, port, handle);
  return { name, pid: handle.child.pid, port, handle, kind: 'node' };
}

const HTTPD_MODULES = [...HTTPD_BASE_MODULES, 'authn_file'];

/** One private httpd (bench/httpd.mjs) serving every protection's directory. */
function startHttpd(dir, site) {
  return startHttpdInstance({
    dir,
    id: 'all',
    docRoot: site.www,
    modules: ['authn_file'],
    lines: PROTECTIONS.filter((p) => p.id !== 'none').map((p) => authBlock(site, p.id)),
    waitPath: '/none/file.txt',
    generatedBy: 'bench/serve-bench.mjs',
  });
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/** One measurement of a row: wrk for SETTINGS.duration s, the server's CPU and memory (httpd: with its children) from /proc. */
const measure = (row) => measureRow(row, SETTINGS, () => treeCpu(row.server.pid), () => treeRssMiB(row.server.pid));

/** Before a row is measured: protected rows refuse a request without credentials and serve the file with them. */
async function verifyRow(row) {
  const headers = row.auth ? { Authorization: row.auth } : {};
  const ok = await get(row.server.port, row.path, headers);
  if (ok.status !== 200 || !ok.body.equals(FILE_BODY)) {
    throw new Error(`${row.label}: GET ${row.path} answered ${ok.status} with ${ok.body.length} bytes, expected 200 with the file`);
  }
  if (row.auth) {
    const anon = await get(row.server.port, row.path);
    if (anon.status !== 401) throw new Error(`${row.label}: GET ${row.path} without credentials answered ${anon.status}, expected 401`);
    const wrong = await get(row.server.port, row.path, { Authorization: `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}` });
    if (wrong.status !== 401) throw new Error(`${row.label}: a wrong password answered ${wrong.status}, expected 401`);
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

function machineInfo(versions) {
  return {
    ...baseMachineInfo(),
    httpd: versions.httpdVersion,
    wrk: versions.wrkVersion,
    uvThreadpool: process.env.UV_THREADPOOL_SIZE ? `${process.env.UV_THREADPOOL_SIZE} (UV_THREADPOOL_SIZE)` : '4 (libuv default; UV_THREADPOOL_SIZE unset)',
  };
}

const table = (summary) => resultsTable(summary, 'vs bare node:http');

function targets(summary) {
  const by = (id) => summary.find((s) => s.row.id === id);
  const bare = by('bare-memory');
  const bareFs = by('bare-fs');
  const bareSend = by('bare-send');
  const none = by('authts-none');
  const bcrypt = by('authts-bcrypt');
  const httpdBcrypt = by('httpd-bcrypt');
  const small = by('authts-sha1');
  const big = by('authts-sha100k');
  const t1 = none.rps / bare.rps;
  const t1send = none.rps / bareSend.rps;
  const t2 = bcrypt.rps / httpdBcrypt.rps;
  const t3 = Math.abs(big.rps - small.rps) / small.rps;
  const mark = (ok) => (ok ? '**met**' : '**not met**');
  // A verdict is only as good as the run: say so when the two rows' ranges overlap.
  const overlap = (a, b) => a.min <= b.max && b.min <= a.max;
  const noise = (a, b) => (overlap(a, b) ? ' (the two rows\' min – max ranges overlap: the difference is within this run\'s noise)' : '');
  return [
    `| target | measured | result |`,
    `| --- | --- | --- |`,
    `| unprotected \`authts serve\` ≥ 80 % of a bare node:http static file server (\`send\`) | ${fmt(none.rps)} / ${fmt(bareSend.rps)} req/s = ${pct(t1send)} | ${mark(t1send >= 0.8)}${t1send < 0.8 ? noise(none, bareSend) : ''} |`,
    `| … and of bare node:http answering from memory (no file read; see docs/performance.md) | ${fmt(none.rps)} / ${fmt(bare.rps)} req/s = ${pct(t1)} (fs.readFile baseline: ${pct(none.rps / bareFs.rps)}) | ${mark(t1 >= 0.8)} |`,
    `| bcrypt cost 5: \`authts serve\` ≥ Apache httpd | ${fmt(bcrypt.rps)} / ${fmt(httpdBcrypt.rps)} req/s = ${pct(t2)} | ${mark(t2 >= 1)}${noise(bcrypt, httpdBcrypt)} |`,
    `| 100,000-user \`{SHA}\` file within 5 % of the 1-user file | ${fmt(big.rps)} vs ${fmt(small.rps)} req/s: ${big.rps >= small.rps ? '+' : '−'}${fmt(t3 * 100, 1)} % | ${mark(t3 <= 0.05)}${t3 > 0.05 ? noise(big, small) : ''} |`,
  ].join('\n');
}


function report(info, rows, summary, httpd, elapsed) {
  const defaults = SETTINGS.duration === 4 && SETTINGS.warmup === 1 && SETTINGS.reps === 3 && SETTINGS.connections === 32;
  return `# authts serve benchmark results

Written by \`npm run bench:serve\` (bench/serve-bench.mjs) on ${info.date}; the run took ${fmt(elapsed)} s.
How to read and reproduce this: [docs/performance.md](../docs/performance.md).${defaults ? '' : '\n\n**Non-default settings** (see below): not comparable with a default run.'}

## Machine

| | |
| --- | --- |
| \`nproc\` | ${info.nproc} |
| CPU | ${info.cpuModel} |
| kernel | ${info.kernel} |
| memory | ${info.memory} |
| node | ${info.node} |
| authts | ${info.authts} (dist/ built by \`npm run bench:serve\`) |
| httpd | ${info.httpd} (mpm_event, ${Object.entries(HTTPD_MPM).map(([k, v]) => `${k} ${v}`).join(', ')}; workers run as ${httpd.runAs ? httpd.runAs.user : 'the current user'}) |
| load generator | ${info.wrk}, ${SETTINGS.wrkThreads} thread, ${SETTINGS.connections} keep-alive connections |
| libuv thread pool of \`authts serve\` | ${info.uvThreadpool} |

## Method

Every row serves the same ${FILE_BODY.length}-byte file (\`GET /<protection>/file.txt\`) on 127.0.0.1.
Each measurement is a ${SETTINGS.warmup} s warm-up (discarded) then ${SETTINGS.duration} s of \`wrk\`; every row is measured ${SETTINGS.reps} times,
round-robin over the rows (rep 1 of every row, then rep 2, …), after a first ${SETTINGS.firstWarmup} s warm-up per row.
The table gives medians over the repetitions. "vs bare node:http" is req/s divided by row 1's median from the same run.
Row 1 answers from memory (the file read once at start); row 2 reads it with \`fs.promises.readFile\` per request;
row 3 serves it with the \`send\` package per request (stat, open, read, close; ETag and Last-Modified), as a Node static file server does.
"server CPU" is the server's CPU time (all threads; for httpd the parent and its children) over the wall time of the
measurement, where 100 % is one core; "µs/req" is that CPU time divided by the requests served. "server RSS" is the
largest resident size seen after a measurement (httpd: parent plus children, shared pages counted in each). "wrk CPU" is the load
generator's own CPU time (from its /proc/self/stat at the end of the run) over the run's duration: it shares the
${info.nproc} cores with the server. "other CPU" is the machine's busy time (/proc/stat) minus the server's and wrk's:
whatever else ran meanwhile (this script, other processes); near 0 on a quiet machine. A measurement during which
it exceeded ${pct(OTHER_CPU_RETRY)} of a core is measured again (at most ${MAX_RETRIES_PER_MEASUREMENT} times in a row, and only while the whole run stays within ${SETTINGS.maxSeconds} s;
the discarded ones are listed at the end). Every protected row is checked first: 401 without credentials, 401 with a wrong
password, 200 and the file's bytes with the right one. Any non-2xx answer during a run fails the bench.

## Results

${contamination(summary)}

${table(summary)}

## Targets

${targets(summary)}

## Every measurement

${rawTable(rows)}
`;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const versions = preflight();
  const info = machineInfo(versions);
  const tempDir = makeTempDir('authts-bench-');
  await chmod(tempDir, 0o755);
  // httpd's workers (www-data when we are root) must reach the files: every directory on the way.
  for (let d = dirname(tempDir); d !== dirname(d); d = dirname(d)) {
    const { mode } = statSync(d);
    if ((mode & 0o001) === 0) throw new Error(`${d} is not searchable by others: httpd's workers cannot reach ${tempDir}`);
  }
  process.stdout.write(`bench: ${info.cpuModel}, nproc ${info.nproc}, node ${info.node}, ${info.httpd}, ${info.wrk}\n`);
  process.stdout.write(`bench: fixtures in ${tempDir} (htpasswd, 100,000-user {SHA} file)\n`);
  const site = await makeSite(tempDir);
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

  const bareMemory = await startBare('memory', site);
  const bareFs = await startBare('fs', site);
  const bareSend = await startBare('send', site);
  const authts = {};
  for (const p of PROTECTIONS) authts[p.id] = await startAuthts(tempDir, site, p.id);
  const httpd = await startHttpd(tempDir, site);
  process.stdout.write(startedLine('bench'));

  const rows = [
    { id: 'bare-memory', serverLabel: 'bare node:http', protectionLabel: 'none, file from memory', server: bareMemory, path: '/none/file.txt' },
    { id: 'bare-fs', serverLabel: 'bare node:http', protectionLabel: 'none, fs.readFile per request', server: bareFs, path: '/none/file.txt' },
    { id: 'bare-send', serverLabel: 'bare node:http', protectionLabel: 'none, `send` per request (a Node static file server)', server: bareSend, path: '/none/file.txt' },
    ...PROTECTIONS.map((p) => ({ id: `authts-${p.id}`, serverLabel: '`authts serve`', protectionLabel: p.label, server: authts[p.id], path: `/${p.id}/file.txt`, auth: p.flags ? basic : undefined })),
    ...PROTECTIONS.map((p) => ({ id: `httpd-${p.id}`, serverLabel: 'Apache httpd', protectionLabel: p.label, server: httpd, path: `/${p.id}/file.txt`, auth: p.flags ? basic : undefined })),
  ]
    .map((r) => ({ ...r, label: `${r.serverLabel.replaceAll('`', '')}: ${r.protectionLabel.replaceAll('`', '')}`, results: [], discarded: [] }))
    .filter((r, i) => i === 0 || !SETTINGS.only || SETTINGS.only.test(r.id));

  await measureRows(rows, SETTINGS, { started, verify: verifyRow, measure, labelWidth: 52 });

  const errorLog = await readFile(httpd.errorLog, 'utf8').catch(() => '');
  await stopAll();
  const elapsed = (Date.now() - started) / 1000;
  const summary = summarize(rows, rows[0]);
  writeResults({ name: 'bench', settings: SETTINGS, resultsFile: 'SERVE-RESULTS.md', summary, elapsed, table: table(summary), targets: () => targets(summary), report: () => report(info, rows, summary, httpd, elapsed) });
  // AH01617 (password mismatch) is verifyRow's deliberate wrong password.
  const httpdErrors = errorLog.split('\n').filter((l) => /:(error|crit|alert|emerg)\]/.test(l) && !l.includes('AH01617'));
  if (httpdErrors.length > 0) process.stdout.write(`bench: httpd error.log has ${httpdErrors.length} error lines, e.g.:\n${httpdErrors.slice(0, 5).join('\n')}\n`);
  removeTempDir();
}

runBench('bench', main);
