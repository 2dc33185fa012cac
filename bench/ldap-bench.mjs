#!/usr/bin/env node
// Basic + LDAP through `authts serve`, in one run on 127.0.0.1, against one private slapd:
//   authts, pooled connections (the default)      vs
//   authts, a new connection per request          (LDAPConnectionPoolTTL 0: never keep one)  vs
//   Apache httpd mod_authnz_ldap, mod_ldap's caches off (LDAPCacheEntries 0, LDAPOpCacheEntries 0)
// over StartTLS and over plain ldap://. Every request is a search as the service account plus a
// bind as the user (no cache anywhere), and must answer 200.
//
//   npm run build && npx tsx bench/ldap-bench.mjs      writes bench/LDAP-RESULTS.md
//
// Needs wrk, slapd + ldap-utils, apache2 (with mod_ldap/mod_authnz_ldap), a built dist/.
// Environment: BENCH_DURATION (s, default 5), BENCH_CONNECTIONS (default 16), BENCH_REPS (default 3).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlapd, BIND_DN, BIND_PASSWORD, PEOPLE_DN } from '../test/services/slapd.ts';
import { startHttpd, freePort } from '../test/services/httpd.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REPS = Number(process.env.BENCH_REPS ?? 3);
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

function wrk(url) {
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '-H', `Authorization: ${AUTH}`, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const bad = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  // httpd closes a keep-alive connection after 100 requests: wrk counts that as a read error.
  if (bad > 0 || /Socket errors:.*(connect [1-9]|timeout [1-9])/.test(out)) throw new Error(`${url}: ${bad} non-2xx answers\n${out}`);
  return rps;
}

async function startAuthts(dir, config, caFile) {
  const port = await freePort();
  const file = join(dir, `authts-${port}.conf`);
  await writeFile(file, `Listen 127.0.0.1:${port}\nDocumentRoot "${join(dir, 'htdocs')}"\n${config}`);
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'authts.js'), 'serve', '-f', file, '-D', `CA=${caFile}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/p/`, { headers: { authorization: AUTH } });
      if (res.status === 200) return { url: `http://127.0.0.1:${port}/p/`, stop: () => stopChild(child) };
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
  for (const security of ['STARTTLS', 'NONE']) {
    const peers = [
      { name: 'authts, pooled connections', start: () => startAuthts(dir, authConfig(slapd, security), slapd.caFile) },
      { name: 'authts, new connection per request (LDAPConnectionPoolTTL 0)', start: () => startAuthts(dir, authConfig(slapd, security, 0), slapd.caFile) },
      {
        name: 'httpd 2.4 mod_authnz_ldap, caches off',
        start: async () => {
          const httpd = await startHttpd({
            config: `Define CA "\${AUTHTS_HTTPD_DIR}/ca.crt"\n${authConfig(slapd, security)}`,
            modules: ['ldap', 'authnz_ldap'],
            files: { 'ca.crt': execFileSync('cat', [slapd.caFile]), 'htdocs/p/index.html': 'ok\n' },
          });
          return { url: `${httpd.url}/p/`, stop: () => httpd.stop() };
        },
      },
    ];
    // All three run at once and are measured round-robin (rep 1 of each, then rep 2…), so that
    // load from elsewhere on the machine spreads over the rows instead of hitting one.
    const running = [];
    try {
      for (const peer of peers) running.push({ peer, ...(await peer.start()), samples: [] });
      for (const r of running) wrk(r.url); // warm-up (also fails the run on any non-200)
      for (let i = 0; i < REPS; i++) for (const r of running) r.samples.push(wrk(r.url));
    } finally {
      for (const r of running) await r.stop();
    }
    for (const r of running) {
      const sorted = [...r.samples].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      rows.push({ security, name: r.peer.name, rps: median, samples: r.samples });
      console.log(`${security.padEnd(8)} ${r.peer.name.padEnd(64)} ${median.toFixed(0).padStart(6)} req/s  (${r.samples.map((x) => x.toFixed(0)).join(', ')})`);
    }
  }
} finally {
  await slapd.stop();
  await rm(dir, { recursive: true, force: true });
}

const lines = [
  '# LDAP bench: Basic + `AuthBasicProvider ldap` through `authts serve`',
  '',
  `Written by \`npx tsx bench/ldap-bench.mjs\` on ${new Date().toISOString().slice(0, 10)}: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version},`,
  `wrk -t1 -c${CONNECTIONS} -d${DURATION}s, median of ${REPS}, measured round-robin after a warm-up; one private slapd (OpenLDAP 2.5) on the same machine.`,
  'Every request: a search as the service account and a bind as alice; no cache anywhere (mod_ldap: `LDAPCacheEntries 0`, `LDAPOpCacheEntries 0`). Every answer was 200.',
  `Machine load (1-minute load average) at the start: ${loadBefore.toFixed(1)}, at the end: ${loadavg()[0].toFixed(1)} (2 cores: above ~3, other processes were competing with the three peers).`,
  '',
  '| directory connection | peer | req/s | samples |',
  '| --- | --- | ---: | --- |',
  ...rows.map((r) => `| ${r.security === 'STARTTLS' ? 'ldap:// + StartTLS' : 'ldap:// plain'} | ${r.name} | ${r.rps.toFixed(0)} | ${r.samples.map((s) => s.toFixed(0)).join(', ')} |`),
  '',
];
for (const security of ['STARTTLS', 'NONE']) {
  const [pooled, fresh, httpd] = rows.filter((r) => r.security === security);
  if (pooled && fresh && httpd) {
    lines.push(`${security === 'STARTTLS' ? 'StartTLS' : 'Plain'}: pooled / new connection = ${(pooled.rps / fresh.rps).toFixed(1)}×; pooled / httpd = ${(pooled.rps / httpd.rps).toFixed(2)}×.`, '');
  }
}
writeFileSync(join(ROOT, 'bench', 'LDAP-RESULTS.md'), lines.join('\n'));
console.log(lines.slice(-4).join('\n'));
