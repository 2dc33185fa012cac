#!/usr/bin/env node
// One benchmark of every scenario against every peer, in one run on 127.0.0.1 (issue 10):
// a bare node:http baseline; Basic with `$apr1$`, bcrypt cost 5 and bcrypt cost 10 users on
// authts (credential cache off and on), Apache httpd mod_authn_file (without and with
// mod_authn_socache), nginx auth_basic, http-auth and passport-http; htpasswd files of 1, 10,000
// and 1,000,000 users; Bearer ES256/RS256 on authts (JWT cache off/on), express-jwt and
// @fastify/jwt; LDAP against a private slapd on authts (cache off/on), httpd mod_authnz_ldap
// (mod_ldap's caches off/on) and passport-ldapauth; SQL against PostgreSQL on authts (cache off/on)
// and httpd mod_authn_dbd. Every server is started by this script and stopped by its PID.
// Writes bench/RESULTS.md and docs/img/bench.svg. Method: docs/performance.md.
//
//   npm run bench                       build, then every row (about 20 minutes at the defaults)
//   BENCH_DURATION=1 BENCH_SLOW_DURATION=1 BENCH_REPS=1 BENCH_ONLY='^bcrypt5-' npm run bench
//                                       a smoke run of some rows (BENCH_ONLY: the report and
//                                       chart go to a new /tmp/authts-bench-partial-* directory)
//
// Runs under `node --import tsx` (npm run bench does so): the private slapd and the PostgreSQL
// database come from test/services/slapd.ts and sql.ts, shared with the tests.
//
// Environment: BENCH_DURATION (s per measurement, default 3), BENCH_SLOW_DURATION (s per
// measurement in the bcrypt-10 and 1,000,000-user scenarios, default 4), BENCH_WARMUP (s before each, default
// 1), BENCH_REPS (default 3), BENCH_CONNECTIONS (default 32), BENCH_MAX_SECONDS (default 1500: the
// run refuses to start when its plan does not fit, and redoes measurements disturbed by other
// processes only while it fits), BENCH_ONLY (regex on row ids: a partial run), BENCH_KEEP=1 (keep the temp
// directory), AUTHTS_HTTPD_BIN, AUTHTS_HTTPD_MODULES_DIR, AUTHTS_NGINX_BIN, HTPASSWD_BIN, WRK_BIN.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { renderChart } from './chart.mjs';
import { HTTPD_BASE_MODULES, HTTPD_BIN, HTTPD_MODULES_DIR, HTTPD_MPM, mkdirPublic, startHttpd as startHttpdInstance, writePublic } from './httpd.mjs';
import { AUDIENCE, bearerLocation, ISSUER, makeJwtFixtures } from './jwt-fixtures.mjs';
import {
  AUTHTS_CLI, BENCH, contamination, fmt, freePort, get, intFromEnv, machineInfo, makeTempDir, MAX_RETRIES_PER_MEASUREMENT, measureRow,
  measureRows, median, onSignalsStop, OTHER_CPU_RETRY, packageVersion, pct, rawTable, removeTempDir, ROOT, runBench, settingsFromEnv,
  spawnTracked, stopAll, stopProcess, summarize, treeCpu, treePeakRssMiB, waitListening, WRK_BIN,
} from './lib.mjs';
import { chartGroups, minutes, plannedSeconds, resultsTable } from './peers-report.mjs';
import { writeUserFile } from './userfile.mjs';
import { BIND_DN, BIND_PASSWORD, PEOPLE_DN, startSlapd } from '../test/services/slapd.ts';
import { createPgDatabase, SEED_USERS, USER_QUERY } from '../test/services/sql.ts';

const NGINX_BIN = process.env.AUTHTS_NGINX_BIN ?? '/usr/sbin/nginx';
const HTPASSWD_BIN = process.env.HTPASSWD_BIN ?? 'htpasswd';

const SETTINGS = settingsFromEnv(1500, 3);
/**
 * The scenarios whose rows serve tens of requests per second (bcrypt cost 10, the 1,000,000-user
 * file read per request by httpd and nginx) measure for BENCH_SLOW_DURATION s (default 4, or
 * BENCH_DURATION when that is longer): more requests per measurement for their medians and p99.
 */
const SLOW_GROUPS = new Set(['bcrypt10', 'users1m']);
const SLOW_SETTINGS = { ...SETTINGS, duration: intFromEnv('BENCH_SLOW_DURATION', Math.max(4, SETTINGS.duration), 1) };
const settingsFor = (group) => (SLOW_GROUPS.has(group.id) ? SLOW_SETTINGS : SETTINGS);
const CHART = join(ROOT, 'docs', 'img', 'bench.svg');

const USER = 'bench';
const PASSWORD = 'bench-password-7';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const LDAP_USER = ['alice', 'alice-pw'];
const SQL_USER = SEED_USERS.find((u) => u.hash.startsWith('{SHA}') && /^[a-z]+$/.test(u.name));
/** The file every row serves: 256 bytes of text. */
const FILE_BODY = Buffer.from('authts bench: a small static file served by every row of the table.\n'.repeat(4).slice(0, 255) + '\n');

/** Every httpd module a row loads (checked before the run). */
const HTTPD_MODULES = [...HTTPD_BASE_MODULES, 'authn_file', 'authn_socache', 'socache_shmcb', 'ldap', 'authnz_ldap', 'dbd', 'authn_dbd'];
const PEER_PACKAGES = ['http-auth', 'passport', 'passport-http', 'passport-ldapauth', 'basic-auth', 'bcrypt', 'bcryptjs', 'apache-md5', 'express', 'express-jwt', 'jsonwebtoken', 'fastify', '@fastify/jwt', 'fast-jwt', 'jose', 'send', 'pg', 'ldapts'];

/** The run's shared state: temp dir, fixtures, and the slapd / PostgreSQL database of the scenario running now. */
const ctx = {};
onSignalsStop('bench', async () => {
  await ctx.slapd?.stop();
  await ctx.db?.drop();
});

// ---------------------------------------------------------------------------------------------
// Preflight: every peer must be here before anything is measured.

/** `command args` → its stdout + stderr, or undefined when it cannot be run. */
function output(command, args) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.error ? undefined : `${r.stdout}${r.stderr}`;
}

/** apr-util's PostgreSQL driver (mod_authn_dbd's DBDriver pgsql): Debian's libaprutil1-dbd-pgsql. */
function aprPgsqlDriver() {
  for (const base of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    const dir = join(base, 'apr-util-1');
    if (existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('apr_dbd_pgsql'))) return join(dir, 'apr_dbd_pgsql.so');
  }
  return undefined;
}

/** Every missing peer at once, each with how to install it; returns the versions for the report. */
async function preflight() {
  const problems = [];
  const versions = {};
  if (process.platform !== 'linux') problems.push('the bench reads /proc: it runs on Linux only');
  if (!existsSync(AUTHTS_CLI)) problems.push(`${AUTHTS_CLI} is missing: run npm run build (npm run bench does)`);
  const tool = (key, command, args, hint, parse) => {
    const out = output(command, args);
    if (out === undefined) problems.push(`${command} not found: ${hint}`);
    else versions[key] = parse(out);
  };
  tool('wrk', WRK_BIN, ['-v'], 'apt-get install wrk (or set WRK_BIN)', (o) => o.split('\n')[0].replace(/\s+Copyright.*$/, '').trim());
  tool('httpd', HTTPD_BIN, ['-v'], 'apt-get install apache2 (or set AUTHTS_HTTPD_BIN)', (o) => (/Server version:\s*(.*)/.exec(o)?.[1] ?? o.split('\n')[0]).trim());
  tool('nginx', NGINX_BIN, ['-V'], 'apt-get install nginx (or set AUTHTS_NGINX_BIN)', (o) => {
    if (o.includes('--without-http_auth_basic_module')) problems.push(`${NGINX_BIN} was built without auth_basic: install Debian's nginx`);
    return (/nginx version:\s*(.*)/.exec(o)?.[1] ?? o.split('\n')[0]).trim();
  });
  tool('htpasswd', HTPASSWD_BIN, ['-nbs', 'x', 'y'], 'apt-get install apache2-utils (or set HTPASSWD_BIN)', () => 'present');
  tool('slapd', '/usr/sbin/slapd', ['-VV'], 'apt-get install slapd ldap-utils', (o) => (/(OpenLDAP: slapd [^\s(]+)/.exec(o)?.[1] ?? o.split('\n')[0]).trim());
  tool('ldapwhoami', 'ldapwhoami', ['-VV'], 'apt-get install ldap-utils', () => 'present');
  tool('openssl', 'openssl', ['version'], 'apt-get install openssl', (o) => o.trim());
  for (const m of HTTPD_MODULES) {
    if (!existsSync(join(HTTPD_MODULES_DIR, `mod_${m}.so`))) problems.push(`${HTTPD_MODULES_DIR}/mod_${m}.so is missing: apt-get install apache2 (or set AUTHTS_HTTPD_MODULES_DIR)`);
  }
  if (!aprPgsqlDriver()) problems.push("apr-util's PostgreSQL driver (apr_dbd_pgsql.so) is missing: apt-get install libaprutil1-dbd-pgsql");
  versions.packages = {};
  for (const name of PEER_PACKAGES) {
    try {
      versions.packages[name] = packageVersion(name);
    } catch {
      problems.push(`the npm package ${name} is missing: npm ci (it is in package.json)`);
    }
  }
  try {
    const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 });
    await c.connect();
    versions.postgres = (await c.query('SHOW server_version')).rows[0].server_version;
    await c.end();
  } catch (e) {
    problems.push(`PostgreSQL on 127.0.0.1:5432 (user postgres, trust) does not answer (${e.message}): start it (apt-get install postgresql)`);
  }
  if (problems.length > 0) throw new Error(`cannot run, no row is measured:\n  - ${problems.join('\n  - ')}`);
  return versions;
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

/** One `bench` line from Apache's htpasswd with `flags`, checked to start with `prefix`. */
function htpasswdLine(flags, prefix) {
  const r = spawnSync(HTPASSWD_BIN, [...flags, USER, PASSWORD], { encoding: 'utf8' });
  const line = r.stdout.split('\n')[0].trim();
  if (r.status !== 0 || !line.startsWith(`${USER}:${prefix}`)) throw new Error(`htpasswd ${flags.join(' ')}: ${JSON.stringify(r.stdout + r.stderr)}, expected ${USER}:${prefix}…`);
  return line;
}

/** The user files (every peer reads the same ones), the served file, the cache secret. */
async function makeFixtures(dir) {
  const www = join(dir, 'www');
  const users = join(dir, 'users');
  await mkdirPublic(join(www, 'p'));
  await mkdirPublic(users);
  await writePublic(join(www, 'p', 'file.txt'), FILE_BODY);
  const lines = { apr1: htpasswdLine(['-nbm'], '$apr1$'), bcrypt5: htpasswdLine(['-nbB', '-C', '5'], '$2y$05$'), bcrypt10: htpasswdLine(['-nbB', '-C', '10'], '$2y$10$') };
  const userFiles = {};
  for (const [id, line] of Object.entries(lines)) {
    userFiles[id] = join(users, `${id}.htpasswd`);
    await writePublic(userFiles[id], `${line}\n`);
  }
  for (const [id, count] of [['users10k', 10_000], ['users1m', 1_000_000]]) {
    userFiles[id] = join(users, `${id}.htpasswd`);
    await writeUserFile(userFiles[id], count, lines.apr1);
  }
  const secret = join(dir, 'cache-secret');
  await writeFile(secret, randomBytes(32).toString('hex'), { mode: 0o600 });
  const jwt = await makeJwtFixtures(join(dir, 'jwt'), FILE_BODY);
  return { www, userFiles, secret, jwt };
}

// ---------------------------------------------------------------------------------------------
// Servers: each started here, tracked by PID (bench/lib.mjs) and stopped by it.

const PATH = '/p/file.txt';

async function started(name, port, handle) {
  await waitListening(name, port, handle, PATH);
  return { name, pid: handle.child.pid, port };
}

async function startBare(fx) {
  const port = await freePort();
  const name = 'bare node:http';
  return started(name, port, spawnTracked(name, process.execPath, [join(BENCH, 'bare-server.mjs'), 'memory', join(fx.www, 'p', 'file.txt'), String(port)]));
}

async function startAuthts(dir, fx, id, lines) {
  const port = await freePort();
  const conf = join(dir, `authts-${id}.conf`);
  await writePublic(conf, [`# generated by bench/peers-bench.mjs: ${id}`, `Listen 127.0.0.1:${port}`, `DocumentRoot "${fx.www}"`, ...lines, ''].join('\n'));
  const name = `authts serve (${id})`;
  return started(name, port, spawnTracked(name, process.execPath, [AUTHTS_CLI, 'serve', '-f', conf, '--workers', '1'], { cwd: ROOT }));
}

/** A private httpd (bench/httpd.mjs) with `modules` and the `lines` of one row. */
function startHttpd(dir, fx, id, modules, lines) {
  return startHttpdInstance({ dir, id, docRoot: fx.www, modules, lines, waitPath: PATH, generatedBy: 'bench/peers-bench.mjs' });
}

/**
 * A private nginx: two workers (one per core, as httpd's two children), no access log, temp paths
 * and pid file in its own directory. test/services/nginx.ts runs one worker with an access log,
 * which suits the tests, not a benchmark.
 */
async function startNginx(dir, fx, id, locationLines) {
  const ndir = join(dir, `nginx-${id}`);
  await mkdirPublic(join(ndir, 'tmp'));
  const port = await freePort();
  const conf = join(ndir, 'nginx.conf');
  await writePublic(conf, [
    `# generated by bench/peers-bench.mjs: ${id}`,
    'worker_processes 2;',
    `pid ${ndir}/nginx.pid;`,
    `error_log ${ndir}/error.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '    access_log off;',
    '    default_type text/plain;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${ndir}/tmp/${t};`),
    '    server {',
    `        listen 127.0.0.1:${port};`,
    `        root ${fx.www};`,
    '        location /p/ {',
    ...locationLines.map((l) => `            ${l}`),
    '        }',
    '    }',
    '}',
    '',
  ].join('\n'));
  const name = `nginx (${id})`;
  const args = ['-p', `${ndir}/`, '-c', conf, '-e', join(ndir, 'error.log'), '-g', 'daemon off;'];
  return started(name, port, spawnTracked(name, NGINX_BIN, args, { env: { ...process.env, LANG: 'C' } }));
}

async function startNodePeer(script, kind, fx, id, args, env = {}) {
  const port = await freePort();
  const name = `${kind} (${id})`;
  const handle = spawnTracked(name, process.execPath, [join(BENCH, script), kind, join(fx.www, 'p', 'file.txt'), String(port), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  return started(name, port, handle);
}

// ---------------------------------------------------------------------------------------------
// The rows.

const basicBlock = (fx, lines) => [`<Directory "${join(fx.www, 'p')}">`, '    AuthType Basic', '    AuthName "bench"', ...lines.map((l) => `    ${l}`), '    Require valid-user', '</Directory>'];
/** authts's credential cache (docs/providers/cache.md) in front of `provider`. */
const authtsCache = (fx) => ['AuthnCacheSOCache memory', `AuthTsCacheSecret file:${fx.secret}`];

/** The Basic rows of one user file (`fileId`): authts ×2, httpd ×2, nginx, http-auth, passport-http. */
function basicRows(group, fileId, dir, fx) {
  const file = fx.userFiles[fileId];
  return [
    { server: '`authts serve`', variant: 'credential cache off', key: 'authts', start: () => startAuthts(dir, fx, `${fileId}-nocache`, basicBlock(fx, ['AuthBasicProvider file', `AuthUserFile "${file}"`])) },
    {
      server: '`authts serve`', variant: 'credential cache on (`AuthnCacheSOCache memory`)', key: 'authts-cache',
      start: () => startAuthts(dir, fx, `${fileId}-cache`, [...authtsCache(fx), ...basicBlock(fx, ['AuthBasicProvider socache file', `AuthUserFile "${file}"`, 'AuthnCacheProvideFor file'])]),
    },
    { server: 'Apache httpd', variant: 'mod_authn_file', key: 'httpd', start: () => startHttpd(dir, fx, `${fileId}-file`, ['authn_file'], basicBlock(fx, ['AuthBasicProvider file', `AuthUserFile "${file}"`])) },
    {
      server: 'Apache httpd', variant: 'mod_authn_file + mod_authn_socache (shmcb)', key: 'httpd-socache',
      start: () => startHttpd(dir, fx, `${fileId}-socache`, ['authn_file', 'socache_shmcb', 'authn_socache'], ['AuthnCacheSOCache shmcb', ...basicBlock(fx, ['AuthBasicProvider socache file', `AuthUserFile "${file}"`, 'AuthnCacheProvideFor file'])]),
    },
    { server: 'nginx', variant: 'auth_basic', key: 'nginx', start: () => startNginx(dir, fx, fileId, ['auth_basic "bench";', `auth_basic_user_file ${file};`]) },
    { server: 'http-auth', variant: 'node:http, `basic({ file })`', key: 'http-auth', start: () => startNodePeer('basic-peers.mjs', 'http-auth', fx, fileId, [file]) },
    { server: 'passport-http', variant: 'express, BasicStrategy, native `bcrypt`', key: 'passport-http', start: () => startNodePeer('basic-peers.mjs', 'passport-http', fx, fileId, [file]) },
  ].map((r) => ({ ...r, group, id: `${group}-${r.key}`, auth: BASIC, check: 'basic', user: [USER, PASSWORD] }));
}

function ldapRows(dir, fx, slapd) {
  const url = `ldap://127.0.0.1:${slapd.port}/${PEOPLE_DN}?uid`;
  const ldapBlock = (providers, extra = []) => basicBlock(fx, [`AuthBasicProvider ${providers}`, `AuthLDAPURL "${url}" NONE`, `AuthLDAPBindDN "${BIND_DN}"`, `AuthLDAPBindPassword "${BIND_PASSWORD}"`, ...extra]);
  return [
    { server: '`authts serve`', variant: 'pooled connections, credential cache off', key: 'authts', start: () => startAuthts(dir, fx, 'ldap-nocache', ldapBlock('ldap')) },
    { server: '`authts serve`', variant: 'pooled connections, credential cache on', key: 'authts-cache', start: () => startAuthts(dir, fx, 'ldap-cache', [...authtsCache(fx), ...ldapBlock('socache ldap', ['AuthnCacheProvideFor ldap'])]) },
    { server: 'Apache httpd', variant: "mod_authnz_ldap, mod_ldap's caches off", key: 'httpd', start: () => startHttpd(dir, fx, 'ldap-nocache', ['ldap', 'authnz_ldap'], ['LDAPCacheEntries 0', 'LDAPOpCacheEntries 0', ...ldapBlock('ldap')]) },
    { server: 'Apache httpd', variant: "mod_authnz_ldap, mod_ldap's caches on (defaults)", key: 'httpd-cache', start: () => startHttpd(dir, fx, 'ldap-cache', ['ldap', 'authnz_ldap'], ldapBlock('ldap')) },
    {
      server: 'passport-ldapauth', variant: 'express, LdapStrategy (connections per authentication)', key: 'passport-ldapauth',
      start: () => startNodePeer('basic-peers.mjs', 'passport-ldapauth', fx, 'ldap', [`ldap://127.0.0.1:${slapd.port}`, BIND_DN, PEOPLE_DN], { BENCH_LDAP_BIND_PASSWORD: BIND_PASSWORD }),
    },
  ].map((r) => ({ ...r, group: 'ldap', id: `ldap-${r.key}`, auth: `Basic ${Buffer.from(LDAP_USER.join(':')).toString('base64')}`, check: 'basic', user: LDAP_USER }));
}

function sqlRows(dir, fx, db) {
  const dbdServer = [`DBDriver pgsql`, `DBDParams "${db.params}"`];
  const sqlBlock = (providers, extra = []) => basicBlock(fx, [`AuthBasicProvider ${providers}`, `AuthDBDUserPWQuery "${USER_QUERY}"`, ...extra]);
  return [
    { server: '`authts serve`', variant: 'pooled connections, credential cache off', key: 'authts', start: () => startAuthts(dir, fx, 'sql-nocache', [...dbdServer, ...sqlBlock('dbd')]) },
    { server: '`authts serve`', variant: 'pooled connections, credential cache on', key: 'authts-cache', start: () => startAuthts(dir, fx, 'sql-cache', [...dbdServer, ...authtsCache(fx), ...sqlBlock('socache dbd', ['AuthnCacheProvideFor dbd'])]) },
    { server: 'Apache httpd', variant: 'mod_authn_dbd (mod_dbd pool)', key: 'httpd', start: () => startHttpd(dir, fx, 'sql', ['dbd', 'authn_dbd'], [...dbdServer, ...sqlBlock('dbd')]) },
  ].map((r) => ({ ...r, group: 'sql', id: `sql-${r.key}`, auth: `Basic ${Buffer.from(`${SQL_USER.name}:${SQL_USER.password}`).toString('base64')}`, check: 'basic', user: [SQL_USER.name, SQL_USER.password] }));
}

function jwtRows(dir, fx) {
  const rows = [];
  for (const alg of ['ES256', 'RS256']) {
    const bearer = (cache) => bearerLocation(fx.jwt.keys[alg], alg, cache);
    const peerArgs = [alg, fx.jwt.keys[alg], ISSUER, AUDIENCE];
    rows.push(
      { server: '`authts serve`', variant: `${alg}, \`AuthTsJwtCache Off\``, key: `${alg}-authts`, start: () => startAuthts(dir, fx, `${alg}-nocache`, bearer(false)) },
      { server: '`authts serve`', variant: `${alg}, \`AuthTsJwtCache On\` (default)`, key: `${alg}-authts-cache`, start: () => startAuthts(dir, fx, `${alg}-cache`, bearer(true)) },
      { server: 'express-jwt', variant: `${alg}, express 5`, key: `${alg}-express-jwt`, start: () => startNodePeer('jwt-peers.mjs', 'express', fx, alg, peerArgs) },
      { server: '@fastify/jwt', variant: `${alg}, fastify 5, no cache (its default)`, key: `${alg}-fastify-jwt`, start: () => startNodePeer('jwt-peers.mjs', 'fastify', fx, alg, peerArgs) },
    );
    for (const r of rows.slice(-4)) Object.assign(r, { alg, auth: `Bearer ${fx.jwt.tokens[alg]}`, check: 'bearer' });
  }
  return rows.map((r) => ({ ...r, group: 'jwt', id: `jwt-${r.key}` }));
}

/** The scenarios in run order; `rows(ctx)` makes its rows (ctx: dir, fx, and slapd/db once started). */
const GROUPS = [
  { id: 'unprotected', title: 'Unprotected (static file)' },
  { id: 'apr1', title: 'Basic, `$apr1$`, 1-user file' },
  { id: 'bcrypt5', title: 'Basic, bcrypt cost 5, 1-user file' },
  { id: 'bcrypt10', title: 'Basic, bcrypt cost 10, 1-user file' },
  { id: 'users10k', title: 'Basic, `$apr1$`, 10,000-user file' },
  { id: 'users1m', title: 'Basic, `$apr1$`, 1,000,000-user file' },
  { id: 'jwt', title: 'Bearer JWT (ES256, RS256)' },
  { id: 'ldap', title: 'Basic + LDAP (private slapd)' },
  { id: 'sql', title: 'Basic + SQL (PostgreSQL)' },
];

function groupRows(group, ctx) {
  const { dir, fx } = ctx;
  switch (group.id) {
    case 'unprotected':
      return [
        { server: '`authts serve`', variant: 'no auth', key: 'authts', start: () => startAuthts(dir, fx, 'none', []) },
        { server: 'Apache httpd', variant: 'no auth', key: 'httpd', start: () => startHttpd(dir, fx, 'none', [], []) },
        { server: 'nginx', variant: 'no auth', key: 'nginx', start: () => startNginx(dir, fx, 'none', []) },
      ].map((r) => ({ ...r, group: 'unprotected', id: `unprotected-${r.key}`, check: 'none' }));
    case 'ldap':
      return ldapRows(dir, fx, ctx.slapd);
    case 'sql':
      return sqlRows(dir, fx, ctx.db);
    case 'jwt':
      return jwtRows(dir, fx);
    default:
      return basicRows(group.id, group.id, dir, fx);
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

const measure = (row) => measureRow(row, SETTINGS, () => treeCpu(row.server.pid), () => treePeakRssMiB(row.server.pid));

/** Before a row is measured: 200 and the file with its credentials; for protected rows 401 without them and with wrong ones. */
async function verifyRow(row) {
  const ok = await get(row.server.port, row.path, row.auth ? { Authorization: row.auth } : {});
  if (ok.status !== 200 || !ok.body.equals(FILE_BODY)) throw new Error(`${row.label}: GET ${row.path} answered ${ok.status} with ${ok.body.length} bytes, expected 200 with the file`);
  if (row.check === 'none') return;
  const refused = async (what, headers) => {
    const r = await get(row.server.port, row.path, headers);
    if (r.status !== 401) throw new Error(`${row.label}: ${what} answered ${r.status}, expected 401`);
  };
  await refused('no credentials', {});
  if (row.check === 'basic') {
    const basic = (u, p) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    await refused('a wrong password', basic(row.user[0], `${row.user[1]}x`));
    await refused('an unknown user', basic('no-such-user', row.user[1]));
  } else {
    for (const [what, token] of Object.entries(row.fx.jwt.bad[row.alg])) await refused(`a ${what} token`, { Authorization: `Bearer ${token}` });
  }
  const again = await get(row.server.port, row.path, { Authorization: row.auth });
  if (again.status !== 200) throw new Error(`${row.label}: the valid credentials answered ${again.status} after the refused ones`);
}

// ---------------------------------------------------------------------------------------------
// Report.

const GROUP_TITLES = Object.fromEntries(GROUPS.map((g) => [g.id, g.title]));

function report(info, v, rows, summary, baseline, elapsed, planned) {
  const defaults = SETTINGS.duration === 3 && SLOW_SETTINGS.duration === 4 && SETTINGS.warmup === 1 && SETTINGS.reps === 3 && SETTINGS.connections === 32;
  const p = v.packages;
  const perGroupBase = GROUPS.map((g) => baseline.byGroup[g.id]).filter(Boolean);
  return `# authts benchmark results: every scenario against every peer

Written by \`npm run bench\` (bench/peers-bench.mjs) on ${info.date}; the run took ${minutes(elapsed)} (planned: ${minutes(planned)} of measuring, budget \`BENCH_MAX_SECONDS\` ${SETTINGS.maxSeconds} s).
How to read and reproduce this: [docs/performance.md](../docs/performance.md). The chart: [docs/img/bench.svg](../docs/img/bench.svg).${defaults ? '' : '\n\n**Non-default settings** (see Method): not comparable with a default run.'}${SETTINGS.only ? `\n\n**Partial run** (\`BENCH_ONLY=${process.env.BENCH_ONLY}\`): only the matching rows.` : ''}

## Machine and versions

| | |
| --- | --- |
| CPU | ${info.cpuModel}, \`nproc\` ${info.nproc} (the load generator shares these cores: see "wrk CPU") |
| kernel | ${info.kernel} |
| memory | ${info.memory} |
| node | ${info.node} |
| authts | ${info.authts} (dist/ built by \`npm run bench\`) |
| Apache httpd | ${v.httpd} (mpm_event, ${Object.entries(HTTPD_MPM).map(([k, val]) => `${k} ${val}`).join(', ')}, \`MaxKeepAliveRequests 0\`, no access log) |
| nginx | ${v.nginx} (\`worker_processes 2\`, \`access_log off\`) |
| OpenLDAP | ${v.slapd} (private instance, test/services/slapd.ts) |
| PostgreSQL | ${v.postgres} (the machine's, on 127.0.0.1:5432; a private database made and dropped by the run) |
| Basic peers | http-auth ${p['http-auth']} (bcryptjs ${p.bcryptjs}), passport ${p.passport} + passport-http ${p['passport-http']} with bcrypt ${p.bcrypt} (native) and apache-md5 ${p['apache-md5']}, express ${p.express} |
| LDAP peer | passport-ldapauth ${p['passport-ldapauth']} (basic-auth ${p['basic-auth']}); authts uses ldapts ${p.ldapts} |
| JWT peers | express-jwt ${p['express-jwt']} (jsonwebtoken ${p.jsonwebtoken}), @fastify/jwt ${p['@fastify/jwt']} (fast-jwt ${p['fast-jwt']}), fastify ${p.fastify}; tokens by jose ${p.jose} |
| SQL | pg ${p.pg} (authts), apr-util's pgsql driver (httpd) |
| load generator | ${v.wrk}, ${SETTINGS.wrkThreads} thread, ${SETTINGS.connections} keep-alive connections |

## Method

Every row serves the same ${FILE_BODY.length}-byte file (\`GET ${PATH}\`) on 127.0.0.1 from its own server process(es), started by
this script and stopped by PID. The scenarios run one after the other; within one, its servers run at once and are measured
round-robin (rep 1 of every row, then rep 2, …): ${SETTINGS.reps} repetitions of a ${SETTINGS.warmup} s warm-up, a pause of the warm-up's p99 latency
(the requests wrk left in flight finish) and ${SETTINGS.duration} s of wrk (${SLOW_SETTINGS.duration} s in the bcrypt cost 10 and 1,000,000-user scenarios, whose
slowest rows serve tens of requests per second), after a first ${SETTINGS.firstWarmup} s warm-up per row. The bare node:http baseline (\`res.end(buffer)\`, no file read) is measured in every scenario, so
that drift over the run shows; "vs bare node:http" divides a row's median by the median of all ${baseline.row.results.length} baseline measurements
(${fmt(baseline.rps)} req/s; per scenario: ${perGroupBase.map((b) => `${b.title.replaceAll('`', '')} ${fmt(b.rps)}`).join(', ')}).

Columns: req/s is the median over the repetitions, with the range; p50 and p99 are medians of wrk's per-repetition
percentiles; "peak RSS" the largest resident size (VmHWM) of all the server's processes (httpd's and nginx's children
included; shared pages counted in each); "server CPU" its CPU time over wall time (100 % = one core); "wrk CPU" the load
generator's own (it runs on the same ${info.nproc} cores); "other CPU" the machine's busy time minus both (this script,
slapd or PostgreSQL for the LDAP and SQL rows, and anything else). A measurement during which "other CPU" exceeded ${pct(OTHER_CPU_RETRY)}
was redone (at most ${MAX_RETRIES_PER_MEASUREMENT} times, while the run fit its budget) — except in the LDAP and SQL scenarios, where the directory or
database is part of the work and its CPU shows there by design.

Before it is measured, every protected row answers 401 without credentials, 401 with a wrong password (or a tampered,
re-signed-claims or wrong-audience token), 401 for an unknown user, and 200 with the file's bytes with the right
credentials. Any answer other than 2xx during a measurement fails the run.

## Results

${contamination(summary.filter((s) => !['ldap', 'sql'].includes(s.row.group)))}

${resultsTable(summary, GROUP_TITLES)}

## Every measurement

${rawTable([baseline.row, ...rows])}
`;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = Date.now();
  const versions = await preflight();
  const info = machineInfo();
  const dir = makeTempDir('authts-bench-');
  await chmod(dir, 0o755);
  // httpd's and nginx's workers (www-data, nobody when we are root) must reach the files.
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) throw new Error(`${d} is not searchable by others: httpd's workers cannot reach ${dir}`);
  }
  ctx.dir = dir;
  const chosen = GROUPS.map((g) => ({ ...g, specs: [] }));
  // The specs only (no server yet), to plan: fixtures are needed for their text, so make a dry context.
  const dry = { dir, fx: { www: '', userFiles: {}, secret: '', jwt: { keys: {}, tokens: {} } }, slapd: { port: 0 }, db: { params: '' } };
  for (const g of chosen) g.specs = groupRows(g, dry).filter((r) => !SETTINGS.only || SETTINGS.only.test(r.id));
  const groups = chosen.filter((g) => g.specs.length > 0);
  const rowCount = groups.reduce((n, g) => n + g.specs.length, 0);
  if (rowCount === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no row id`);
  const planned = groups.reduce((sum, g) => sum + plannedSeconds(g.specs.length, 1, settingsFor(g)), 0);
  process.stdout.write(`bench: ${info.cpuModel}, nproc ${info.nproc}, node ${info.node}; ${versions.httpd}, ${versions.nginx}, ${versions.slapd}, PostgreSQL ${versions.postgres}, ${versions.wrk}\n`);
  process.stdout.write(`bench: ${rowCount} rows in ${groups.length} scenarios; planned ${minutes(planned)} of measuring (budget ${SETTINGS.maxSeconds} s)\n`);
  if (planned + 60 > SETTINGS.maxSeconds) {
    throw new Error(`the plan (${fmt(planned)} s of measuring plus ~60 s of setup) does not fit BENCH_MAX_SECONDS=${SETTINGS.maxSeconds}: raise it or lower BENCH_DURATION/BENCH_REPS`);
  }

  process.stdout.write(`bench: fixtures in ${dir} (user files of 1, 10,000 and 1,000,000 users, keys, tokens)\n`);
  ctx.fx = await makeFixtures(dir);
  const bare = await startBare(ctx.fx);
  const baseRow = { id: 'baseline', group: 'baseline', serverLabel: 'bare node:http', variantLabel: '`res.end(buffer)`', label: 'bare node:http', server: bare, path: PATH, check: 'none', results: [], discarded: [] };
  const baseline = { row: baseRow, byGroup: {} };
  const rows = [];
  let plannedLeft = planned;
  try {
    for (const group of groups) {
      if (group.id === 'ldap') ctx.slapd = await startSlapd();
      if (group.id === 'sql') ctx.db = await createPgDatabase();
      const groupServers = [];
      try {
        const specs = groupRows(group, ctx).filter((r) => !SETTINGS.only || SETTINGS.only.test(r.id));
        const groupRowsList = [];
        for (const spec of specs) {
          const server = await spec.start();
          groupServers.push(server);
          groupRowsList.push({
            ...spec,
            fx: ctx.fx,
            server,
            path: PATH,
            serverLabel: spec.server,
            variantLabel: spec.variant,
            label: `${group.id}: ${spec.server.replaceAll('`', '')}, ${spec.variant.replaceAll('`', '')}`,
            results: [],
            discarded: [],
          });
        }
        process.stdout.write(`\nbench: ${group.title.replaceAll('`', '')}: ${groupServers.map((s) => `${s.name} pid ${s.pid}`).join(', ')}\n`);
        const before = baseRow.results.length;
        const thisGroup = plannedSeconds(groupRowsList.length, 1, settingsFor(group));
        plannedLeft -= thisGroup;
        // LDAP and SQL: slapd's and PostgreSQL's CPU is part of the work, not another process's noise.
        const settings = ['ldap', 'sql'].includes(group.id) ? { ...SETTINGS, maxSeconds: 0 } : settingsFor(group);
        await measureRows([baseRow, ...groupRowsList], settings, { started: startedAt, verify: verifyRow, measure, labelWidth: 78, laterSeconds: plannedLeft });
        const mine = baseRow.results.slice(before);
        baseline.byGroup[group.id] = { title: group.title, rps: median(mine.map((r) => r.rps)) };
        rows.push(...groupRowsList);
      } finally {
        for (const s of groupServers) await stopProcess(s.pid);
        if (group.id === 'ldap') await ctx.slapd?.stop();
        if (group.id === 'sql') await ctx.db?.drop();
        ctx.slapd = undefined;
        ctx.db = undefined;
      }
    }
  } finally {
    await stopAll();
  }
  const elapsed = (Date.now() - startedAt) / 1000;
  const summary = summarize(rows, baseRow);
  baseline.rps = median(baseRow.results.map((r) => r.rps));
  process.stdout.write(`\n${resultsTable(summary, GROUP_TITLES)}\n`);
  // A partial run (BENCH_ONLY) writes its report and chart into a new directory under the OS temp
  // directory instead, so that a smoke run exercises them without replacing a full run's results.
  const outDir = SETTINGS.only ? mkdtempSync(join(tmpdir(), 'authts-bench-partial-')) : undefined;
  const resultsFile = outDir ? join(outDir, 'RESULTS.md') : join(BENCH, 'RESULTS.md');
  const chartFile = outDir ? join(outDir, 'bench.svg') : CHART;
  writeFileSync(resultsFile, report(info, versions, rows, summary, baseline, elapsed, planned));
  const subtitle = `req/s relative to a bare node:http server (${fmt(baseline.rps)} req/s) in the same run, log scale; dark bars: authts; ${info.cpuModel}, ${info.nproc} cores, ${info.date.slice(0, 10)}. Figures: bench/RESULTS.md`;
  writeFileSync(chartFile, renderChart({ title: 'authts and its peers: throughput vs bare node:http', subtitle, groups: chartGroups(summary, GROUPS) }));
  process.stdout.write(
    outDir
      ? `\nbench: BENCH_ONLY set: a partial run; bench/RESULTS.md and docs/img/bench.svg untouched, wrote ${resultsFile} and ${chartFile} (${minutes(elapsed)})\n`
      : `\nbench: wrote bench/RESULTS.md and docs/img/bench.svg (${minutes(elapsed)})\n`,
  );
  const warning = contamination(summary.filter((s) => !['ldap', 'sql'].includes(s.row.group)));
  if (warning) process.stdout.write(`\nbench: ${warning.replaceAll('**', '')}\n`);
  removeTempDir();
}

runBench('bench', main);
