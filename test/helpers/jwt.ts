/**
 * Tokens and key sets for the JWT tests: key pairs made with jose, tokens minted with jose's
 * SignJWT, hand-made (forged) tokens for the attack tables, and a JWKS server on 127.0.0.1
 * (port 0) that counts its fetches and can rotate keys, fail or stall.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A key pair: the private key signs, the public one is what the server is given. */
export interface TestKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly publicPem: string;
}

/** A new key pair for `alg`, with `kid` in its public JWK. */
export async function makeKey(alg: 'RS256' | 'ES256' | 'ES384' | 'PS256' | 'EdDSA', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

/** Seconds since the epoch. */
export function epoch(ms = Date.now()): number {
  return Math.floor(ms / 1000);
}

/** Options of {@link mint}. */
export interface MintOptions {
  readonly kid?: string | null;
  readonly header?: Record<string, unknown>;
}

/** A token signed by `key` with `claims` (`exp` one hour ahead unless given). */
export async function mint(key: TestKey, claims: Record<string, unknown>, options: MintOptions = {}): Promise<string> {
  const kid = options.kid === null ? undefined : options.kid ?? key.kid;
  return new SignJWT({ exp: epoch() + 3600, ...claims } as JWTPayload)
    .setProtectedHeader({ alg: key.alg, ...(kid !== undefined ? { kid } : {}), ...options.header } as { alg: string })
    .sign(key.privateKey);
}

/** An HS256/384/512 token signed with `secret`. */
export async function mintHmac(secret: Uint8Array, claims: Record<string, unknown>, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256', header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ exp: epoch() + 3600, ...claims } as JWTPayload).setProtectedHeader({ alg, ...header }).sign(secret);
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/**
 * A hand-made token: header and payload as given, signed with HMAC-SHA256 under `hmacKey` when
 * given (the key-confusion attack signs with the public key's PEM text), else `signature` as is.
 */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, sign: { hmacKey?: string | Buffer; signature?: string } = {}): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (sign.hmacKey !== undefined) return `${input}.${createHmac('sha256', sign.hmacKey).update(input).digest('base64url')}`;
  return `${input}.${sign.signature ?? ''}`;
}

/** A JWKS (and optionally OpenID discovery) server on 127.0.0.1 whose behaviour tests change. */
export interface JwksServer {
  readonly url: string;
  readonly origin: string;
  /** Requests for the JWKS path so far. */
  fetches: number;
  /** Requests for the discovery document so far. */
  discoveryFetches: number;
  /** The keys served. */
  keys: JWK[];
  /** `ok`: 200 with the keys; `fail`: 503; `slow`: answer after `delayMs`; `garbage`: not JSON. */
  mode: 'ok' | 'fail' | 'slow' | 'garbage';
  delayMs: number;
  /** The discovery document's `issuer` (default: the server's origin + `/issuer`). */
  issuer: string;
  close(): Promise<void>;
}

/** Starts a {@link JwksServer}: `GET /jwks.json`, and `GET /issuer/.well-known/openid-configuration`. */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const timers = new Set<NodeJS.Timeout>();
  let server: Server;
  const state: JwksServer = {
    url: '',
    origin: '',
    fetches: 0,
    discoveryFetches: 0,
    keys,
    mode: 'ok',
    delayMs: 0,
    issuer: '',
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const answer = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/issuer/.well-known/openid-configuration') {
      state.discoveryFetches++;
      answer(res, 200, JSON.stringify({ issuer: state.issuer, jwks_uri: state.url }));
      return;
    }
    if (req.url !== '/jwks.json') return answer(res, 404, '{}');
    state.fetches++;
    const body = JSON.stringify({ keys: state.keys });
    if (state.mode === 'fail') return answer(res, 503, '{}');
    if (state.mode === 'garbage') return answer(res, 200, '<html>');
    if (state.mode === 'slow') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) answer(res, 200, body);
      }, state.delayMs);
      timers.add(timer);
      return;
    }
    answer(res, 200, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { origin: string }).origin = `http://127.0.0.1:${port}`;
  (state as { url: string }).url = `http://127.0.0.1:${port}/jwks.json`;
  state.issuer = `http://127.0.0.1:${port}/issuer`;
  return state;
}
