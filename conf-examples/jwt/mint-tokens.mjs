#!/usr/bin/env node
// Makes the keys and the tokens of conf-examples/jwt: two new key pairs (RS256 and ES256), their
// public halves written to keys/issuer.pem and keys/jwks.json, and tokens signed with the private
// halves, written into README.md's `NAME=token` lines. The private keys are never written: run
// it again and every key and token changes together.
//   node conf-examples/jwt/mint-tokens.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const rs = await generateKeyPair('RS256', { extractable: true });
const es = await generateKeyPair('ES256', { extractable: true });
writeFileSync(join(here, 'keys', 'issuer.pem'), await exportSPKI(rs.publicKey));
const jwk = { ...(await exportJWK(es.publicKey)), kid: 'example-es256', alg: 'ES256', use: 'sig' };
writeFileSync(join(here, 'keys', 'jwks.json'), `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`);

const FAR = Date.UTC(2099, 11, 31) / 1000; // valid until the end of 2099
const PAST = Date.UTC(2020, 0, 1) / 1000;
const base = { iss: 'https://issuer.example', aud: 'api', iat: Date.UTC(2025, 0, 1) / 1000, exp: FAR };
const signEs = (claims) => new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'example-es256', typ: 'at+jwt' }).sign(es.privateKey);
const signRs = (claims) => new SignJWT({ ...base, ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' }).sign(rs.privateKey);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

const tokens = {
  ALICE: await signEs({ sub: 'alice', scope: 'read reports', role: 'admin' }),
  BOB: await signRs({ sub: 'bob', scope: 'read', role: 'user' }),
  CAROL: await signEs({ sub: 'carol', scope: 'profile' }),
  EXPIRED: await signEs({ sub: 'alice', scope: 'read', exp: PAST }),
  BILLING: await signEs({ sub: 'alice', scope: 'read', aud: 'billing' }),
  UNSIGNED: `${b64({ alg: 'none' })}.${b64({ ...base, sub: 'alice', scope: 'read', role: 'admin' })}.`,
};

const readme = join(here, 'README.md');
let text = readFileSync(readme, 'utf8');
for (const [name, token] of Object.entries(tokens)) {
  const line = new RegExp(`^${name}=\\S*`, 'm');
  if (!line.test(text)) throw new Error(`README.md has no ${name}= line`);
  text = text.replace(line, `${name}=${token}`);
}
writeFileSync(readme, text);
console.log(`wrote keys/issuer.pem, keys/jwks.json and ${Object.keys(tokens).length} tokens into README.md`);
