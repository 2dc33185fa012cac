// The Bearer fixtures of bench/jwt-bench.mjs and bench/peers-bench.mjs: keys, tokens (valid and
// bad) and the file, made with jose at the start of a run.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The `iss` every token carries and every server requires. */
export const ISSUER = 'https://issuer.bench.example';
/** The `aud` every valid token carries and every server requires. */
export const AUDIENCE = 'bench-api';


/**
 * In `dir`: www/p/file.txt (`fileBody`), one key pair per algorithm (ES256 on P-256, RS256 with
 * 2048 bits; the public key as a PEM file), a valid token per algorithm (`iss`, `aud`, `iat`,
 * `exp` 3 h ahead, `kid`, `typ: JWT`) and bad ones: a changed signature character, the valid
 * signature under other claims, a wrong audience. Returns { www, file, keys: { alg: pem path },
 * tokens: { alg: token }, bad: { alg: { tampered, escalated, wrongAudience } } }.
 */
export async function makeJwtFixtures(dir, fileBody) {
  const { exportSPKI, generateKeyPair, SignJWT } = await import('jose');
  const www = join(dir, 'www');
  await mkdir(join(www, 'p'), { recursive: true });
  await writeFile(join(www, 'p', 'file.txt'), fileBody);
  const now = Math.floor(Date.now() / 1000);
  const fixtures = { www, file: join(www, 'p', 'file.txt'), keys: {}, tokens: {}, bad: {} };
  for (const alg of ['ES256', 'RS256']) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const pem = join(dir, `${alg}.pem`);
    await writeFile(pem, await exportSPKI(publicKey));
    fixtures.keys[alg] = pem;
    const sign = (claims) =>
      new SignJWT({ sub: 'bench-user', scope: 'read', ...claims })
        .setProtectedHeader({ alg, typ: 'JWT', kid: `bench-${alg}` })
        .setIssuer(ISSUER)
        .setIssuedAt(now)
        .setExpirationTime(now + 3 * 3600)
        .sign(privateKey);
    const token = await sign({ aud: AUDIENCE });
    fixtures.tokens[alg] = token;
    const [h, p, s] = token.split('.');
    const flip = s[10] === 'A' ? 'B' : 'A';
    fixtures.bad[alg] = {
      tampered: `${h}.${p}.${s.slice(0, 10)}${flip}${s.slice(11)}`,
      escalated: `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: now + 3600 })).toString('base64url')}.${s}`,
      wrongAudience: await sign({ aud: 'another-api' }),
    };
  }
  return fixtures;
}


/**
 * The `<Location "/p">` every authts Bearer row protects its file with: the public key in
 * `keyFile`, one algorithm, this run's issuer and audience, the verified-token cache on or off.
 */
export function bearerLocation(keyFile, alg, cache) {
  return [
    '<Location "/p">',
    '    AuthType Bearer',
    '    AuthName "bench"',
    `    AuthTsJwtKeys "${keyFile}"`,
    `    AuthTsJwtAlgorithms ${alg}`,
    `    AuthTsJwtIssuer ${ISSUER}`,
    `    AuthTsJwtAudience ${AUDIENCE}`,
    `    AuthTsJwtCache ${cache ? 'On' : 'Off'}`,
    '    Require valid-user',
    '</Location>',
  ];
}
