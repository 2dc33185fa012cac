// The pure parts of the benchmark (bench/): the user-file generator (checked by Apache's own
// htpasswd), the SVG chart, the medians, ratios and tables of the report. The bench itself needs
// wrk and a quiet machine and is not part of the test suite.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axisDecades, escapeXml, formatRatio, renderChart } from '../../bench/chart.mjs';
import { median, summarize } from '../../bench/lib.mjs';
import { chartGroups, minutes, plannedSeconds, ratioText, resultsTable, type SummaryRow } from '../../bench/peers-report.mjs';
import { fillerUser, userFileChunks, writeUserFile } from '../../bench/userfile.mjs';

const run = promisify(execFile);
const HTPASSWD = process.env['HTPASSWD_BIN'] ?? 'htpasswd';

/** `htpasswd -vb file user password`: exit status 0 when the password is correct (Apache's own check). */
async function htpasswdVerifies(file: string, user: string, password: string): Promise<boolean> {
  try {
    await run(HTPASSWD, ['-vb', file, user, password]);
    return true;
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string };
    if (e.code === 3) return false; // htpasswd: "password verification failed"
    throw err;
  }
}

describe('userFileChunks', () => {
  const real = 'bench:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=';

  it('is the real line alone for one user', () => {
    expect([...userFileChunks(1, real)]).toEqual([`${real}\n`]);
  });

  it('puts count - 1 filler users with the real hash first and the real line last', () => {
    const text = [...userFileChunks(4, real)].join('');
    expect(text).toBe(
      ['user0000001', 'user0000002', 'user0000003'].map((u) => `${u}:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=`).join('\n') + `\n${real}\n`,
    );
  });

  it('cuts the lines into chunks of chunkLines lines, each ending in a newline', () => {
    const chunks = [...userFileChunks(5, real, 2)];
    expect(chunks.map((c) => c.split('\n').length - 1)).toEqual([2, 2, 1]);
    expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
    expect(chunks[2]).toBe(`${real}\n`);
  });

  it('names filler users with 7 digits', () => {
    expect(fillerUser(1)).toBe('user0000001');
    expect(fillerUser(1_000_000)).toBe('user1000000');
  });

  it('refuses counts it cannot make and lines that are not user:hash', () => {
    expect(() => [...userFileChunks(0, real)]).toThrow(RangeError);
    expect(() => [...userFileChunks(1.5, real)]).toThrow(/expected an integer/);
    expect(() => [...userFileChunks(10_000_001, real)]).toThrow(RangeError);
    expect(() => [...userFileChunks(2, 'no-colon-here')]).toThrow(/not an htpasswd line/);
    expect(() => [...userFileChunks(2, ':hash')]).toThrow(/not an htpasswd line/);
    expect(() => [...userFileChunks(2, 'a:b\nc:d')]).toThrow(/not an htpasswd line/);
    expect(() => [...userFileChunks(2, 'user0000001:{SHA}x')]).toThrow(/collide/);
  });
});

describe('writeUserFile, checked by Apache htpasswd', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authts-bench-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [kind, flags] of [
    ['$apr1$', ['-nbm']],
    ['bcrypt cost 5', ['-nbB', '-C', '5']],
  ] as const) {
    it(`writes a 10,000-user ${kind} file whose first, middle and last users htpasswd accepts, and whose wrong password it refuses`, async () => {
      const { stdout } = await run(HTPASSWD, [...flags, 'bench', 'bench-pw']);
      const realLine = stdout.split('\n')[0]!.trim();
      expect(realLine).toMatch(/^bench:\$/);
      const file = join(dir, `users-${flags[0]}.htpasswd`);
      await writeUserFile(file, 10_000, realLine);
      const lines = (await readFile(file, 'utf8')).split('\n');
      expect(lines).toHaveLength(10_001); // 10,000 lines and the final newline
      expect(lines[9_999]).toBe(realLine);
      expect(lines[10_000]).toBe('');
      expect(await htpasswdVerifies(file, 'bench', 'bench-pw')).toBe(true);
      expect(await htpasswdVerifies(file, 'user0000001', 'bench-pw')).toBe(true);
      expect(await htpasswdVerifies(file, 'user0005000', 'bench-pw')).toBe(true);
      expect(await htpasswdVerifies(file, 'bench', 'bench-pw-wrong')).toBe(false);
      expect(await htpasswdVerifies(file, 'user0009999', 'not-it')).toBe(false);
    });
  }

  it('rejects when the file cannot be written', async () => {
    await expect(writeUserFile(join(dir, 'missing', 'users'), 2, 'bench:{SHA}x')).rejects.toThrow(/ENOENT/);
  });
});

describe('renderChart', () => {
  const groups = [
    { title: 'Basic <apr1> & co', bars: [{ label: 'authts, cache "on"', ratio: 1, note: '70,000 req/s', kind: 'authts' as const }, { label: 'httpd', ratio: 0.1 }] },
    { title: 'LDAP', bars: [{ label: 'slow', ratio: 0.001 }, { label: 'broken', ratio: 0 }] },
  ];
  const svg = renderChart({ title: 'T', subtitle: 'S', groups });
  const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="16" class="([^"]+)"\/>/g)].map((m) => ({ width: Number(m[1]), cls: m[2] }));

  it('draws one bar per row, as long as log10 of its ratio on an axis of whole decades', () => {
    expect(widths).toHaveLength(4);
    // Axis 10^-3 … 10^0 over 440 px: one decade is 440 / 3 px.
    const decade = 440 / 3;
    expect(widths[0]!.width).toBeCloseTo(3 * decade, 0);
    expect(widths[1]!.width).toBeCloseTo(2 * decade, 0);
    expect(widths[2]!.width).toBeCloseTo(0, 5);
    expect(widths[3]!.width).toBe(0);
    expect(widths.map((w) => w.cls)).toEqual(['bar authts', 'bar', 'bar', 'bar']);
  });

  it('labels the bars with ratio and note, the axis with its decades, and escapes text', () => {
    expect(svg).toContain('>1.00× · 70,000 req/s</text>');
    expect(svg).toContain('>0.100×</text>');
    expect(svg).toContain('>0.00100×</text>');
    expect(svg).toContain('>0×</text>');
    for (const tick of ['0.001×', '0.01×', '0.1×', '1×']) expect(svg).toContain(`>${tick}</text>`);
    expect(svg).toContain('Basic &lt;apr1&gt; &amp; co');
    expect(svg).toContain('authts, cache &quot;on&quot;');
    expect(svg).not.toMatch(/<apr1>/);
  });

  it('is a complete SVG document, the same bytes for the same input', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(renderChart({ title: 'T', subtitle: 'S', groups })).toBe(svg);
  });

  it('leaves room left of the bars for the longest label', () => {
    const barX = (chart: string) => Number(/<rect x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="16"/.exec(chart)?.[1]);
    const long = renderChart({ title: 'T', groups: [{ title: 'g', bars: [{ label: 'x'.repeat(100), ratio: 0.5 }] }] });
    const short = renderChart({ title: 'T', groups: [{ title: 'g', bars: [{ label: 'x', ratio: 0.5 }] }] });
    expect(barX(long)).toBeGreaterThanOrEqual(20 + 100 * 6.3 + 10);
    expect(barX(short)).toBe(210);
    expect(long).toContain('<text x="650" y="');
  });

  it('formats ratios with 3 significant digits, and spans at least 0.1 … 1', () => {
    expect(formatRatio(2.345)).toBe('2.35×');
    expect(formatRatio(0.01534)).toBe('0.0153×');
    expect(formatRatio(0.0006)).toBe('0.000600×');
    expect(formatRatio(0.00000002)).toBe('0.0000000×');
    expect(formatRatio(Number.NaN)).toBe('0×');
    expect(axisDecades([0.5])).toEqual({ lo: -1, hi: 0 });
    expect(axisDecades([0.0042, 2.5, 0, Number.NaN])).toEqual({ lo: -3, hi: 1 });
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
});

describe('medians, ratios and the results table', () => {
  const result = (rps: number, extra: Partial<Record<string, number>> = {}) => ({
    rps, p50ms: 1, p99ms: 2, serverCpu: 1, serverCpuUsPerReq: 10, wrkCpu: 0.2, otherCpu: 0, rssMiB: 50, steal: 0, socketErrors: 0, ...extra,
  });

  it('takes the median of odd and even counts without reordering the input', () => {
    const xs = [5, 1, 3];
    expect(median(xs)).toBe(3);
    expect(xs).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('divides each row median by the baseline median, and keeps the peak RSS', () => {
    const baseline = { results: [result(1000), result(3000), result(2000)] };
    const rows = [{ id: 'x', results: [result(100, { rssMiB: 70 }), result(300, { rssMiB: 90 }), result(200, { rssMiB: 80 })] }];
    const [s] = summarize(rows, baseline);
    expect(s!.rps).toBe(200);
    expect(s!.ratio).toBeCloseTo(0.1, 10);
    expect(s!.min).toBe(100);
    expect(s!.max).toBe(300);
    expect(s!.rssMiB).toBe(90);
  });

  const summaryRow = (group: string, serverLabel: string, rps: number, ratio: number): SummaryRow => ({
    row: { group, serverLabel, variantLabel: 'v' },
    rps, min: rps - 1, max: rps + 1, ratio, p50: 1.234, p99: 9.876, rssMiB: 123.4, serverCpu: 1.5, wrkCpu: 0.25, otherCpu: 0.01, socketErrors: rps === 0 ? 32 : 0,
  });
  const summary = [summaryRow('a', '`authts serve`', 1234, 0.5), summaryRow('a', 'nginx', 50, 0.0042), summaryRow('b', 'Apache httpd', 7, 0.000123), summaryRow('b', 'slow', 0, 0)];

  it('writes one table line per row, the scenario title on its first row only', () => {
    const lines = resultsTable(summary, { a: 'Scenario A', b: 'Scenario B' }).split('\n');
    expect(lines).toHaveLength(6);
    const cells = lines.map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(new Set(cells.map((c) => c.length))).toEqual(new Set([14]));
    expect(cells[2]).toEqual(['1', 'Scenario A', '`authts serve`', 'v', '1,234', '1,233 – 1,235', '0.50', '1.23', '9.88', '123', '150 %', '25 %', '1 %', '0']);
    expect(cells[3]!.slice(0, 2)).toEqual(['2', '']);
    expect(cells[3]![6]).toBe('0.0042');
    expect(cells[4]!.slice(1, 2)).toEqual(['Scenario B']);
    expect(cells[4]![6]).toBe('0.00012');
  });

  it('prints no latency for a row that completed no request, and its socket errors', () => {
    const last = resultsTable(summary, {}).split('\n')[5]!.split('|').slice(1, -1).map((c) => c.trim());
    expect(last.slice(4, 9)).toEqual(['0', '-1 – 1', '0.00', '—', '—']);
    expect(last[13]).toBe('32');
  });

  it('never prints a small ratio as 0.00', () => {
    expect(ratioText(0.5)).toBe('0.50');
    expect(ratioText(0.01)).toBe('0.01');
    expect(ratioText(0.0099)).toBe('0.0099');
    expect(ratioText(0)).toBe('0.00');
  });

  it('groups the chart bars by scenario in the given order, marks authts, drops empty scenarios', () => {
    const groups = chartGroups(summary, [{ id: 'b', title: 'B' }, { id: 'none', title: 'empty' }, { id: 'a', title: 'Basic `$apr1$`' }]);
    expect(groups.map((g) => g.title)).toEqual(['B', 'Basic $apr1$']);
    expect(groups[1]!.bars).toEqual([
      { label: 'authts serve, v', ratio: 0.5, note: '1,234 req/s', kind: 'authts' },
      { label: 'nginx, v', ratio: 0.0042, note: '50 req/s', kind: 'peer' },
    ]);
  });

  it('plans (rows + one baseline per scenario) × (first warm-up + reps × (warm-up + duration + 1 s)) and prints minutes', () => {
    const settings = { firstWarmup: 2, warmup: 1, duration: 3, reps: 3 };
    expect(plannedSeconds(54, 9, settings)).toBe(63 * (2.5 + 3 * 5));
    expect(minutes(1102.5)).toBe('18 min 23 s');
    expect(minutes(59.4)).toBe('0 min 59 s');
  });
});
