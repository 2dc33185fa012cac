// Types of the pure helpers of bench/lib.mjs that test/unit/bench.test.ts uses (tsconfig has no
// allowJs); the rest of lib.mjs is used by the bench scripts only.
export function median(xs: readonly number[]): number;
export function fmt(n: number, digits?: number): string;
export function pct(x: number): string;
export function summarize<R extends { results: readonly { rps: number; p50ms: number; p99ms: number; serverCpu: number; serverCpuUsPerReq: number; wrkCpu: number; otherCpu: number; rssMiB: number; steal: number; socketErrors: number }[] }>(
  rows: readonly R[],
  baseline: { results: readonly { rps: number }[] },
): { row: R; rps: number; min: number; max: number; ratio: number; p50: number; p99: number; serverCpu: number; usPerReq: number; wrkCpu: number; otherCpu: number; rssMiB: number; steal: number; socketErrors: number }[];
