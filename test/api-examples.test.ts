/**
 * The embedding examples (conf-examples/node, express, fastify) as users run them: type-checked
 * against the built package, started as child processes (`node --import tsx app.ts`, so
 * `authts` and `authts/<adapter>` resolve to dist/ through the package's exports), sent every
 * curl line of their README, and stopped with SIGTERM by PID. docs/api.md must show each file
 * as it is, and the output of check.ts as it prints it.
 *
 * The README is the test table, as in test/conf-examples.test.ts: after ` # ` comes the status,
 * then optionally `WWW-Authenticate: <exact value>`, `no WWW-Authenticate`, or
 * `body: <exact body, trimmed>`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, waitFor } from './e2e/helpers.js';
import { rawRequest } from './services/http-client.js';
import { curlCases } from './helpers/readme-curl.js';

const run = promisify(execFile);
const EXAMPLES = ['node', 'express', 'fastify'] as const;
const doc = readFileSync(join(REPO, 'docs', 'api.md'), 'utf8');

interface Example {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Example[] = [];

function startExample(file: string): Example {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: REPO,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const example = { child, pid: child.pid, output: () => out, exited };
  started.push(example);
  return example;
}

afterAll(async () => {
  // Whatever a failed test left running: SIGKILL by PID, then wait for it.
  for (const example of started) if (example.child.exitCode === null && example.child.signalCode === null) process.kill(example.pid, 'SIGKILL');
  await Promise.all(started.map((example) => example.exited));
});

it('the package has been built (npm run build): the examples import it', () => {
  for (const name of EXAMPLES) expect(existsSync(join(REPO, 'dist', 'adapters', `${name}.js`)), name).toBe(true);
});

it('the examples type-check against the built package', async () => {
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', join(REPO, 'conf-examples', 'tsconfig.json')], { cwd: REPO }).catch(
    (err: { stdout?: string; code?: number }) => ({ stdout: err.stdout ?? String(err), code: err.code }),
  );
  expect(result.stdout).toBe('');
});

describe('conf-examples/node/check.ts', () => {
  it('prints what docs/api.md says it prints', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'conf-examples/node/check.ts'], { cwd: REPO });
    expect(stdout).toContain('/private/report 401 - Basic realm="Private area"\n');
    expect(stdout).toContain('granted denied not-found\n');
    expect(doc).toContain(`\`\`\`text\n${stdout}\`\`\``);
  });
});

for (const name of EXAMPLES) {
  describe(`conf-examples/${name}`, () => {
    const dir = join(REPO, 'conf-examples', name);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const cases = curlCases(readme);
    let example: Example;
    let port = 0;

    beforeAll(async () => {
      example = startExample(`conf-examples/${name}/app.ts`);
      await waitFor(
        `conf-examples/${name}/app.ts to listen; output so far:\n${example.output()}`,
        () => {
          if (example.child.exitCode !== null) throw new Error(`app.ts exited:\n${example.output()}`);
          return /listening on http:\/\/127\.0\.0\.1:\d+\//.test(example.output());
        },
        20_000,
      );
      port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(example.output())![1]);
    });

    it('docs/api.md shows its files as they are', () => {
      for (const file of ['app.ts', 'site.conf', ...(name === 'node' ? ['check.ts'] : [])]) {
        expect(doc, file).toContain(readFileSync(join(dir, file), 'utf8'));
      }
    });

    it('its README has curl lines on its default port', () => {
      expect(cases.length).toBeGreaterThanOrEqual(5);
      const defaultPort = /PORT'\] \?\? (\d+)/.exec(readFileSync(join(dir, 'app.ts'), 'utf8'))![1];
      for (const c of cases) expect(c.line).toContain(`http://127.0.0.1:${defaultPort}/`);
      expect(readme).toContain(`npx tsx conf-examples/${name}/app.ts   `);
    });

    for (const c of cases) {
      it(c.line.replace(/\s+/g, ' '), async () => {
        const answer = await rawRequest(`http://127.0.0.1:${port}/`, { method: c.method, path: c.path, headers: c.headers });
        expect(answer.status).toBe(c.status);
        if (c.challenge === null) expect(answer.headers['www-authenticate']).toBeUndefined();
        else if (c.challenge !== undefined) expect(answer.headers['www-authenticate']).toBe(c.challenge);
        const body = /body: (.*)$/.exec(c.comment)?.[1]?.trim();
        if (body !== undefined) expect(answer.body.trim()).toBe(body);
      });
    }

    it('stops on SIGTERM, closing its server and its Auth', async () => {
      process.kill(example.pid, 'SIGTERM');
      expect(await example.exited).toEqual({ code: 0, signal: null });
    });
  });
}
