#!/usr/bin/env node
// Runs the whole vitest suite and ends with one plain line, "tests: N passed, N failed"
// (", N skipped" when any were), so CI logs say what ran whatever the reporter prints.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

const results = 'test-results/vitest.json';
mkdirSync('test-results', { recursive: true });
const child = spawn(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => {
  let line = 'tests: no results were written';
  try {
    const r = JSON.parse(readFileSync(results, 'utf8'));
    const skipped = r.numPendingTests + r.numTodoTests;
    line = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
  } catch {
    // vitest died before writing its report; the exit code below says so.
  }
  console.log(line);
  process.exitCode = signal ? 1 : (code ?? 1);
});
