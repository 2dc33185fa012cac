import { afterAll, describe, expect, it } from 'vitest';
import { AuthTsError } from '../../../src/errors.js';
import { closePasswordWorkers, hashKind, verifyPassword } from '../../../src/passwords/index.js';
import { fixtureRecords, manifest } from './fixtures.js';

afterAll(async () => {
  await closePasswordWorkers();
});

const records = fixtureRecords();
const WRONG_PREFIX = 'wrong-';

describe('verifyPassword against hashes made by the real tools', () => {
  it('has fixtures for every format', () => {
    const kinds = new Set(records.map((r) => hashKind(r.hash)));
    expect([...kinds].sort()).toEqual(
      ['apr1', 'argon2', 'bcrypt', 'des', 'md5', 'plain', 'sha1', 'sha256', 'sha512'].sort(),
    );
    for (const r of records) expect(hashKind(r.hash), `${r.file} ${r.user}`).toBe(r.meta.kind);
  });

  for (const r of records) {
    const label = `${r.file} (${r.meta.tool}) ${r.user}`;
    if (r.meta.neverVerifies) {
      it(`${label}: a plain-text record never verifies, as on httpd/Linux`, async () => {
        expect(await verifyPassword(r.hash, r.password)).toBe(false);
        expect(await verifyPassword(r.hash, r.hash)).toBe(false);
      });
      continue;
    }
    it(`${label}: right password → true, wrong → false`, async () => {
      expect(await verifyPassword(r.hash, r.password)).toBe(true);
      expect(await verifyPassword(r.hash, WRONG_PREFIX + r.password)).toBe(false);
      expect(await verifyPassword(r.hash, r.password.toUpperCase() + 'X')).toBe(false);
    });
  }

  it('DES uses only the first 8 characters, as crypt(3) does', async () => {
    const alice = records.find((r) => r.file === 'des.htpasswd' && r.user === 'alice');
    expect(alice?.meta.truncatesTo).toBe(8);
    expect(await verifyPassword(alice!.hash, 'alice-se')).toBe(true);
    expect(await verifyPassword(alice!.hash, 'alice-seANYTHING')).toBe(true);
    expect(await verifyPassword(alice!.hash, 'alice-s')).toBe(false);
  });

  it('hashes the password as UTF-8 bytes (a different normalization does not match)', async () => {
    const bobs = records.filter((r) => r.user === 'bob' && !r.meta.neverVerifies);
    expect(bobs.length).toBeGreaterThan(5);
    const nfd = manifest.passwords['bob']!.normalize('NFD');
    expect(nfd).not.toBe(manifest.passwords['bob']);
    for (const r of bobs) {
      if (r.meta.kind === 'des') continue; // 'pässwör' vs 'pa\u0308ssw': DES looks at 7 bits per byte
      expect(await verifyPassword(r.hash, nfd), r.file).toBe(false);
    }
  });

  it('an empty password verifies only against the hash of the empty password', async () => {
    const empties = records.filter((r) => r.user === 'empty' && !r.meta.neverVerifies);
    expect(empties.length).toBeGreaterThan(5);
    for (const r of empties) {
      expect(await verifyPassword(r.hash, ''), r.file).toBe(true);
      expect(await verifyPassword(r.hash, ' '), r.file).toBe(false);
    }
  });

  it('answers many checks at once (worker pool and libuv pool under load)', async () => {
    const sample = records.filter((r) => !r.meta.neverVerifies && r.file !== 'bcrypt-cost10.htpasswd');
    const results = await Promise.all(sample.flatMap((r) => [verifyPassword(r.hash, r.password), verifyPassword(r.hash, 'x')]));
    expect(results).toEqual(sample.flatMap(() => [true, false]));
  });
});

describe('verifyPassword on malformed and unknown hashes', () => {
  const apr1 = records.find((r) => r.file === 'apr1.htpasswd' && r.user === 'alice')!;
  const md5 = records.find((r) => r.file === 'md5crypt.htpasswd' && r.user === 'alice')!;
  const bcrypt = records.find((r) => r.file === 'bcrypt-cost4.htpasswd' && r.user === 'alice')!;
  const sha256 = records.find((r) => r.file === 'sha256-rounds10000.htpasswd' && r.user === 'alice')!;
  const sha512 = records.find((r) => r.file === 'sha512.htpasswd' && r.user === 'alice')!;
  const des = records.find((r) => r.file === 'des.htpasswd' && r.user === 'alice')!;
  const sha1 = records.find((r) => r.file === 'sha1.htpasswd' && r.user === 'alice')!;
  const argon = records.find((r) => r.file === 'argon2.htpasswd' && r.user === 'alice')!;
  const pw = manifest.passwords['alice']!;

  const broken: [string, string][] = [];
  for (const r of [apr1, md5, bcrypt, sha256, sha512, des, sha1, argon]) {
    broken.push([`${r.file} minus its last character`, r.hash.slice(0, -1)]);
    broken.push([`${r.file} plus a character`, `${r.hash}A`]);
    broken.push([`${r.file} cut in half`, r.hash.slice(0, Math.ceil(r.hash.length / 2))]);
    broken.push([`${r.file} with a flipped character`, flip(r.hash, r.hash.length - 3)]);
  }
  broken.push(
    ['bare $apr1$', '$apr1$'],
    ['bare $1$', '$1$'],
    ['bare $2y$', '$2y$'],
    ['bare $5$', '$5$'],
    ['bare $6$', '$6$'],
    ['bare {SHA}', '{SHA}'],
    ['bare $argon2id$', '$argon2id$'],
    ['bcrypt with cost 99', `$2y$99$${bcrypt.hash.slice(7)}`],
    ['bcrypt with a non-numeric cost', `$2y$ab$${bcrypt.hash.slice(7)}`],
    ['bcrypt with characters outside its alphabet', `$2y$04$${'!'.repeat(53)}`],
    ['sha-crypt with rounds=abc', '$5$rounds=abc$saltsalt$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ'],
    ['sha-crypt with too few rounds (clamped by crypt, so it cannot match)', '$5$rounds=10$saltsalt$abc'],
    ['sha-crypt with a salt outside the alphabet', '$6$sa!t$abc'],
    ['argon2 with garbage parameters', '$argon2i$garbage'],
    ['argon2 with missing parameters', '$argon2id$v=19$m=1024'],
    ['{SHA} of something else', '{SHA}not-base64!'],
  );

  for (const [label, hash] of broken) {
    it(`${label} → false, no throw`, async () => {
      expect(await verifyPassword(hash, pw)).toBe(false);
    });
  }

  const unknown: [string, string][] = [
    ['empty string', ''],
    ['plain text equal to the password', pw],
    ['12 characters (not DES)', 'abcdefghijkl'],
    ['13 characters outside the DES alphabet', 'abcdefghijk!m'],
    ['{SSHA} (LDAP salted SHA, not in apr)', '{SSHA}abcdefgh'],
    ['$apr2$', '$apr2$abcdefgh$abc'],
    ['{sha} lower-case', '{sha}KusvaLb24DJ0ziPMVrqjntyCRkM='],
  ];
  for (const [label, hash] of unknown) {
    it(`unknown format (${label}) → false`, async () => {
      expect(hashKind(hash)).toBe('plain');
      expect(await verifyPassword(hash, pw)).toBe(false);
    });
  }

  // crypt(3) of libxcrypt on Debian knows these, so httpd would verify them; authts cannot.
  const unsupported: [string, string][] = [
    ['yescrypt', '$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ5XiVCe.'],
    ['gost-yescrypt', '$gy$j9T$abcdefghijklmnop$mixfBgwqRYkgJa0E4eWmDF3HC/BbYXm8ztA717oxvqD'],
    ['scrypt', '$7$CU..../....abcdefgh$XWs9HxtpA2.6U5CDBBbcW.h3o9pYlC.MIIb8JqMgZx6'],
    ['bcrypt $2x$', '$2x$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a'],
    ['sha1crypt', '$sha1$1000$abcdefgh$ji8ESnkwjcTjo4hThodnLYyi.3yG'],
    ['sunmd5', '$md5$abcdefgh$$TFWU.dlIfuoAjNld5IaX3.'],
    ['NT hash', '$3$$878d8014606cda29677a44efa1353fc7'],
    ['BSDi extended DES', '_J9..abcd/H6HLCcf7nw'],
  ];
  for (const [label, hash] of unsupported) {
    it(`${label} → AuthTsError HASH_UNSUPPORTED (httpd would verify it; authts cannot)`, async () => {
      expect(hashKind(hash)).toBe('unsupported');
      const err = await verifyPassword(hash, 'secret').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AuthTsError);
      expect((err as AuthTsError).code).toBe('HASH_UNSUPPORTED');
      expect((err as AuthTsError).message).not.toContain(hash.slice(8));
    });
  }
});

function flip(text: string, at: number): string {
  const ch = text[at] === 'a' ? 'b' : 'a';
  return text.slice(0, at) + ch + text.slice(at + 1);
}
