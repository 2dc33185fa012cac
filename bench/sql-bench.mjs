#!/usr/bin/env node
// Basic + `AuthBasicProvider dbd` through `authts serve`: pooled connections (DBDPersist On)
// against a new connection per request (DBDPersist Off), on the machine's PostgreSQL and on a
// SQLite file. One run; writes bench/SQL-RESULTS.md.
//
//   npm run bench:sql       (npm run build && node bench/sql-bench.mjs)
//
// Needs: wrk, PostgreSQL on 127.0.0.1:5432 (trust for postgres), a built dist/. A database of
// its own is created and dropped. The hash is {SHA} (cheap) so that the database is what is
// measured. Environment: BENCH_DURATION (s, default 4), BENCH_CONNECTIONS (default 16).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { freePort } from './lib.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(ROOT, 'dist', 'cli', 'authts.js');
const DURATION = Number(process.env.BENCH_DURATION ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const HASH = `{SHA}${createHash('sha1').update('bench-pw').digest('base64')}`;

async function startServe(conf) {
  const child = spawn(process.execPath, [CLI, 'serve', '-f', conf, '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`authts serve did not start: ${err}`)), 15_000);
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('authts serve listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`authts serve exited: ${err}`)));
  });
  return child;
}

async function stop(child) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function wrk(url) {
  const auth = Buffer.from('bench:bench-pw').toString('base64');
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${DURATION}s`, '-H', `Authorization: Basic ${auth}`, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const latency = /Latency\s+(\S+)/.exec(out)?.[1];
  return { rps, non2xx, latency };
}

const dir = await mkdtemp(join(tmpdir(), 'authts-sql-bench-'));
const dbName = `authts_bench_${process.pid}`;
const admin = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'postgres' });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const rows = [];
try {
  const c = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: dbName });
  await c.connect();
  await c.query('CREATE TABLE users (username VARCHAR(255) PRIMARY KEY, password_hash VARCHAR(255))');
  await c.query('INSERT INTO users VALUES ($1, $2)', ['bench', HASH]);
  await c.end();
  const sqliteFile = join(dir, 'users.db');
  const s = new Database(sqliteFile);
  s.exec('CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT)');
  s.prepare('INSERT INTO users VALUES (?, ?)').run('bench', HASH);
  s.close();
  await writeFile(join(dir, 'index.html'), 'ok\n');

  const cases = [
    ['PostgreSQL', 'pooled (DBDPersist On, DBDMax 8)', 'pgsql', `host=127.0.0.1 user=postgres dbname=${dbName}`, 'DBDPersist On\nDBDMin 2\nDBDKeep 4\nDBDMax 8'],
    ['PostgreSQL', 'new connection per request (DBDPersist Off)', 'pgsql', `host=127.0.0.1 user=postgres dbname=${dbName}`, 'DBDPersist Off\nDBDMin 0\nDBDKeep 0\nDBDMax 8'],
    ['SQLite', 'pooled workers (DBDMax 2)', 'sqlite3', sqliteFile, 'DBDPersist On\nDBDMin 1\nDBDKeep 2\nDBDMax 2'],
  ];
  for (const [db, mode, driver, params, limits] of cases) {
    const port = await freePort();
    const conf = join(dir, `${driver}-${rows.length}.conf`);
    await writeFile(
      conf,
      `Listen 127.0.0.1:${port}\nDocumentRoot "${dir}"\nDBDriver ${driver}\nDBDParams "${params}"\n${limits}\n` +
        `<Location "/">\n  AuthType Basic\n  AuthName bench\n  AuthBasicProvider dbd\n` +
        `  AuthDBDUserPWQuery "SELECT password_hash FROM users WHERE username = %s"\n  Require valid-user\n</Location>\n`,
    );
    const child = await startServe(conf);
    try {
      wrk(`http://127.0.0.1:${port}/index.html`); // warm-up (result discarded)
      const r = wrk(`http://127.0.0.1:${port}/index.html`);
      rows.push({ db, mode, ...r });
      console.log(db, mode, r);
    } finally {
      await stop(child);
    }
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}

const pgPooled = rows[0].rps;
const pgOff = rows[1].rps;
const md = `# SQL bench: Basic + \`AuthBasicProvider dbd\` through \`authts serve\`

Written by \`node bench/sql-bench.mjs\` on ${new Date().toISOString().slice(0, 10)}: ${availableParallelism()} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version},
wrk -t1 -c${CONNECTIONS} -d${DURATION}s after a warm-up of the same length; one run. PostgreSQL ${'15'} on the same machine (trust
authentication over 127.0.0.1), SQLite file read-only in worker threads. Every request: one
\`SELECT password_hash FROM users WHERE username = $1\` and a \`{SHA}\` check (cheap on purpose: the database is what is measured).

| database | connections | req/s | mean latency | non-2xx |
| --- | --- | ---: | ---: | ---: |
${rows.map((r) => `| ${r.db} | ${r.mode} | ${Math.round(r.rps)} | ${r.latency} | ${r.non2xx} |`).join('\n')}

PostgreSQL: pooled / new connection per request = ${(pgPooled / pgOff).toFixed(1)}×.
`;
writeFileSync(join(ROOT, 'bench', 'SQL-RESULTS.md'), md);
console.log(md);
