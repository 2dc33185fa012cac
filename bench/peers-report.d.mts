// Types of bench/peers-report.mjs, for test/unit/bench.test.ts (tsconfig has no allowJs).
import type { ChartGroup } from './chart.mjs';

export interface BenchSettings {
  readonly firstWarmup: number;
  readonly warmup: number;
  readonly duration: number;
  readonly reps: number;
}
export interface SummaryRow {
  readonly row: { readonly group: string; readonly serverLabel: string; readonly variantLabel: string };
  readonly rps: number;
  readonly min: number;
  readonly max: number;
  readonly ratio: number;
  readonly p50: number;
  readonly p99: number;
  readonly rssMiB: number;
  readonly serverCpu: number;
  readonly wrkCpu: number;
  readonly otherCpu: number;
  readonly socketErrors: number;
}
export function plannedSeconds(rowCount: number, groupCount: number, settings: BenchSettings): number;
export function minutes(seconds: number): string;
export function resultsTable(summary: readonly SummaryRow[], groupTitles: Readonly<Record<string, string>>): string;
export function ratioText(r: number): string;
export function chartGroups(summary: readonly SummaryRow[], groupOrder: readonly { id: string; title: string }[]): ChartGroup[];
