/**
 * The real Redis on 127.0.0.1:6379 for suites of Redis-backed stores: a key prefix per test,
 * whose keys are deleted after it; a shared key secret in a temp file; engines and modules made
 * by the test closed after it. Call {@link useRedis} at the top of a test file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AuthEngine } from '../../src/engine.js';
import type { Module } from '../../src/module.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** What {@link useRedis} gives a test file. */
export interface RedisFixture {
  /** A client of the test's own, for looking at what a store wrote. */
  readonly admin: ReturnType<typeof createClient>;
  /** A fresh key prefix (`label:<random>:`), its keys deleted after the test. */
  newPrefix(): string;
  /** A file holding a 32-byte secret, for `AuthTsCacheSecret`/`AuthTsRegulationSecret file:`. */
  secretFile(): string;
  /** A temp directory removed after the file's tests. */
  dir(): string;
  /** Engines closed after each test. */
  readonly engines: AuthEngine[];
  /** Modules closed after each test. */
  readonly modules: Module<any, any>[];
}

export function useRedis(label: string): RedisFixture {
  const admin = createClient({ url: REDIS_URL });
  const prefixes: string[] = [];
  const engines: AuthEngine[] = [];
  const modules: Module<any, any>[] = [];
  let dir = '';
  beforeAll(async () => {
    await admin.connect();
    dir = await mkdtemp(join(tmpdir(), `authts-${label}-`));
    await writeFile(join(dir, 'secret'), `${randomBytes(32).toString('hex')}\n`);
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.config.close()));
    await Promise.all(modules.splice(0).map((m) => m.close?.()));
    for (const prefix of prefixes.splice(0)) {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(keys);
    }
  });
  afterAll(async () => {
    admin.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    admin,
    newPrefix() {
      const prefix = `authts-test-${label}:${randomBytes(6).toString('hex')}:`;
      prefixes.push(prefix);
      return prefix;
    },
    secretFile: () => join(dir, 'secret'),
    dir: () => dir,
    engines,
    modules,
  };
}
