/**
 * The worker pool must also work from compiled JavaScript (dist/), where the worker is
 * `crypt-worker.js` and no TypeScript loader exists. The other tests import the .ts sources
 * (the pool then runs the .ts worker through tsx); this one compiles src/passwords to a
 * scratch directory and runs it in a plain `node` child process.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRecords } from './fixtures.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
let outDir = '';

async function transpile(srcFile: string, outFile: string): Promise<void> {
  const source = await readFile(join(repo, srcFile), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: srcFile,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, outputText);
}

beforeAll(async () => {
  // Inside the repository so that bare imports (piscina, bcrypt, …) resolve from node_modules.
  const cache = join(repo, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  outDir = await mkdtemp(join(cache, 'authts-compiled-worker-'));
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  await transpile('src/errors.ts', join(outDir, 'errors.js'));
  for (const name of await readdir(join(repo, 'src/passwords'))) {
    if (name.endsWith('.ts')) await transpile(`src/passwords/${name}`, join(outDir, 'passwords', name.replace(/\.ts$/, '.js')));
  }
});

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('compiled password module', () => {
  it('verifies worker-pool formats with crypt-worker.js in a plain node process', async () => {
    const cases = fixtureRecords()
      .filter((r) => r.user === 'bob' && ['apr1', 'md5', 'sha256', 'sha512', 'des'].includes(r.meta.kind))
      .map((r) => ({ hash: r.hash, password: r.password }));
    expect(cases.length).toBeGreaterThanOrEqual(7);
    const script = `
      import { verifyPassword, makeDummyHash, closePasswordWorkers } from './passwords/index.js';
      const cases = JSON.parse(process.argv[2]);
      const out = [];
      for (const c of cases) {
        out.push(await verifyPassword(c.hash, c.password), await verifyPassword(c.hash, 'wrong-' + c.password));
        out.push(await verifyPassword(await makeDummyHash(c.hash), c.password));
      }
      await closePasswordWorkers();
      console.log(JSON.stringify(out));
    `;
    await writeFile(join(outDir, 'smoke.mjs'), script);
    const { stdout } = await run(process.execPath, [join(outDir, 'smoke.mjs'), JSON.stringify(cases)], {
      cwd: outDir,
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual(cases.flatMap(() => [true, false, false]));
  });
});
