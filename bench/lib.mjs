// What bench/serve-bench.mjs and bench/jwt-bench.mjs share: settings from the environment,
// processes tracked and stopped by PID, 127.0.0.1 HTTP helpers, wrk (with bench/wrk-report.lua),
// CPU and memory from /proc, the measurement loop, and the tables of the report. Each script
// keeps its rows, fixtures, servers, targets and report text.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (absolute). */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** The bench/ directory (absolute). */
export const BENCH = join(ROOT, 'bench');
/** The built CLI that `authts serve` runs from (dist/cli/authts.js; run npm run build first). */
export const AUTHTS_CLI = join(ROOT, 'dist', 'cli', 'authts.js');
/** The wrk binary: $WRK_BIN, else `wrk` on the PATH. */
export const WRK_BIN = process.env.WRK_BIN ?? 'wrk';
/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100 if that says nothing). */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const requireFromRoot = createRequire(join(ROOT, 'package.json'));

/** The installed version of npm package `name` (found beside its entry point: some packages do not export ./package.json). */
export function packageVersion(name) {
  let dir = dirname(requireFromRoot.resolve(name));
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

/**
 * The integer in environment variable `name`, or `fallback` when it is unset or empty.
 * Throws when it is set but not an integer >= `min`.
 */
export function intFromEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: expected an integer >= ${min}`);
  return n;
}

/**
 * The run's settings from the environment (see the scripts' headers): { duration (BENCH_DURATION,
 * default `defaultDuration`, 4 s unless given), warmup (BENCH_WARMUP, default 1 s), firstWarmup (2 s), reps (BENCH_REPS, default 3),
 * connections (BENCH_CONNECTIONS, default 32), maxSeconds (BENCH_MAX_SECONDS, default
 * `defaultMaxSeconds`, at least 60: measurements are redone when other processes were busy
 * meanwhile, while the run stays within it), only (BENCH_ONLY as a RegExp on row ids, or
 * undefined: a partial run, the results file is then not written), wrkThreads (1) }.
 * Throws on a malformed value.
 */
export function settingsFromEnv(defaultMaxSeconds, defaultDuration = 4) {
  return {
    duration: intFromEnv('BENCH_DURATION', defaultDuration, 1),
    warmup: intFromEnv('BENCH_WARMUP', 1, 1),
    firstWarmup: 2,
    reps: intFromEnv('BENCH_REPS', 3, 1),
    connections: intFromEnv('BENCH_CONNECTIONS', 32, 1),
    maxSeconds: intFromEnv('BENCH_MAX_SECONDS', defaultMaxSeconds, 60),
    only: process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined,
    wrkThreads: 1,
  };
}

/** A promise that resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes: everything started here is tracked by PID and stopped by PID.

/** pid → { name, child } for every process started by spawnTracked and not seen exit yet. Read it; do not change it. */
export const live = new Map();
let cleaningUp;

/** Resolves once `child` has exited (at once if it already has). Never rejects. */
export function exitedPromise(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Stops one process started by spawnTracked, by its PID: SIGTERM, then after 5 s SIGKILL to its
 * process group (it was spawned detached: the group is it and whatever it forked). Resolves when
 * it is gone (or 2 s after the SIGKILL); does nothing for a PID that is not tracked.
 */
export async function stopProcess(pid) {
  const entry = live.get(pid);
  if (!entry) return;
  const done = exitedPromise(entry.child);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const ok = await Promise.race([done.then(() => true), sleep(5000).then(() => false)]);
  if (!ok) {
    // Hung: kill its process group (spawned detached, so the group is this process and
    // whatever it forked, e.g. httpd's children).
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await Promise.race([done, sleep(2000)]);
  }
  live.delete(pid);
}

/** Stops every tracked process (stopProcess, in parallel). Later calls wait for the first one's work. */
export async function stopAll() {
  cleaningUp ??= Promise.all([...live.keys()].map(stopProcess));
  await cleaningUp;
}

process.on('exit', () => {
  // Last resort (an exception escaped the orderly path): SIGTERM whatever is left.
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
});

/**
 * Spawns `command args` detached (its own process group: a terminal's Ctrl-C reaches only the
 * bench script, which stops the children itself) with stdout and stderr collected, and tracks it
 * by PID in `live` until it exits. `options` are spawn's, over those defaults. Returns
 * { child, output() } where output() is everything it printed so far (and a spawn error).
 */
export function spawnTracked(name, command, args, options = {}) {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (output += s));
  child.on('error', (e) => (output += `spawn ${command}: ${e.message}\n`));
  if (child.pid !== undefined) {
    live.set(child.pid, { name, child });
    child.once('exit', () => live.delete(child.pid));
  }
  return { child, output: () => output };
}

let tempDir;

/** Creates the run's temporary directory (mkdtemp of `prefix` in the OS temp dir) and returns its path; removeTempDir removes it. */
export function makeTempDir(prefix) {
  tempDir = mkdtempSync(join(tmpdir(), prefix));
  return tempDir;
}

/** Removes the directory made by makeTempDir, unless BENCH_KEEP=1 (then it stays for a look). */
export function removeTempDir() {
  if (tempDir && process.env.BENCH_KEEP !== '1') rmSync(tempDir, { recursive: true, force: true });
}

let interrupted = false;

/** True once SIGINT or SIGTERM arrived (after onSignalsStop): the signal handler then stops everything and exits. */
export const wasInterrupted = () => interrupted;

/**
 * On SIGINT and SIGTERM: says so on stderr (prefixed `name: `), stops every tracked process, runs
 * `cleanup()` when given (services not tracked here, e.g. a private slapd or a database to drop;
 * its failure is reported, not thrown), removes the temp directory and exits with status 130.
 * Call once, at start.
 */
export function onSignalsStop(name, cleanup) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      interrupted = true;
      process.stderr.write(`\n${name}: ${signal}: stopping every server started by this run\n`);
      stopAll()
        .then(() => cleanup?.())
        .catch((e) => process.stderr.write(`${name}: cleanup failed: ${e instanceof Error ? e.message : String(e)}\n`))
        .finally(() => {
          removeTempDir();
          process.exit(130);
        });
    });
  }
}

/** `name: started N servers: <name> pid <pid>, …` for the tracked processes, with a newline. */
export const startedLine = (name) => `${name}: started ${live.size} servers: ${[...live.entries()].map(([pid, e]) => `${e.name} pid ${pid}`).join(', ')}\n`;

// ---------------------------------------------------------------------------------------------
// HTTP on 127.0.0.1.

/** A TCP port free on 127.0.0.1 right now (bound and released; another process could still take it). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET on 127.0.0.1:`port` without keep-alive: { status, headers, body (Buffer) }; rejects on a socket error or after 5 s. */
export function get(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits until the server `handle` (from spawnTracked) answers any HTTP status to GET `path` on
 * 127.0.0.1:`port`. Throws, with its output, when it exits first or does not answer within 15 s.
 */
export async function waitListening(name, port, handle, path) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (handle.child.exitCode !== null || handle.child.signalCode !== null) {
      throw new Error(`${name} exited before answering:\n${handle.output()}`);
    }
    try {
      await get(port, path);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${name} did not answer on 127.0.0.1:${port} within 15 s:\n${handle.output()}`);
}

// ---------------------------------------------------------------------------------------------
// Measuring: wrk with wrk-report.lua, CPU and memory from /proc.

/** utime + stime (+ reaped children's when `withReapedChildren`) of a process, in seconds; 0 if it is gone. */
export function processCpu(pid, withReapedChildren = false) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime 14 → f[11], stime → f[12], cutime → f[13], cstime → f[14].
  let ticks = Number(f[11]) + Number(f[12]);
  if (withReapedChildren) ticks += Number(f[13]) + Number(f[14]);
  return ticks / CLK_TCK;
}

/** pid → parent pid of every process (one pass over /proc). */
function parentsOf() {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

/** `pid` and all its live descendants (httpd's and nginx's children, authts's workers). */
export function processTree(pid) {
  const parents = parentsOf();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of parents) if (pp === tree[i]) tree.push(p);
  return tree;
}

/** CPU seconds of a server so far: its process with its reaped children, plus its live descendants. */
export const treeCpu = (pid) => processTree(pid).reduce((s, p, i) => s + processCpu(p, i === 0), 0);

/** Resident memory (VmRSS) of a server now, MiB, summed over its processes (shared pages counted in each). */
export const treeRssMiB = (pid) => processTree(pid).reduce((mib, p) => mib + rssMiB(p), 0);

/** Peak resident memory (VmHWM) of a server in MiB, summed over its processes (shared pages counted in each). */
export function treePeakRssMiB(pid) {
  return processTree(pid).reduce((mib, p) => {
    try {
      return mib + Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return mib;
    }
  }, 0);
}

/** Machine-wide CPU ticks from /proc/stat: { busy (user..softirq, no steal), steal, total }. */
export function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

/** Resident memory (VmRSS) of a process in MiB; 0 if it is gone. */
export function rssMiB(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * One wrk run (tracked by PID) of `seconds` s against http://127.0.0.1:`port``path`, with
 * `settings.wrkThreads` threads and `settings.connections` connections, and an Authorization
 * header when `authHeader` is given. Resolves to wrk-report.lua's WRK_RESULT object ({ requests,
 * duration_us, bytes, errors, latency_us, cpu_ticks }); rejects, with wrk's output, when wrk fails.
 */
export function runWrk(settings, port, path, seconds, authHeader) {
  const args = [
    `-t${settings.wrkThreads}`,
    `-c${settings.connections}`,
    `-d${seconds}s`,
    '--timeout', '10s',
    '-s', join(BENCH, 'wrk-report.lua'),
    ...(authHeader ? ['-H', `Authorization: ${authHeader}`] : []),
    `http://127.0.0.1:${port}${path}`,
  ];
  const handle = spawnTracked('wrk', WRK_BIN, args);
  return exitedPromise(handle.child).then(() => {
    const text = handle.output();
    const line = text.split('\n').find((l) => l.startsWith('WRK_RESULT '));
    if (handle.child.exitCode !== 0 || !line) throw new Error(`wrk failed (exit ${handle.child.exitCode}):\n${text}`);
    return JSON.parse(line.slice('WRK_RESULT '.length));
  });
}

/**
 * One measurement of `row` ({ label, server: { port }, path, auth }): a settings.duration s wrk run.
 * `cpuSeconds()` is the server's CPU seconds so far (read before and after), `rss()` its memory in
 * MiB (read after). Returns { rps, requests, p50ms, p99ms, wrkCpu, serverCpu, serverCpuUsPerReq,
 * otherCpu, steal, socketErrors, errors, rssMiB }: CPU in cores, "other" the machine's busy time
 * minus the server's and wrk's. Throws when any answer was not 2xx/3xx.
 */
export async function measureRow(row, settings, cpuSeconds, rss) {
  const before = cpuSeconds();
  const ticks0 = machineTicks();
  const t0 = process.hrtime.bigint();
  const w = await runWrk(settings, row.server.port, row.path, settings.duration, row.auth);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds() - before;
  const ticks1 = machineTicks();
  const seconds = w.duration_us / 1e6;
  if (w.errors.status > 0) {
    throw new Error(`${row.label}: ${w.errors.status} of ${w.requests} responses were not 2xx/3xx: the setup is wrong, not slow`);
  }
  const wrkCpu = (w.cpu_ticks.user + w.cpu_ticks.system) / CLK_TCK;
  return {
    rps: w.requests / seconds,
    requests: w.requests,
    p50ms: w.latency_us.p50 / 1000,
    p99ms: w.latency_us.p99 / 1000,
    wrkCpu: wrkCpu / seconds,
    serverCpu: cpu / wall,
    serverCpuUsPerReq: (cpu / w.requests) * 1e6,
    // Everything else that ran on the machine meanwhile (this script, other processes), in cores.
    otherCpu: Math.max(0, (ticks1.busy - ticks0.busy) / CLK_TCK / wall - cpu / wall - wrkCpu / wall),
    steal: (ticks1.steal - ticks0.steal) / Math.max(1, ticks1.total - ticks0.total),
    socketErrors: w.errors.connect + w.errors.read + w.errors.write + w.errors.timeout,
    errors: w.errors,
    rssMiB: rss(),
  };
}

/** Other processes' CPU above this (in cores, median of a row) makes the run's numbers suspect. */
export const OTHER_CPU_LIMIT = 0.15;
/** A measurement during which other processes used more than this (in cores) is redone, while the run stays within settings.maxSeconds. */
export const OTHER_CPU_RETRY = 0.2;
/** At most this many redos of one measurement in a row. */
export const MAX_RETRIES_PER_MEASUREMENT = 3;

/**
 * Measures `rows` (each with { label, server: { port }, path, auth, results: [], discarded: [] }):
 * per row `verify(row)` then a settings.firstWarmup s warm-up; then settings.reps rounds,
 * round-robin over the rows, each measurement a settings.warmup s warm-up, a pause of the warm-up's
 * p99 latency (at most 5 s: the requests wrk left in flight finish), then `measure(row)`.
 * A measurement with other CPU above OTHER_CPU_RETRY is redone (pushed to row.discarded) while
 * the run (begun at `started`, ms) stays within settings.maxSeconds, counting `laterSeconds` (default
 * 0) of work planned after this call; kept ones go to row.results.
 * One progress line per measurement on stdout, the label padded to `labelWidth`.
 */
export async function measureRows(rows, settings, { started, verify, measure, labelWidth, laterSeconds = 0 }) {
  for (const row of rows) {
    await verify(row);
    await runWrk(settings, row.server.port, row.path, settings.firstWarmup, row.auth);
  }
  const total = rows.length * settings.reps;
  const perMeasurement = settings.warmup + settings.duration + 0.5;
  let n = 0;
  let remaining = total;
  /** A redo (pause + measurement) fits if the measurements still to come fit after it. */
  const redoFits = () => (Date.now() - started) / 1000 + (remaining + 1) * perMeasurement + laterSeconds + 2 <= settings.maxSeconds;
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const row of rows) {
      n++;
      for (let attempt = 1; ; attempt++) {
        const warm = await runWrk(settings, row.server.port, row.path, settings.warmup, row.auth);
        // wrk leaves its last requests in flight when it stops; let the server finish them (about
        // one p99 latency: milliseconds for fast rows, a second for a slow hash) so that the
        // measurement does not start behind the warm-up's backlog.
        await sleep(Math.min(5000, warm.latency_us.p99 / 1000));
        const r = await measure(row);
        // The same after the measurement: the backlog of a slow row (a second of bcrypt) must not
        // land in the next row's measurement as "other CPU".
        await sleep(Math.min(5000, r.p99ms));
        const retry = r.otherCpu > OTHER_CPU_RETRY && attempt <= MAX_RETRIES_PER_MEASUREMENT && redoFits();
        process.stdout.write(
          `[${String(n).padStart(2)}/${total}] rep ${rep} ${row.label.padEnd(labelWidth)} ${fmt(r.rps).padStart(7)} req/s  p99 ${fmt(r.p99ms, 2).padStart(6)} ms  server ${pct(r.serverCpu).padStart(5)}  wrk ${pct(r.wrkCpu).padStart(5)}  other ${pct(r.otherCpu).padStart(5)}${retry ? '  (busy machine: measured again)' : ''}\n`,
        );
        if (!retry) {
          row.results.push(r);
          remaining--;
          break;
        }
        row.discarded.push(r);
        await sleep(2000);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

/** The median of a non-empty list of numbers (the mean of the middle two for an even count). */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** `n` in en-US digits with exactly `digits` decimals (1,234.50). */
export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** A fraction as a whole percentage: 0.42 → "42 %". */
export const pct = (x) => `${fmt(x * 100, 0)} %`;

/** The commit dist/ was built from, and whether src/ had uncommitted changes. */
export function gitDescribe() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** The machine and run: { date, nproc, availableParallelism, cpuModel, kernel, memory, node, authts } (Linux: reads /proc/cpuinfo). */
export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    date: new Date().toISOString(),
    nproc: execFileSync('nproc', { encoding: 'utf8' }).trim(),
    availableParallelism: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    kernel: release(),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    authts: gitDescribe(),
  };
}

/**
 * One summary per row (rows with at least one result): the medians over its results, min and max
 * req/s, `ratio` to the median req/s of `baseline`, the largest RSS and steal, the sum of socket errors.
 */
export function summarize(rows, baseline) {
  const base = median(baseline.results.map((r) => r.rps));
  return rows.map((row) => {
    const rs = row.results;
    const rps = median(rs.map((r) => r.rps));
    return {
      row,
      rps,
      min: Math.min(...rs.map((r) => r.rps)),
      max: Math.max(...rs.map((r) => r.rps)),
      ratio: rps / base,
      p50: median(rs.map((r) => r.p50ms)),
      p99: median(rs.map((r) => r.p99ms)),
      serverCpu: median(rs.map((r) => r.serverCpu)),
      usPerReq: median(rs.map((r) => r.serverCpuUsPerReq)),
      wrkCpu: median(rs.map((r) => r.wrkCpu)),
      otherCpu: median(rs.map((r) => r.otherCpu)),
      rssMiB: Math.max(...rs.map((r) => r.rssMiB)),
      steal: Math.max(...rs.map((r) => r.steal)),
      socketErrors: rs.reduce((a, r) => a + r.socketErrors, 0),
    };
  });
}

/** The results table (Markdown) of summarize's rows (each row with serverLabel, protectionLabel); `ratioHeader` heads the ratio column. */
export function table(summary, ratioHeader) {
  const head = `| # | server | protection | req/s (median) | min – max | ${ratioHeader} | p50 ms | p99 ms | server CPU | server CPU µs/req | server RSS MiB | wrk CPU | other CPU | socket errors |`;
  const sep = '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = summary.map((s, i) =>
    `| ${i + 1} | ${s.row.serverLabel} | ${s.row.protectionLabel} | ${fmt(s.rps)} | ${fmt(s.min)} – ${fmt(s.max)} | ${fmt(s.ratio, 2)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${pct(s.serverCpu)} | ${fmt(s.usPerReq, 0)} | ${fmt(s.rssMiB)} | ${pct(s.wrkCpu)} | ${pct(s.otherCpu)} | ${s.socketErrors} |`,
  );
  return [head, sep, ...lines].join('\n');
}

/** Every measurement (Markdown): each row's kept results, numbered, then its discarded ones. */
export function rawTable(rows) {
  const lines = [
    '| row | rep | req/s | p50 ms | p99 ms | server CPU | wrk CPU | other CPU | steal | requests | socket errors (connect/read/write/timeout) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const line = (rep, r) =>
      `| ${row.label} | ${rep} | ${fmt(r.rps)} | ${fmt(r.p50ms, 2)} | ${fmt(r.p99ms, 2)} | ${pct(r.serverCpu)} | ${pct(r.wrkCpu)} | ${pct(r.otherCpu)} | ${fmt(r.steal * 100, 1)} % | ${r.requests} | ${r.errors.connect}/${r.errors.read}/${r.errors.write}/${r.errors.timeout} |`;
    row.results.forEach((r, i) => lines.push(line(String(i + 1), r)));
    for (const r of row.discarded) lines.push(line('discarded', r));
  }
  return lines.join('\n');
}

/** A Markdown warning when some rows' median other CPU exceeded OTHER_CPU_LIMIT; '' on a quiet run. */
export function contamination(summary) {
  const bad = summary.filter((s) => s.otherCpu > OTHER_CPU_LIMIT);
  if (bad.length === 0) return '';
  const worst = Math.max(...bad.map((s) => s.otherCpu));
  return `**Warning: the machine was not quiet.** Processes other than the server and wrk used more than ${pct(OTHER_CPU_LIMIT)} of a core during ${bad.length} of ${summary.length} rows (up to ${pct(worst)}): those rows are slower than this machine can do. Run again on an idle machine.`;
}

/**
 * The end of a run of bench `name`: prints the table, and unless BENCH_ONLY made it a partial
 * run writes `resultsFile` (a name under bench/) from `report()` and prints `targets()`; then the
 * contamination warning for `summary`.
 */
export function writeResults({ name, settings, resultsFile, summary, elapsed, table, targets, report }) {
  if (settings.only) {
    // A partial run may lack the rows a target compares: only the table is printed.
    process.stdout.write(`\n${table}\n\n${name}: BENCH_ONLY set: a partial run, bench/${resultsFile} not written (${fmt(elapsed)} s)\n`);
  } else {
    writeFileSync(join(BENCH, resultsFile), report());
    process.stdout.write(`\n${table}\n\n${targets()}\n\n${name}: wrote bench/${resultsFile} (${fmt(elapsed)} s)\n`);
  }
  const warning = contamination(summary);
  if (warning) process.stdout.write(`\n${name}: ${warning.replaceAll('**', '')}\n`);
}

/** Runs a bench's `main`: on failure, stops every server it started, removes its temp directory and sets exit code 1. */
export function runBench(name, main) {
  main().catch(async (err) => {
    if (wasInterrupted()) return; // the signal handler stops everything and exits
    process.stderr.write(`${name}: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    removeTempDir();
    process.exitCode = 1;
  });
}
