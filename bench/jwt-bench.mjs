#!/usr/bin/env node
// Bearer JWT through `authts serve` against the unprotected `authts serve` and against the Node
// middlewares (express-jwt, @fastify/jwt), in one run, on 127.0.0.1. Issue 7's target: Bearer
// ES256 and RS256 at ≥ 80 % of the unprotected throughput, and ahead of both peers. See
// docs/providers/jwt.md ("Performance") for the method and the last results.
//
//   npm run build && node bench/jwt-bench.mjs      every row; writes bench/JWT-RESULTS.md
//   BENCH_DURATION=2 BENCH_REPS=1 node bench/jwt-bench.mjs   a quick look (the file is still
//                                                              written, with its settings)
//
// Needs: wrk (Debian: apt-get install wrk), a built dist/ (npm run build), and the peers'
// packages (devDependencies: express, express-jwt, fastify, @fastify/jwt, send, jose). A missing
// one fails the run: no row is ever dropped.
//
// Environment: BENCH_DURATION (s per measurement, default 4), BENCH_WARMUP (s before each
// measurement, default 1), BENCH_REPS (default 3), BENCH_CONNECTIONS (default 32),
// BENCH_MAX_SECONDS (default 420: redoing measurements disturbed by other processes stops when
// the run would exceed it), BENCH_ONLY (regex on row ids: a partial run, JWT-RESULTS.md not
// written), BENCH_KEEP=1 keeps the temp directory, WRK_BIN overrides wrk's path.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  AUTHTS_CLI, BENCH, ROOT, WRK_BIN, contamination, fmt, freePort, get, settingsFromEnv, machineInfo, makeTempDir, measureRow, measureRows,
  onSignalsStop, pct, processCpu, rawTable, removeTempDir, rssMiB, spawnTracked, startedLine, stopAll, summarize, table as resultsTable,
  waitListening as waitPath, wasInterrupted, MAX_RETRIES_PER_MEASUREMENT, OTHER_CPU_RETRY,
} from './lib.mjs';

const require = createRequire(join(ROOT, 'package.json'));

const SETTINGS = settingsFromEnv(420);

const ISSUER = 'https://issuer.bench.example';
const AUDIENCE = 'bench-api';
/** The file every row serves: 256 bytes of text. */
const FILE_BODY = Buffer.from('authts jwt bench: a small static file served by every row of the table.\n'.repeat(4).slice(0, 255) + '\n');

onSignalsStop('jwt-bench');

// ---------------------------------------------------------------------------------------------
// Preflight: every peer must be here.

const PEER_PACKAGES = ['jose', 'send', 'express', 'express-jwt', 'jsonwebtoken', 'fastify', '@fastify/jwt', 'fast-jwt'];

function packageVersion(name) {
  // Some packages do not export ./package.json: find it beside the resolved entry point.
  let dir = dirname(require.resolve(name));
  while (dir !== dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.name === name) return pkg.version;
    }
    dir = dirname(dir);
  }
  throw new Error(`no package.json for ${name}`);
}

function preflight() {
  const problems = [];
  if (process.platform !== 'linux') problems.push('the bench reads /proc: it runs on Linux only');
  if (!existsSync(AUTHTS_CLI)) problems.push(`${AUTHTS_CLI} is missing: run npm run build`);
  const versions = {};
  for (const name of PEER_PACKAGES) {
    try {
      versions[name] = packageVersion(name);
    } catch {
      problems.push(`the package ${name} is missing: npm install (it is a devDependency)`);
    }
  }
  const r = spawnSync(WRK_BIN, ['-v'], { encoding: 'utf8' });
  if (r.error) problems.push(`wrk not found (${WRK_BIN}: ${r.error.message}): apt-get install wrk (or set WRK_BIN)`);
  if (problems.length > 0) throw new Error(`jwt-bench: cannot run:\n  - ${problems.join('\n  - ')}`);
  versions.wrk = `${r.stdout}${r.stderr}`.split('\n')[0].replace(/\s+Copyright.*$/, '').trim();
  return versions;
}

// ---------------------------------------------------------------------------------------------
// Fixtures: keys, tokens, the file.

async function makeFixtures(dir) {
  const { exportSPKI, generateKeyPair, SignJWT } = await import('jose');
  const www = join(dir, 'www');
  await mkdir(join(www, 'p'), { recursive: true });
  await writeFile(join(www, 'p', 'file.txt'), FILE_BODY);
  const now = Math.floor(Date.now() / 1000);
  const fixtures = { www, file: join(www, 'p', 'file.txt'), keys: {}, tokens: {}, bad: {} };
  for (const alg of ['ES256', 'RS256']) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const pem = join(dir, `${alg}.pem`);
    await writeFile(pem, await exportSPKI(publicKey));
    fixtures.keys[alg] = pem;
    const sign = (claims) =>
      new SignJWT({ sub: 'bench-user', scope: 'read', ...claims })
        .setProtectedHeader({ alg, typ: 'JWT', kid: `bench-${alg}` })
        .setIssuer(ISSUER)
        .setIssuedAt(now)
        .setExpirationTime(now + 3 * 3600)
        .sign(privateKey);
    const token = await sign({ aud: AUDIENCE });
    fixtures.tokens[alg] = token;
    const [h, p, s] = token.split('.');
    const flip = s[10] === 'A' ? 'B' : 'A';
    fixtures.bad[alg] = {
      tampered: `${h}.${p}.${s.slice(0, 10)}${flip}${s.slice(11)}`,
      escalated: `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: now + 3600 })).toString('base64url')}.${s}`,
      wrongAudience: await sign({ aud: 'another-api' }),
    };
  }
  return fixtures;
}

// ---------------------------------------------------------------------------------------------
// Servers.

const waitListening = (name, port, handle) => waitPath(name, port, handle, '/p/file.txt');

/** `authts serve` with one protection: `none`, or Bearer with `alg` and the cache on or off. */
async function startAuthts(dir, fx, alg, cache) {
  const port = await freePort();
  const id = alg === undefined ? 'none' : `${alg}-${cache ? 'cache' : 'nocache'}`;
  const conf = join(dir, `authts-${id}.conf`);
  const lines = ['# generated by bench/jwt-bench.mjs', `Listen 127.0.0.1:${port}`, `DocumentRoot "${fx.www}"`];
  if (alg !== undefined) {
    lines.push(
      '<Location "/p">',
      '    AuthType Bearer',
      '    AuthName "bench"',
      `    AuthTsJwtKeys "${fx.keys[alg]}"`,
      `    AuthTsJwtAlgorithms ${alg}`,
      `    AuthTsJwtIssuer ${ISSUER}`,
      `    AuthTsJwtAudience ${AUDIENCE}`,
      `    AuthTsJwtCache ${cache ? 'On' : 'Off'}`,
      '    Require valid-user',
      '</Location>',
    );
  }
  await writeFile(conf, `${lines.join('\n')}\n`);
  const name = `authts serve (${id})`;
  const handle = spawnTracked(name, process.execPath, [AUTHTS_CLI, 'serve', '-f', conf, '--workers', '1'], { cwd: ROOT });
  await waitListening(name, port, handle);
  return { name, pid: handle.child.pid, port, handle };
}

/** express + express-jwt or fastify + @fastify/jwt (bench/jwt-peers.mjs). */
async function startPeer(kind, fx, alg, cache) {
  const port = await freePort();
  const name = `${kind} (${alg ?? 'none'}${cache ? ', cache' : ''})`;
  const args = [join(BENCH, 'jwt-peers.mjs'), kind, fx.file, String(port), alg ?? 'none'];
  if (alg !== undefined) args.push(fx.keys[alg], ISSUER, AUDIENCE, ...(cache ? ['cache'] : []));
  const handle = spawnTracked(name, process.execPath, args, { cwd: ROOT });
  await waitListening(name, port, handle);
  return { name, pid: handle.child.pid, port, handle };
}

// ---------------------------------------------------------------------------------------------
// Measuring (bench/lib.mjs, as bench/serve-bench.mjs: wrk with wrk-report.lua, CPU from /proc).

/** One measurement of a row: wrk for SETTINGS.duration s, the server's CPU and memory from /proc. */
const measure = (row) => measureRow(row, SETTINGS, () => processCpu(row.server.pid), () => rssMiB(row.server.pid));

/** Before a row is measured: the file with the token; and for protected rows 401 without it and for every bad token. */
async function verifyRow(row, fx) {
  const ok = await get(row.server.port, row.path, row.auth ? { Authorization: row.auth } : {});
  if (ok.status !== 200 || !ok.body.equals(FILE_BODY)) throw new Error(`${row.label}: GET ${row.path} answered ${ok.status} with ${ok.body.length} bytes, expected 200 with the file`);
  if (!row.alg) return;
  const anon = await get(row.server.port, row.path);
  if (anon.status !== 401 || !/^Bearer realm="bench"/.test(anon.headers['www-authenticate'] ?? '')) {
    throw new Error(`${row.label}: no token answered ${anon.status} (${anon.headers['www-authenticate']}), expected 401 with a Bearer challenge`);
  }
  // After the valid token (cached where a cache is on): tampered tokens sharing its prefix.
  for (const [what, token] of Object.entries(fx.bad[row.alg])) {
    const bad = await get(row.server.port, row.path, { Authorization: `Bearer ${token}` });
    if (bad.status !== 401) throw new Error(`${row.label}: a ${what} token answered ${bad.status}, expected 401`);
  }
  const again = await get(row.server.port, row.path, { Authorization: row.auth });
  if (again.status !== 200) throw new Error(`${row.label}: the valid token answered ${again.status} after the bad ones`);
}

// ---------------------------------------------------------------------------------------------
// Report.

const table = (summary) => resultsTable(summary, 'vs unprotected `authts serve`');

function targets(summary) {
  const by = (id) => summary.find((s) => s.row.id === id);
  const mark = (ok) => (ok ? '**met**' : '**not met**');
  const overlap = (a, b) => a.min <= b.max && b.min <= a.max;
  const noise = (a, b) => (overlap(a, b) ? ' (min – max ranges overlap: within this run\'s noise)' : '');
  const none = by('authts-none');
  const lines = ['| target | measured | result |', '| --- | --- | --- |'];
  for (const alg of ['ES256', 'RS256']) {
    const cached = by(`authts-${alg}-cache`);
    const uncached = by(`authts-${alg}-nocache`);
    const express = by(`express-${alg}`);
    const fastify = by(`fastify-${alg}`);
    const fastifyCached = by(`fastify-${alg}-cache`);
    if (!cached || !uncached || !express || !fastify || !fastifyCached || !none) continue;
    const r = cached.rps / none.rps;
    lines.push(`| ${alg}, \`AuthTsJwtCache On\` (the default) ≥ 80 % of unprotected \`authts serve\` | ${fmt(cached.rps)} / ${fmt(none.rps)} req/s = ${pct(r)} | ${mark(r >= 0.8)}${r < 0.8 ? noise(cached, none) : ''} |`);
    lines.push(`| ${alg}, \`AuthTsJwtCache Off\` (every request verified), for reference | ${fmt(uncached.rps)} / ${fmt(none.rps)} req/s = ${pct(uncached.rps / none.rps)} | — |`);
    for (const [peer, label] of [[express, 'express-jwt'], [fastify, '@fastify/jwt (no cache, its default)'], [fastifyCached, '@fastify/jwt with fast-jwt\'s cache']]) {
      const ahead = cached.rps > peer.rps;
      lines.push(`| ${alg}: \`authts serve\` (cache On) ahead of ${label} | ${fmt(cached.rps)} vs ${fmt(peer.rps)} req/s (${fmt(cached.rps / peer.rps, 2)}×) | ${mark(ahead)}${noise(cached, peer)} |`);
    }
    for (const [peer, label] of [[express, 'express-jwt'], [fastify, '@fastify/jwt']]) {
      lines.push(`| ${alg}, like for like without caches: \`authts serve\` (cache Off) vs ${label} | ${fmt(uncached.rps)} vs ${fmt(peer.rps)} req/s (${fmt(uncached.rps / peer.rps, 2)}×) | ${uncached.rps > peer.rps ? 'ahead' : 'behind'}${noise(uncached, peer)} |`);
    }
  }
  return lines.join('\n');
}


function report(info, rows, summary, elapsed) {
  const defaults = SETTINGS.duration === 4 && SETTINGS.warmup === 1 && SETTINGS.reps === 3 && SETTINGS.connections === 32;
  const v = info.versions;
  return `# Bearer JWT benchmark results

Written by \`node bench/jwt-bench.mjs\` on ${info.date}; the run took ${fmt(elapsed)} s.
How to read and reproduce this: [docs/providers/jwt.md](../docs/providers/jwt.md#performance).${defaults ? '' : '\n\n**Non-default settings** (see below): not comparable with a default run.'}

## Machine

| | |
| --- | --- |
| \`nproc\` | ${info.nproc} (shared: other processes may run; see "other CPU") |
| CPU | ${info.cpuModel} |
| kernel | ${info.kernel} |
| memory | ${info.memory} |
| node | ${info.node} |
| authts | ${info.authts} (dist/ as built by \`npm run build\`), jose ${v.jose} |
| express peer | express ${v.express}, express-jwt ${v['express-jwt']} (jsonwebtoken ${v.jsonwebtoken}), send ${v.send} |
| fastify peer | fastify ${v.fastify}, @fastify/jwt ${v['@fastify/jwt']} (fast-jwt ${v['fast-jwt']}), send ${v.send} |
| load generator | ${v.wrk}, ${SETTINGS.wrkThreads} thread, ${SETTINGS.connections} keep-alive connections |

## Method

Every row serves the same ${FILE_BODY.length}-byte file (\`GET /p/file.txt\`) on 127.0.0.1, each server in its own process
(started by this script, stopped by PID). Protected rows check \`Authorization: Bearer <token>\` — one token per algorithm,
minted at start with jose (\`iss\`, \`aud\`, \`iat\`, \`exp\` 3 h ahead, \`kid\`, \`typ: JWT\`; ES256 on P-256, RS256 with a
2048-bit key) — against one public key from a PEM file, with the same rules everywhere: the algorithm allow-list (that one
algorithm), \`iss\`, \`aud\` and \`exp\`. authts: \`AuthType Bearer\`, \`AuthTsJwtKeys\`, \`AuthTsJwtAlgorithms\`, \`AuthTsJwtIssuer\`,
\`AuthTsJwtAudience\`, \`Require valid-user\`, with \`AuthTsJwtCache On\` (the default) or \`Off\`. express: express-jwt with the
key as a KeyObject made once. fastify: @fastify/jwt's \`request.jwtVerify()\` in an \`onRequest\` hook, fast-jwt's cache off (its
default) or on (\`verify: { cache: true }\`). The peers serve the file with \`send\`, the library \`authts serve\` uses.
wrk sends the same token on every request: with a cache, every request after the first is a cache hit — the case a cache
is for (a client reusing its access token); with the cache off, each request is a signature check.

Each measurement is a ${SETTINGS.warmup} s warm-up (discarded) then ${SETTINGS.duration} s of \`wrk\`; every row is measured ${SETTINGS.reps} times,
round-robin over the rows, after a first ${SETTINGS.firstWarmup} s warm-up per row. The table gives medians; "vs unprotected" divides by
row 1's median from the same run. "server CPU" is the server's CPU time over wall time (100 % = one core), "µs/req" that CPU time
per request; "wrk CPU" the load generator's own; "other CPU" the machine's busy time minus both: whatever else ran (near 0 on a
quiet machine). A measurement during which it exceeded ${pct(OTHER_CPU_RETRY)} of a core is redone (at most ${MAX_RETRIES_PER_MEASUREMENT} times, while the run stays
within ${SETTINGS.maxSeconds} s; discarded ones are listed at the end). Before measuring, every protected row is checked: 200 and the file's
bytes with the token; 401 and a Bearer challenge without it; 401 for a token with one signature character changed, for the
valid signature under other claims, and for a wrong audience (after the valid token, so after it was cached); 200 again with
the valid token. Any non-2xx answer during a run fails the bench.

## Results

${contamination(summary)}

${table(summary)}

## Targets (issue 7)

${targets(summary)}

## Every measurement

${rawTable(rows)}
`;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const versions = preflight();
  const info = { ...machineInfo(), versions };
  const tempDir = makeTempDir('authts-jwt-bench-');
  process.stdout.write(`jwt-bench: ${info.cpuModel}, nproc ${info.nproc}, node ${info.node}, ${versions.wrk}\n`);
  const fx = await makeFixtures(tempDir);

  const specs = [
    { id: 'authts-none', serverLabel: '`authts serve`', protectionLabel: 'unprotected', start: () => startAuthts(tempDir, fx) },
  ];
  for (const alg of ['ES256', 'RS256']) {
    specs.push(
      { id: `authts-${alg}-cache`, serverLabel: '`authts serve`', protectionLabel: `Bearer ${alg}, \`AuthTsJwtCache On\` (default)`, alg, start: () => startAuthts(tempDir, fx, alg, true) },
      { id: `authts-${alg}-nocache`, serverLabel: '`authts serve`', protectionLabel: `Bearer ${alg}, \`AuthTsJwtCache Off\``, alg, start: () => startAuthts(tempDir, fx, alg, false) },
    );
  }
  specs.push({ id: 'express-none', serverLabel: 'express', protectionLabel: 'unprotected', start: () => startPeer('express', fx) });
  for (const alg of ['ES256', 'RS256']) specs.push({ id: `express-${alg}`, serverLabel: 'express + express-jwt', protectionLabel: `Bearer ${alg}`, alg, start: () => startPeer('express', fx, alg) });
  specs.push({ id: 'fastify-none', serverLabel: 'fastify', protectionLabel: 'unprotected', start: () => startPeer('fastify', fx) });
  for (const alg of ['ES256', 'RS256']) {
    specs.push(
      { id: `fastify-${alg}`, serverLabel: 'fastify + @fastify/jwt', protectionLabel: `Bearer ${alg}, no cache (default)`, alg, start: () => startPeer('fastify', fx, alg, false) },
      { id: `fastify-${alg}-cache`, serverLabel: 'fastify + @fastify/jwt', protectionLabel: `Bearer ${alg}, fast-jwt cache on`, alg, start: () => startPeer('fastify', fx, alg, true) },
    );
  }
  const chosen = specs.filter((s, i) => i === 0 || !SETTINGS.only || SETTINGS.only.test(s.id));
  const rows = [];
  for (const spec of chosen) {
    const server = await spec.start();
    rows.push({
      ...spec,
      server,
      path: '/p/file.txt',
      auth: spec.alg ? `Bearer ${fx.tokens[spec.alg]}` : undefined,
      label: `${spec.serverLabel.replaceAll('`', '')}: ${spec.protectionLabel.replaceAll('`', '')}`,
      results: [],
      discarded: [],
    });
  }
  process.stdout.write(startedLine('jwt-bench'));

  await measureRows(rows, SETTINGS, { started, verify: (row) => verifyRow(row, fx), measure, labelWidth: 58 });
  await stopAll();
  const elapsed = (Date.now() - started) / 1000;
  const summary = summarize(rows, rows[0]);
  if (SETTINGS.only) {
    process.stdout.write(`\n${table(summary)}\n\njwt-bench: BENCH_ONLY set: a partial run, bench/JWT-RESULTS.md not written (${fmt(elapsed)} s)\n`);
  } else {
    writeFileSync(join(BENCH, 'JWT-RESULTS.md'), report(info, rows, summary, elapsed));
    process.stdout.write(`\n${table(summary)}\n\n${targets(summary)}\n\njwt-bench: wrote bench/JWT-RESULTS.md (${fmt(elapsed)} s)\n`);
  }
  const warning = contamination(summary);
  if (warning) process.stdout.write(`\njwt-bench: ${warning.replaceAll('**', '')}\n`);
  removeTempDir();
}

main().catch(async (err) => {
  if (wasInterrupted()) return;
  process.stderr.write(`jwt-bench: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  removeTempDir();
  process.exitCode = 1;
});
