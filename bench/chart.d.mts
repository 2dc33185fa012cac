// Types of bench/chart.mjs, for test/unit/bench.test.ts (tsconfig has no allowJs).
export interface ChartBar {
  readonly label: string;
  readonly ratio: number;
  readonly note?: string;
  readonly kind?: 'authts' | 'peer';
}
export interface ChartGroup {
  readonly title: string;
  readonly bars: readonly ChartBar[];
}
export function escapeXml(s: string): string;
export function formatRatio(r: number): string;
export function axisDecades(values: readonly number[]): { lo: number; hi: number };
export function renderChart(input: { title: string; subtitle?: string; groups: readonly ChartGroup[] }): string;
