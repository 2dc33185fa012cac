/** The primary's wait before replacing a dead worker (src/cli/serve-cluster.ts). */
import { describe, expect, it } from 'vitest';
import { MAX_RESTART_DELAY_MS, nextRestartDelay } from '../../../src/cli/serve-cluster.js';

describe('nextRestartDelay', () => {
  it('doubles from 100 ms with every early death, up to 5 s', () => {
    const waits: number[] = [];
    let delay = 0;
    for (let death = 0; death < 9; death++) {
      delay = nextRestartDelay(delay, 200);
      waits.push(delay);
    }
    expect(waits).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000]);
    expect(MAX_RESTART_DELAY_MS).toBe(5_000);
  });

  it('restarts at once a worker that had served for 10 s, whatever the last wait was', () => {
    expect(nextRestartDelay(5_000, 10_000)).toBe(0);
    expect(nextRestartDelay(0, 3_600_000)).toBe(0);
    // …and the next early death starts over at 100 ms.
    expect(nextRestartDelay(0, 9_999)).toBe(100);
  });
});
