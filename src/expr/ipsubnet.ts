/**
 * IP subnets and addresses with APR's rules, shared by `Require ip`, `Require local`,
 * `Require forward-dns` and the `-ipmatch` / `-R` operators.
 *
 * Subnets are parsed as `apr_ipsubnet_create` does (strict decimal dotted quads, partial IPv4
 * networks like `10.1`, masks as `/len` or `/255.255.0.0`, IPv6 with `/len`, IPv4-mapped IPv6
 * rejected); tests follow `apr_ipsubnet_test` (an IPv4-mapped client address matches IPv4
 * subnets only).
 */
import ipaddr from 'ipaddr.js';

/** An IPv4 or IPv6 address as four big-endian 32-bit words (IPv4: only `words[0]`). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly words: readonly [number, number, number, number];
}

/** A parsed subnet: `sub` is already masked. */
export interface IpSubnet {
  readonly family: 4 | 6;
  readonly sub: readonly [number, number, number, number];
  readonly mask: readonly [number, number, number, number];
}

/**
 * Why a subnet did not parse, as APR's status codes: `not-ip` (APR_EINVAL: does not look like an
 * address at all), `bad-ip` (APR_EBADIP), `bad-mask` (APR_EBADMASK).
 */
export type SubnetError = 'not-ip' | 'bad-ip' | 'bad-mask';

/** APR's `apr_strerror` texts for the two "looked like an address" failures. */
export const SUBNET_ERROR_TEXT: Readonly<Record<Exclude<SubnetError, 'not-ip'>, string>> = {
  'bad-ip': 'The specified IP address is invalid.',
  'bad-mask': 'The specified network mask is invalid.',
};

type Words = [number, number, number, number];

/**
 * `apr_ipsubnet_create(ip, mask)`: `mask` is the text after `/` (a bit count or a dotted IPv4
 * mask), or `undefined` when there was no `/` (then partial IPv4 networks such as `10.1` are
 * allowed). Returns the subnet or why it failed.
 *
 * @example
 * ```ts
 * parseSubnet('10.1', undefined);        // 10.1.0.0/16
 * parseSubnet('10.0.0.0', '255.255.0.0'); // 10.0.0.0/16
 * parseSubnet('10.1', '16');              // 'bad-ip' (a partial address takes no mask)
 * ```
 */
export function parseSubnet(ip: string, mask: string | undefined): IpSubnet | SubnetError {
  if (!looksLikeIp(ip)) return 'not-ip';
  const sub: Words = [0, 0, 0, 0];
  const bits: Words = [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
  let family: 4 | 6;
  const v6 = inetPton6(ip);
  if (v6) {
    // apr_ipsubnet_test assumes IPv4 subnets are never written as IPv4-mapped IPv6.
    if (isV4Mapped(v6)) return 'bad-ip';
    family = 6;
    sub.splice(0, 4, ...v6);
  } else {
    const v4 = inetPton4(ip);
    if (v4 !== undefined) {
      family = 4;
      sub[0] = v4;
    } else {
      if (mask !== undefined) return 'bad-ip';
      const network = parseNetwork(ip);
      if (!network) return 'bad-ip';
      family = 4;
      sub[0] = network.sub;
      bits[0] = network.mask;
    }
  }
  if (mask !== undefined) {
    const maxBits = family === 6 ? 128 : 32;
    const count = strtolWhole(mask);
    const dotted = inetPton4(mask);
    if (count !== undefined && count > 0 && count <= maxBits) {
      let left = count;
      for (let i = 0; i < 4; i++) {
        const take = Math.min(32, Math.max(0, left));
        bits[i] = take === 0 ? 0 : take === 32 ? 0xffffffff : (0xffffffff << (32 - take)) >>> 0;
        left -= take;
      }
    } else if (dotted !== undefined && family === 4) {
      bits[0] = dotted;
    } else {
      return 'bad-mask';
    }
  }
  if (family === 4) bits.fill(0, 1);
  for (let i = 0; i < 4; i++) sub[i] = (sub[i]! & bits[i]!) >>> 0;
  return Object.freeze({ family, sub: Object.freeze(sub), mask: Object.freeze(bits) });
}

/**
 * `apr_ipsubnet_test`: is `addr` inside `subnet`? (IPv4-mapped addresses arrive as IPv4.)
 * @example `subnetContains(parseSubnet('10.1', undefined) as IpSubnet, parseAddress('10.1.2.3')!)` → `true`
 */
export function subnetContains(subnet: IpSubnet, addr: IpAddress): boolean {
  if (addr.family !== subnet.family) return false;
  if (addr.family === 4) return ((addr.words[0] & subnet.mask[0]) >>> 0) === subnet.sub[0];
  for (let i = 0; i < 4; i++) {
    if (((addr.words[i]! & subnet.mask[i]!) >>> 0) !== subnet.sub[i]) return false;
  }
  return true;
}

/**
 * `apr_sockaddr_equal` on addresses: same family and words (IPv4-mapped counts as IPv4).
 * @example `sameAddress(parseAddress('::ffff:127.0.0.1')!, parseAddress('127.0.0.1')!)` → `true`
 */
export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  return a.family === b.family && a.words[0] === b.words[0] && a.words[1] === b.words[1] &&
    a.words[2] === b.words[2] && a.words[3] === b.words[3];
}

/**
 * A numeric address as `getaddrinfo` reads it (also `inet_aton` forms such as `10.1` or
 * `0x0a000001`, and IPv6 zone ids, which are ignored); IPv4-mapped IPv6 comes back as IPv4.
 * Anything else — host names included — is `undefined`: authts does not resolve names here.
 *
 * @example
 * ```ts
 * parseAddress('::ffff:10.0.0.1'); // { family: 4, words: [0x0a000001, 0, 0, 0] }
 * ```
 */
export function parseAddress(text: string): IpAddress | undefined {
  const fast = strictDottedQuad(text);
  if (fast !== undefined) return { family: 4, words: [fast, 0, 0, 0] };
  if (!ipaddr.isValid(text)) return undefined;
  const parsed = ipaddr.parse(text);
  const bytes = parsed.toByteArray();
  if (parsed.kind() === 'ipv4') return { family: 4, words: [wordAt(bytes, 0), 0, 0, 0] };
  const words: Words = [wordAt(bytes, 0), wordAt(bytes, 4), wordAt(bytes, 8), wordAt(bytes, 12)];
  if (isV4Mapped(words)) return { family: 4, words: [words[3], 0, 0, 0] };
  return { family: 6, words };
}

function wordAt(bytes: readonly number[], at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function isV4Mapped(w: readonly number[]): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

/** APR's `looks_like_ip`: has a `:` (IPv6), or only digits and dots. */
function looksLikeIp(text: string): boolean {
  if (text.length === 0) return false;
  if (text.includes(':')) return true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x2e && (c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/** `strtol(text, &end, 10)` when it consumes the whole text, else undefined. */
function strtolWhole(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[2]);
  return m[1] === '-' ? -n : n;
}

/** A plain `a.b.c.d` with decimal parts 0–255 and no leading zeros (the common fast path). */
function strictDottedQuad(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return undefined; // leading zero: inet_aton reads octal
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 0x2e && digits > 0) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      if (++parts > 4) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value >>> 0 : undefined;
}

/** APR's `inet_pton4`: exactly four decimal parts 0–255 (leading zeros are decimal). */
function inetPton4(text: string): number | undefined {
  const parts = [0];
  let sawDigit = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      const next = parts[parts.length - 1]! * 10 + (c - 0x30);
      if (next > 255) return undefined;
      parts[parts.length - 1] = next;
      sawDigit = true;
    } else if (c === 0x2e && sawDigit) {
      if (parts.length === 4) return undefined;
      parts.push(0);
      sawDigit = false;
    } else {
      return undefined;
    }
  }
  if (parts.length < 4 || !sawDigit) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** APR's `inet_pton6` (no zone ids, no brackets; an IPv4 tail is read with `inet_pton4`). */
function inetPton6(text: string): Words | undefined {
  const bytes = new Array<number>(16).fill(0);
  let tp = 0;
  let colonp = -1;
  let i = 0;
  if (text[0] === ':') {
    if (text[1] !== ':') return undefined;
    i = 1;
  }
  let curtok = i;
  let sawXdigit = false;
  let val = 0;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    const hex = parseInt(ch, 16);
    if (!Number.isNaN(hex)) {
      val = (val << 4) | hex;
      if (val > 0xffff) return undefined;
      sawXdigit = true;
      continue;
    }
    if (ch === ':') {
      curtok = i + 1;
      if (!sawXdigit) {
        if (colonp >= 0) return undefined;
        colonp = tp;
        continue;
      }
      if (tp + 2 > 16) return undefined;
      bytes[tp++] = (val >> 8) & 0xff;
      bytes[tp++] = val & 0xff;
      sawXdigit = false;
      val = 0;
      continue;
    }
    if (ch === '.' && tp + 4 <= 16) {
      const v4 = inetPton4(text.slice(curtok));
      if (v4 === undefined) return undefined;
      bytes[tp++] = v4 >>> 24;
      bytes[tp++] = (v4 >>> 16) & 0xff;
      bytes[tp++] = (v4 >>> 8) & 0xff;
      bytes[tp++] = v4 & 0xff;
      sawXdigit = false;
      i = text.length;
      break;
    }
    return undefined;
  }
  if (sawXdigit) {
    if (tp + 2 > 16) return undefined;
    bytes[tp++] = (val >> 8) & 0xff;
    bytes[tp++] = val & 0xff;
  }
  if (colonp >= 0) {
    const n = tp - colonp;
    for (let k = 1; k <= n; k++) {
      bytes[16 - k] = bytes[colonp + n - k]!;
      bytes[colonp + n - k] = 0;
    }
    tp = 16;
  }
  if (tp !== 16) return undefined;
  return [wordAt(bytes, 0), wordAt(bytes, 4), wordAt(bytes, 8), wordAt(bytes, 12)];
}

/** APR's `parse_network`: legacy `a`, `a.b`, `a.b.c` (trailing dot allowed) → network + mask. */
function parseNetwork(text: string): { sub: number; mask: number } | undefined {
  if (text.length >= 16) return undefined;
  let sub = 0;
  let mask = 0;
  let shift = 24;
  let i = 0;
  while (i < text.length) {
    const start = i;
    while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    if (i === start) return undefined;
    const octet = Number(text.slice(start, i));
    if (i < text.length) {
      if (text[i] !== '.') return undefined;
      i++;
    }
    if (shift < 0 || octet > 255) return undefined;
    sub = (sub | (octet << shift)) >>> 0;
    mask = (mask | (0xff << shift)) >>> 0;
    shift -= 8;
  }
  return { sub, mask };
}
