/**
 * A Digest client for tests: reads a server's challenge and computes the `Authorization` value
 * a conforming client sends (RFC 7616), written from the RFC independently of src/authn's
 * hashing, so that a wrong server formula cannot agree with itself. Fields can be overridden
 * to build attacks (another uri, a tampered opaque, a replayed nc).
 */
import { createHash } from 'node:crypto';

/** The parameters of a `WWW-Authenticate: Digest …` challenge (names lower-cased). */
export function challengeParams(header: string): Record<string, string> {
  const m = /^Digest\s+(.*)$/is.exec(header);
  if (!m) throw new Error(`not a Digest challenge: ${header}`);
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
  const text = m[1]!;
  let match: RegExpExecArray | null;
  while (re.lastIndex < text.length && (match = re.exec(text)) !== null) {
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  return params;
}

/** What to answer a challenge with. */
export interface DigestAnswer {
  readonly user: string;
  readonly password: string;
  readonly method?: string;
  readonly uri: string;
  /** The nonce count (default 1). */
  readonly nc?: number;
  readonly cnonce?: string;
  /** Answer without qop (RFC 2069 style), even if the challenge offers it. */
  readonly noQop?: boolean;
  /** Replace (or with `undefined`, drop) fields of the header after the response is computed. */
  readonly override?: Readonly<Record<string, string | undefined>>;
  /** The `uri` hashed into the response, when it must differ from the one sent. */
  readonly hashedUri?: string;
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** The `Authorization` value answering `challenge` (a `WWW-Authenticate` value). */
export function digestAuthorization(challenge: string, answer: DigestAnswer): string {
  const c = challengeParams(challenge);
  const algorithm = c['algorithm'] ?? 'MD5';
  const hash = /^SHA-256/i.test(algorithm) ? 'sha256' : 'md5';
  const h = (text: string): string => createHash(hash).update(text, 'utf8').digest('hex');
  const nonce = c['nonce']!;
  const realm = c['realm']!;
  const cnonce = answer.cnonce ?? 'Y25vbmNlLWZvci10ZXN0cw';
  const nc = (answer.nc ?? 1).toString(16).padStart(8, '0');
  const qop = !answer.noQop && c['qop'] !== undefined ? 'auth' : undefined;
  let ha1 = h(`${answer.user}:${realm}:${answer.password}`);
  if (/-sess$/i.test(algorithm)) ha1 = h(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = h(`${answer.method ?? 'GET'}:${answer.hashedUri ?? answer.uri}`);
  const response = qop ? h(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : h(`${ha1}:${nonce}:${ha2}`);
  const fields: Record<string, string | undefined> = {
    username: quote(answer.user),
    realm: quote(realm),
    nonce: quote(nonce),
    uri: quote(answer.uri),
    algorithm,
    response: quote(response),
    opaque: c['opaque'] === undefined ? undefined : quote(c['opaque']),
    qop,
    nc: qop ? nc : undefined,
    cnonce: qop || /-sess$/i.test(algorithm) ? quote(cnonce) : undefined,
  };
  for (const [name, value] of Object.entries(answer.override ?? {})) fields[name] = value;
  return `Digest ${Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`)
    .join(', ')}`;
}
