/**
 * LDAP string representations: filter values (RFC 4515) and distinguished names (RFC 4514).
 * User input never reaches a filter or a DN without going through these.
 */

/**
 * Escapes `value` for use as an assertion value in a search filter (RFC 4515 §3): `*`, `(`,
 * `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`. Other characters, UTF-8 included,
 * are kept (the filter is sent UTF-8 encoded).
 *
 * @example
 * ```ts
 * escapeFilterValue('*)(uid=*'); // '\\2a\\29\\28uid=\\2a'
 * ```
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Escapes `value` for use as an attribute value in a DN (RFC 4514 §2.4): `"`, `+`, `,`, `;`,
 * `<`, `>`, `\` and `=` are backslash-escaped, NUL becomes `\00`, a leading space or `#` and a
 * trailing space are escaped.
 *
 * @example
 * ```ts
 * `uid=${escapeDnValue('a,b')},ou=people,dc=example,dc=org`; // 'uid=a\\,b,ou=people,…'
 * ```
 */
export function escapeDnValue(value: string): string {
  let out = value.replace(/["+,;<>\\=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** One attribute-type-and-value of an RDN, the value unescaped. */
export interface DnAva {
  readonly type: string;
  readonly value: string;
}

/**
 * Parses a DN string (RFC 4514): RDNs separated by `,` (or `;`), multi-valued RDNs by `+`,
 * values with `\` escapes (`\,` or hex `\2C`, UTF-8 byte sequences included) or `#hex` BER.
 * Returns `undefined` for a malformed DN.
 *
 * @example
 * ```ts
 * parseDn('cn=Doe\\2C John,dc=org'); // [[{ type: 'cn', value: 'Doe, John' }], [{ type: 'dc', value: 'org' }]]
 * ```
 */
export function parseDn(dn: string): DnAva[][] | undefined {
  const rdns: DnAva[][] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: DnAva[] = [];
  while (i <= dn.length) {
    while (dn[i] === ' ') i++;
    const eq = dn.indexOf('=', i);
    if (eq < 0) return undefined;
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(type)) return undefined;
    i = eq + 1;
    const bytes: number[] = [];
    let pendingSpaces = 0;
    let started = false;
    const flush = (): void => {
      for (; pendingSpaces > 0; pendingSpaces--) bytes.push(0x20);
    };
    for (; i < dn.length; i++) {
      const c = dn[i]!;
      if (c === ',' || c === ';' || c === '+') break;
      if (c === '\\') {
        const hex = /^[0-9a-fA-F]{2}/.exec(dn.slice(i + 1, i + 3));
        flush();
        if (hex) {
          bytes.push(parseInt(hex[0], 16));
          i += 2;
        } else if (i + 1 < dn.length) {
          bytes.push(...Buffer.from(dn[i + 1]!, 'utf8'));
          i += 1;
        } else {
          return undefined;
        }
        started = true;
        continue;
      }
      if (c === ' ') {
        if (started) pendingSpaces++;
        continue;
      }
      flush();
      bytes.push(...Buffer.from(c, 'utf8'));
      started = true;
    }
    rdn.push({ type: type.toLowerCase(), value: Buffer.from(bytes).toString('utf8') });
    const sep = dn[i];
    i++;
    if (sep === '+') continue;
    rdns.push(rdn);
    rdn = [];
    if (sep === undefined) break;
  }
  return rdns;
}

/**
 * A comparable form of a DN: attribute types lower-cased, values unescaped, case-folded and
 * inner whitespace collapsed (the matching rules of the usual naming attributes — `uid`, `cn`,
 * `ou`, `dc` — ignore case and extra spaces), multi-valued RDNs sorted. `undefined` when the
 * DN is malformed. Used where the server is not asked (`AuthLDAPCompareDNOnServer Off`).
 *
 * @example
 * ```ts
 * normalizeDn('UID=Alice, OU=People,dc=Example') === normalizeDn('uid=alice,ou=people,dc=example'); // true
 * ```
 */
export function normalizeDn(dn: string): string | undefined {
  const parsed = parseDn(dn);
  if (!parsed) return undefined;
  return parsed
    .map((rdn) =>
      rdn
        .map((ava) => `${ava.type}=${escapeDnValue(ava.value.toLowerCase().replace(/\s+/g, ' ').trim())}`)
        .sort()
        .join('+'),
    )
    .join(',');
}
