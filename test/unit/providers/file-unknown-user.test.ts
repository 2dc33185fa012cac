/**
 * "Unknown users cost what wrong passwords cost": checked without timing, by watching which
 * hash the provider verifies the password against when the user does not exist.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthnProvider, Module } from '../../../src/module.js';
import * as passwords from '../../../src/passwords/index.js';
import { bcryptCost, shaCryptParams } from '../../../src/passwords/hash-kind.js';
import { createAuthnFileModule, type AuthnFileSettings } from '../../../src/providers/file.js';
import { FIXTURES_DIR, manifest } from '../passwords/fixtures.js';
import { fakeRequest } from './helpers.js';

vi.mock('../../../src/passwords/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/passwords/index.js')>();
  return { ...real, verifyPassword: vi.fn(real.verifyPassword), makeDummyHash: vi.fn(real.makeDummyHash) };
});

const verify = vi.mocked(passwords.verifyPassword);
const makeDummy = vi.mocked(passwords.makeDummyHash);

let module: Module<AuthnFileSettings>;
let provider: AuthnProvider;

beforeEach(() => {
  module = createAuthnFileModule();
  provider = module.authnProviders!['file']!;
  verify.mockClear();
  makeDummy.mockClear();
});
afterAll(async () => {
  await module.close?.();
  await passwords.closePasswordWorkers();
});

async function firstHash(file: string): Promise<string> {
  const text = await readFile(join(FIXTURES_DIR, file), 'utf8');
  const line = text.split('\n')[0]!;
  return line.slice(line.indexOf(':') + 1);
}

function request(file: string) {
  return fakeRequest({ settings: new Map([[module, { userFile: join(FIXTURES_DIR, file) }]]) });
}

describe('provider "file": unknown users', () => {
  for (const file of ['bcrypt-cost10.htpasswd', 'sha256-rounds10000.htpasswd', 'apr1.htpasswd', 'argon2.htpasswd']) {
    it(`${file}: the password is checked against a dummy of the file's kind and cost`, async () => {
      const model = await firstHash(file);
      expect(await provider.checkPassword!(request(file), 'nobody', 'guess')).toBe('not-found');
      expect(verify).toHaveBeenCalledTimes(1);
      const [dummy, password] = verify.mock.calls[0]!;
      expect(password).toBe('guess');
      expect(dummy).not.toBe(model);
      expect(passwords.hashKind(dummy)).toBe(passwords.hashKind(model));
      if (passwords.hashKind(model) === 'bcrypt') expect(bcryptCost(dummy)).toBe(bcryptCost(model));
      if (passwords.hashKind(model) === 'sha256') expect(shaCryptParams(dummy).rounds).toBe(shaCryptParams(model).rounds);
      expect(await verify.mock.results[0]!.value).toBe(false);
    });
  }

  it('makes the dummy once per file version and reuses it', async () => {
    for (let i = 0; i < 3; i++) {
      expect(await provider.checkPassword!(request('bcrypt-cost4.htpasswd'), `nobody${i}`, 'guess')).toBe('not-found');
    }
    expect(makeDummy).toHaveBeenCalledTimes(1);
    expect(verify).toHaveBeenCalledTimes(3);
    expect(new Set(verify.mock.calls.map((c) => c[0])).size).toBe(1);
  });

  it('a known user is checked once, against the stored hash', async () => {
    const model = await firstHash('bcrypt-cost4.htpasswd');
    expect(await provider.checkPassword!(request('bcrypt-cost4.htpasswd'), 'alice', manifest.passwords['alice']!)).toBe(
      'granted',
    );
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0]![0]).toBe(model);
    expect(makeDummy).not.toHaveBeenCalled();
  });

  it('a plain-text file gives a dummy that fails as fast as its records do', async () => {
    expect(await provider.checkPassword!(request('plain.htpasswd'), 'nobody', 'guess')).toBe('not-found');
    expect(passwords.hashKind(verify.mock.calls[0]![0])).toBe('plain');
  });
});
