// The pure parts of bench/peers-bench.mjs's report: the planned duration, the results table and
// the chart's input. No I/O: test/unit/bench-report.test.ts runs them on made-up numbers.
import { fmt, pct } from './lib.mjs';

/**
 * Seconds of measuring `rowCount` rows in `groupCount` groups, each group measuring the baseline
 * too: per row and group baseline a first warm-up, then settings.reps × (warm-up + duration) plus
 * half a second of overhead per wrk run (start, report, the script's /proc reads).
 */
export function plannedSeconds(rowCount, groupCount, settings) {
  const measured = rowCount + groupCount;
  return measured * (settings.firstWarmup + 0.5 + settings.reps * (settings.warmup + settings.duration + 1));
}

/** "m min s s" for a number of seconds (rounded to whole seconds). */
export function minutes(seconds) {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * The results table (Markdown) of summarize()'s rows, each row with { group, serverLabel,
 * variantLabel }: the scenario's title (from `groupTitles`, by group id) on its first row only,
 * req/s median and range, the ratio to the bare baseline, p50 and p99 latency, the server's peak
 * RSS (all its processes), its CPU and the load generator's, and the socket errors (wrk's connect,
 * read, write and timeout counts: a request over wrk's 10 s timeout is one). Latencies of a row
 * that completed no request are "—", not 0.
 */
export function resultsTable(summary, groupTitles) {
  const lines = [
    '| # | scenario | server | variant | req/s (median) | min – max | vs bare node:http | p50 ms | p99 ms | peak RSS MiB | server CPU | wrk CPU | other CPU | socket errors |',
    '| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  let lastGroup;
  summary.forEach((s, i) => {
    const group = s.row.group === lastGroup ? '' : (groupTitles[s.row.group] ?? s.row.group);
    lastGroup = s.row.group;
    const latency = (ms) => (s.rps > 0 ? fmt(ms, 2) : '—');
    lines.push(
      `| ${i + 1} | ${group} | ${s.row.serverLabel} | ${s.row.variantLabel} | ${fmt(s.rps)} | ${fmt(s.min)} – ${fmt(s.max)} | ${ratioText(s.ratio)} | ${latency(s.p50)} | ${latency(s.p99)} | ${fmt(s.rssMiB)} | ${pct(s.serverCpu)} | ${pct(s.wrkCpu)} | ${pct(s.otherCpu)} | ${s.socketErrors} |`,
    );
  });
  return lines.join('\n');
}

/** A ratio for the table: 2 decimals, or 2 significant digits below 0.01 (0.0042), so no row reads 0.00. */
export function ratioText(r) {
  if (r >= 0.01 || r === 0) return fmt(r, 2);
  const digits = Math.min(6, 1 - Math.floor(Math.log10(r)));
  return fmt(r, digits);
}

/**
 * The chart's groups (bench/chart.mjs renderChart's input) from summarize()'s rows: one group per
 * scenario in `groupOrder` ([{ id, title }]), bars in the summary's order, labelled "server, variant"
 * (Markdown backquotes removed from labels and titles), the authts rows marked, each noted with its req/s.
 */
export function chartGroups(summary, groupOrder) {
  const plain = (s) => s.replaceAll('`', '');
  return groupOrder
    .map((g) => ({
      title: plain(g.title),
      bars: summary
        .filter((s) => s.row.group === g.id)
        .map((s) => ({
          label: `${plain(s.row.serverLabel)}, ${plain(s.row.variantLabel)}`,
          ratio: s.ratio,
          note: `${fmt(s.rps)} req/s`,
          kind: s.row.serverLabel.includes('authts') ? 'authts' : 'peer',
        })),
    }))
    .filter((g) => g.bars.length > 0);
}
