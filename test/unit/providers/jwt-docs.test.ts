/**
 * The Bearer/JWT directives and error codes are documented where docs/ promises: every directive
 * of auth_bearer and authnz_jwt has a Description/Syntax/Default/Context entry in
 * docs/directives.md and an index row; every JWT error code has a row in docs/errors.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { authBearer } from '../../../src/authn/bearer.js';
import { authnzJwt } from '../../../src/providers/jwt/module.js';

const directives = readFileSync(new URL('../../../docs/directives.md', import.meta.url), 'utf8');
const errors = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('Bearer/JWT documentation', () => {
  for (const spec of [...(authBearer.directives ?? []), ...(authnzJwt.directives ?? [])]) {
    it(`docs/directives.md documents ${spec.name}`, () => {
      const start = directives.indexOf(`\n### ${spec.name}\n`);
      expect(start, spec.name).toBeGreaterThan(0);
      const entry = directives.slice(start, directives.indexOf('\n### ', start + 5));
      for (const field of ['Description', 'Syntax', 'Default', 'Context', 'Module']) expect(entry, `${spec.name} ${field}`).toContain(`- **${field}:**`);
      expect(entry).toContain(spec.syntax.split(' ')[0]!);
      expect(directives).toContain(`| [\`${spec.name}\`](#${spec.name.toLowerCase()}) |`);
    });
  }

  it('docs/directives.md documents Require jwt-claim and jwt-scope', () => {
    for (const name of Object.keys(authnzJwt.authzProviders ?? {})) expect(directives).toContain(`### Require ${name}\n`);
  });

  it('docs/errors.md has a row for every JWT code', () => {
    for (const code of ['CONFIG_BAD_KEY', 'JWT_KEYS_UNAVAILABLE', 'JWT_KEYS_STALE']) expect(errors).toContain(`| \`${code}\` |`);
  });
});
