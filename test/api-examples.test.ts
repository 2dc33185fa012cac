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
import { REPO, basic, waitFor } from './e2e/helpers.js';
import { rawRequest } from './services/http-client.js';

const run = promisify(execFile);
const EXAMPLES = ['node', 'express', 'fastify'] as const;
const doc = readFileSync(join(REPO, 'docs', 'api.md'), 'utf8');

interface CurlCase {
  readonly line: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly status: number;
  readonly challenge: string | null | undefined;
  readonly body: string | undefined;
}

/** The curl lines of a README's ```sh blocks; the port of the URL is the example's default. */
function curlCases(readme: string): CurlCase[] {
  const cases: CurlCase[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      if (!line.startsWith('curl ')) continue;
      const hash = line.indexOf(' # ');
      if (hash < 0) throw new Error(`curl line without an expectation: ${line}`);
      const words = [...line.slice(0, hash).matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
      const comment = line.slice(hash + 3);
      let method = 'GET';
      let path: string | undefined;
      const headers: Record<string, string> = {};
      for (let i = 1; i < words.length; i++) {
        const word = words[i]!;
        if (word === '-i' || word === '-s' || word === '--path-as-is') continue;
        if (word === '-X') method = words[++i]!;
        else if (word === '-u') headers['authorization'] = basic(words[++i]!);
        else if (word === '-H') {
          const header = words[++i]!;
          const colon = header.indexOf(':');
          headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
        } else if (word.startsWith('http://127.0.0.1:')) {
          // Sent as written: --path-as-is keeps dot segments, which is what the test sends.
          path = word.slice(word.indexOf('/', 'http://'.length));
        } else throw new Error(`curl option the test does not understand: ${word} in ${line}`);
      }
      if (path === undefined) throw new Error(`curl line without a URL: ${line}`);
      const status = /^(\d{3})\b/.exec(comment);
      if (!status) throw new Error(`curl line without a status: ${line}`);
      cases.push({
        line,
        method,
        path,
        headers,
        status: Number(status[1]),
        challenge: /no WWW-Authenticate/.test(comment) ? null : /WWW-Authenticate: (.*)$/.exec(comment)?.[1]?.trim(),
        body: /body: (.*)$/.exec(comment)?.[1]?.trim(),
      });
    }
  }
  return cases;
}

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
        if (c.body !== undefined) expect(answer.body.trim()).toBe(c.body);
      });
    }

    it('stops on SIGTERM, closing its server and its Auth', async () => {
      process.kill(example.pid, 'SIGTERM');
      expect(await example.exited).toEqual({ code: 0, signal: null });
    });
  });
}
