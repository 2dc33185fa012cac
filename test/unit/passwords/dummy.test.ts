import { afterAll, describe, expect, it } from 'vitest';
import { closePasswordWorkers, hashKind, makeDummyHash, verifyPassword } from '../../../src/passwords/index.js';
import { argon2Params, bcryptCost, shaCryptParams } from '../../../src/passwords/hash-kind.js';
import { fixtureRecords } from './fixtures.js';

afterAll(async () => {
  await closePasswordWorkers();
});

const records = fixtureRecords().filter((r) => r.user === 'alice');

describe('makeDummyHash', () => {
  for (const r of records) {
    it(`${r.file}: same kind and cost, fresh salt, never verifies`, async () => {
      const dummy = await makeDummyHash(r.hash);
      const kind = hashKind(r.hash);
      expect(hashKind(dummy)).toBe(kind);
      expect(dummy).not.toBe(r.hash);
      expect(await verifyPassword(dummy, r.password)).toBe(false);
      expect(await verifyPassword(dummy, '')).toBe(false);
      switch (kind) {
        case 'bcrypt':
          expect(bcryptCost(dummy)).toBe(bcryptCost(r.hash));
          expect(dummy.slice(0, 4)).toBe(r.hash.slice(0, 4));
          expect(dummy).toHaveLength(60);
          break;
        case 'sha256':
        case 'sha512': {
          const want = shaCryptParams(r.hash);
          const got = shaCryptParams(dummy);
          expect(got.id).toBe(want.id);
          expect(got.rounds).toBe(want.rounds);
          expect(got.salt).toHaveLength(16);
          expect(got.salt).not.toBe(want.salt);
          break;
        }
        case 'argon2': {
          const want = argon2Params(r.hash);
          const got = argon2Params(dummy);
          expect(want).toBeDefined();
          expect(got).toEqual(want);
          break;
        }
        case 'apr1':
          expect(dummy).toMatch(/^\$apr1\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{22}$/);
          break;
        case 'md5':
          expect(dummy).toMatch(/^\$1\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{22}$/);
          break;
        case 'des':
          expect(dummy).toMatch(/^[./0-9A-Za-z]{13}$/);
          break;
        case 'sha1':
          expect(dummy).toMatch(/^\{SHA\}[A-Za-z0-9+/]{27}=$/);
          break;
        case 'plain':
          expect(dummy).not.toBe(r.password);
          break;
        default:
          throw new Error(`unexpected kind ${kind}`);
      }
    });
  }

  it('makes a different dummy every time', async () => {
    const apr1 = records.find((r) => r.file === 'apr1.htpasswd')!;
    const [a, b] = await Promise.all([makeDummyHash(apr1.hash), makeDummyHash(apr1.hash)]);
    expect(a).not.toBe(b);
  });

  const unverifiable: [string, string][] = [
    ['plain text', 'secret'],
    ['empty', ''],
    ['yescrypt (unsupported)', '$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ5XiVCe.'],
    ['bcrypt with cost 99', '$2y$99$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a'],
    ['bcrypt without a cost', '$2y$'],
    ['malformed argon2', '$argon2id$v=19$m=1024'],
  ];
  for (const [label, hash] of unverifiable) {
    it(`for ${label} gives a plain string that never verifies`, async () => {
      const dummy = await makeDummyHash(hash);
      expect(hashKind(dummy)).toBe('plain');
      expect(dummy.length).toBeGreaterThan(16);
      expect(await verifyPassword(dummy, dummy)).toBe(false);
    });
  }
});
