#!/usr/bin/env node
// Basic + LDAP through `authts serve`, in one run on 127.0.0.1, against one private slapd:
//   authts, pooled connections (the default)      vs
//   authts, a new connection per request          (LDAPConnectionPoolTTL 0: never keep one)  vs
//   Apache httpd mod_authnz_ldap, mod_ldap's caches off (LDAPCacheEntries 0, LDAPOpCacheEntries 0)
// over StartTLS and over plain ldap://. authts runs one process (--workers 1) for the pool/no-pool
// comparison, and also as `authts serve` starts by default (--workers N, one per core) against
// httpd, which runs its own processes and threads. Every request is a search as the service account plus a
// bind as the user (no cache anywhere), and must answer 200. The main rows ask for a file
// (/p/ok.txt); the "directory" rows ask for /p/, whose DirectoryIndex is an internal subrequest
// under the same configuration: both servers keep the main request's user (one LDAP check).
// Each measurement records the CPU of the server, slapd and wrk and the machine's other load.
//
//   npm run bench:ldap      (npm run build && node --import tsx bench/ldap-bench.mjs) writes bench/LDAP-RESULTS.md
//
// Needs wrk, slapd + ldap-utils, apache2 (with mod_ldap/mod_authnz_ldap), a built dist/.
// Environment: BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 16), BENCH_REPS (default 3).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlapd, BIND_DN, BIND_PASSWORD, PEOPLE_DN } from '../test/services/slapd.ts';
import { startHttpd } from '../test/services/httpd.ts';
import { freePort } from '../test/services/net.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REPS = Number(process.env.BENCH_REPS ?? 3);
/** What `authts serve` starts by default: one worker per core. */
const WORKERS = availableParallelism();
const AUTH = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function authConfig(slapd, security, poolTtl) {
  const url = security === 'STARTTLS' ? `ldap://127.0.0.1:${slapd.port}/${PEOPLE_DN}?uid STARTTLS` : `ldap://127.0.0.1:${slapd.port}/${PEOPLE_DN}?uid NONE`;
  const [u, mode] = url.split(' ');
  return [
    'LDAPTrustedGlobalCert CA_BASE64 "${CA}"',
    'LDAPCacheEntries 0',
    'LDAPOpCacheEntries 0',
    ...(poolTtl !== undefined ? [`LDAPConnectionPoolTTL ${poolTtl}`] : []),
    '<Location "/p">',
    '  AuthType Basic',
    '  AuthName "bench"',
    '  AuthBasicProvider ldap',
    `  AuthLDAPURL "${u}" ${mode}`,
    `  AuthLDAPBindDN "${BIND_DN}"`,
    `  AuthLDAPBindPassword "${BIND_PASSWORD}"`,
    '  Require valid-user',
    '</Location>',
    '',
  ].join('\n');
}

const TICK = 100; // USER_HZ
/** utime + stime of `pid` and (httpd) its children, in ticks; 0 when it is gone. */
function ticksOf(pid, withChildren) {
  const one = (p) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return 0;
    }
  };
  if (!withChildren) return one(pid);
  let kids = [];
  try {
    kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    // no children
  }
  return one(pid) + kids.reduce((a, k) => a + one(k), 0);
}
/** This process's reaped children (wrk, once it exited), in ticks. */
function reapedTicks() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return Number(f[13]) + Number(f[14]);
}
/** [busy, total] jiffies of the whole machine. */
function machine() {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return [total - v[3] - (v[4] ?? 0), total];
}

/** One wrk run against `peer` with the CPU of everything on the machine meanwhile (100 % = one core). */
function wrk(peer, url, slapdPid) {
  const t0 = process.hrtime.bigint();
  const s0 = ticksOf(peer.pid, peer.children);
  const l0 = ticksOf(slapdPid, false);
  const w0 = reapedTicks();
  const self0 = process.cpuUsage();
  const [b0, a0] = machine();
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '-H', `Authorization: ${AUTH}`, url], { encoding: 'utf8' });
  const [b1, a1] = machine();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const pct = (ticks) => (100 * ticks) / TICK / wall;
  const selfUs = process.cpuUsage(self0);
  const cpu = {
    server: pct(ticksOf(peer.pid, peer.children) - s0),
    slapd: pct(ticksOf(slapdPid, false) - l0),
    wrk: pct(reapedTicks() - w0),
    machine: (200 * (b1 - b0)) / Math.max(1, a1 - a0), // 2 cores: 200 % busy at most
  };
  cpu.other = Math.max(0, cpu.machine - cpu.server - cpu.slapd - cpu.wrk - (100 * (selfUs.user + selfUs.system)) / 1e6 / wall);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const bad = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  // httpd closes a keep-alive connection after 100 requests: wrk counts that as a read error.
  if (bad > 0 || /Socket errors:.*(connect [1-9]|timeout [1-9])/.test(out)) throw new Error(`${url}: ${bad} non-2xx answers\n${out}`);
  return { rps, cpu };
}

async function startAuthts(dir, config, caFile, workers = 1) {
  const port = await freePort();
  const file = join(dir, `authts-${port}.conf`);
  await writeFile(file, `Listen 127.0.0.1:${port}\nDocumentRoot "${join(dir, 'htdocs')}"\n${config}`);
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'authts.js'), 'serve', '-f', file, '--workers', String(workers), '-D', `CA=${caFile}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/p/`, { headers: { authorization: AUTH } });
      // With workers, the CPU is the primary's and its workers' together.
      if (res.status === 200) return { url: `http://127.0.0.1:${port}/p/`, pid: child.pid, children: workers > 1, stop: () => stopChild(child) };
    } catch {
      // not yet listening
    }
    if (child.exitCode !== null) break;
  }
  await stopChild(child);
  throw new Error(`authts serve did not start: ${err}`);
}

/** SIGTERM to the child we started (by its PID), then wait for it to be gone; SIGKILL after 10 s. */
async function stopChild(child) {
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  if (gone()) return;
  child.kill('SIGTERM');
  for (let i = 0; i < 200 && !gone(); i++) await sleep(50);
  if (!gone()) {
    child.kill('SIGKILL');
    while (!gone()) await sleep(50);
  }
}

const loadBefore = loadavg()[0];
const slapd = await startSlapd();
const dir = await mkdtemp(join(tmpdir(), 'authts-ldap-bench-'));
const rows = [];
try {
  await mkdir(join(dir, 'htdocs', 'p'), { recursive: true });
  await writeFile(join(dir, 'htdocs', 'p', 'index.html'), 'ok\n');
  await writeFile(join(dir, 'htdocs', 'p', 'ok.txt'), 'ok\n');
  for (const security of ['STARTTLS', 'NONE']) {
    const peers = [
      { name: 'authts, pooled connections', start: () => startAuthts(dir, authConfig(slapd, security), slapd.caFile) },
      { name: 'authts, new connection per request (LDAPConnectionPoolTTL 0)', start: () => startAuthts(dir, authConfig(slapd, security, 0), slapd.caFile) },
      {
        name: `authts --workers ${WORKERS} (the default here), pooled connections`,
        start: () => startAuthts(dir, authConfig(slapd, security), slapd.caFile, WORKERS),
      },
      {
        name: 'httpd 2.4 mod_authnz_ldap, caches off',
        start: async () => {
          const httpd = await startHttpd({
            config: `Define CA "\${AUTHTS_HTTPD_DIR}/ca.crt"\n${authConfig(slapd, security)}`,
            modules: ['ldap', 'authnz_ldap'],
            files: { 'ca.crt': execFileSync('cat', [slapd.caFile]), 'htdocs/p/index.html': 'ok\n', 'htdocs/p/ok.txt': 'ok\n' },
          });
          return { url: `${httpd.url}/p/`, pid: httpd.pid, children: true, stop: () => httpd.stop() };
        },
      },
    ];
    // All three run at once and are measured round-robin (rep 1 of each, then rep 2…), so that
    // load from elsewhere on the machine spreads over the rows instead of hitting one.
    const started = [];
    const running = [];
    try {
      for (const peer of peers) started.push({ peer, ...(await peer.start()) });
      // Rows: every peer on a file; the pooled authts (both) and httpd on the directory too.
      for (const r of started) running.push({ ...r, what: 'file', target: `${r.url}ok.txt`, samples: [] });
      for (const r of [started[0], started[2], started[3]]) running.push({ ...r, what: 'directory', target: r.url, samples: [] });
      for (const r of running) wrk(r, r.target, slapd.pid); // warm-up (also fails the run on any non-200)
      for (let i = 0; i < REPS; i++) for (const r of running) r.samples.push(wrk(r, r.target, slapd.pid));
    } finally {
      for (const r of started) await r.stop();
    }
    for (const r of running) {
      const sorted = [...r.samples].sort((a, b) => a.rps - b.rps);
      const median = sorted[Math.floor(sorted.length / 2)];
      rows.push({ security, what: r.what, name: r.peer.name, rps: median.rps, cpu: median.cpu, samples: r.samples });
      console.log(
        `${security.padEnd(8)} ${r.what.padEnd(9)} ${r.peer.name.padEnd(64)} ${median.rps.toFixed(0).padStart(6)} req/s  (${r.samples.map((x) => x.rps.toFixed(0)).join(', ')})` +
          `  server ${median.cpu.server.toFixed(0)} % slapd ${median.cpu.slapd.toFixed(0)} % wrk ${median.cpu.wrk.toFixed(0)} % other ${median.cpu.other.toFixed(0)} %`,
      );
    }
  }
} finally {
  await slapd.stop();
  await rm(dir, { recursive: true, force: true });
}

const where = (r) => `${r.security === 'STARTTLS' ? 'ldap:// + StartTLS' : 'ldap:// plain'}, ${r.what === 'file' ? '/p/ok.txt' : '/p/ (DirectoryIndex)'}`;
const lines = [
  '# LDAP bench: Basic + `AuthBasicProvider ldap` through `authts serve`',
  '',
  `Written by \`npx tsx bench/ldap-bench.mjs\` on ${new Date().toISOString().slice(0, 10)}: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version},`,
  `wrk -t1 -c${CONNECTIONS} -d${DURATION}s, median of ${REPS}, measured round-robin after a warm-up; one private slapd (OpenLDAP 2.5) on the same machine.`,
  'Every request: a search as the service account and a bind as alice; no cache anywhere (mod_ldap: `LDAPCacheEntries 0`, `LDAPOpCacheEntries 0`). Every answer was 200.',
  '`/p/ok.txt` is a file, `/p/` the directory, served through its DirectoryIndex subrequest: one LDAP check per request in both servers (a subrequest under the same configuration keeps the main request\'s user).',
  `Machine load (1-minute load average) at the start: ${loadBefore.toFixed(1)}, at the end: ${loadavg()[0].toFixed(1)}.`,
  'CPU columns (of the median sample), 100 % = one core of 2: the server (authts: its process, or its primary and workers; httpd: parent and children), slapd, wrk, and "other": the machine\'s busy time minus those three and this script — other sessions\' processes; near 0 on a quiet machine. µs/req: server CPU time per request.',
  '',
  '| directory connection, URL | peer | req/s | samples | server CPU | µs/req | slapd CPU | wrk CPU | other CPU |',
  '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${where(r)} | ${r.name} | ${r.rps.toFixed(0)} | ${r.samples.map((s) => s.rps.toFixed(0)).join(', ')} | ${r.cpu.server.toFixed(0)} % | ${((r.cpu.server * 1e4) / r.rps).toFixed(0)} | ${r.cpu.slapd.toFixed(0)} % | ${r.cpu.wrk.toFixed(0)} % | ${r.cpu.other.toFixed(0)} % |`,
  ),
  '',
];
for (const security of ['STARTTLS', 'NONE']) {
  const get = (what, i) => rows.filter((r) => r.security === security && r.what === what)[i];
  const [pooled, fresh, pooledWorkers, httpd] = [get('file', 0), get('file', 1), get('file', 2), get('file', 3)];
  const [dirPooled, dirPooledWorkers, dirHttpd] = [get('directory', 0), get('directory', 1), get('directory', 2)];
  if (pooled && fresh && pooledWorkers && httpd && dirPooled && dirPooledWorkers && dirHttpd) {
    const x = (a, b) => `${(a.rps / b.rps).toFixed(2)}×`;
    lines.push(
      `${security === 'STARTTLS' ? 'StartTLS' : 'Plain'}: pooled / new connection (one process each) = ${(pooled.rps / fresh.rps).toFixed(1)}×; ` +
        `vs httpd: one process ${x(pooled, httpd)} (file), ${x(dirPooled, dirHttpd)} (directory); ` +
        `--workers ${WORKERS} ${x(pooledWorkers, httpd)} (file), ${x(dirPooledWorkers, dirHttpd)} (directory).`,
      '',
    );
  }
}
lines.push('What changed between runs, and why: [docs/providers/ldap.md](../docs/providers/ldap.md).', '');
writeFileSync(join(ROOT, 'bench', 'LDAP-RESULTS.md'), lines.join('\n'));
console.log(lines.slice(-4).join('\n'));
