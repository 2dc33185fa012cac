/**
 * `<IfModule>` around an httpd block must be true for every httpd module whose directives authts
 * implements: a false one would drop the block's rules without a word (a protection lost).
 */
import { describe, expect, it } from 'vitest';
import { check, engineFor } from '../../helpers/engine.js';

const IMPLEMENTED = [
  'mod_authn_core.c', 'mod_authn_file.c', 'mod_authn_anon.c', 'mod_auth_basic.c', 'mod_authz_core.c', 'mod_authz_user.c', 'mod_authz_groupfile.c',
  'mod_authz_host.c', 'mod_access_compat.c', 'mod_dbd.c', 'mod_authn_dbd.c', 'mod_authz_dbd.c', 'mod_auth_digest.c',
  'mod_auth_form.c', 'mod_session.c', 'mod_session_cookie.c', 'mod_session_crypto.c', 'mod_ldap.c', 'mod_authnz_ldap.c',
  'mod_authn_socache.c', 'mod_socache_shmcb.c', 'mod_log_config.c', 'mod_proxy.c', 'mod_proxy_http.c', 'mod_proxy_wstunnel.c',
];

describe('<IfModule> knows the httpd modules authts implements', () => {
  it.each(IMPLEMENTED)('<IfModule %s> applies its block', async (module) => {
    const identifier = `${module.slice(4, -2)}_module`;
    const engine = await engineFor(
      `<IfModule ${module}>\n<Location /a>\nRequire all denied\n</Location>\n</IfModule>\n` +
        `<IfModule ${identifier}>\n<Location /b>\nRequire all denied\n</Location>\n</IfModule>\n` +
        `<IfModule !${module}>\n<Location /c>\nRequire all denied\n</Location>\n</IfModule>\n`,
    );
    try {
      expect((await check(engine, { path: '/a' })).status).toBe(403);
      expect((await check(engine, { path: '/b' })).status).toBe(403);
      expect((await check(engine, { path: '/c' })).status).toBe(200);
    } finally {
      await engine.config.close();
    }
  });

  it('a module authts does not implement is absent', async () => {
    const engine = await engineFor('<IfModule mod_authn_dbm.c>\n<Location /a>\nRequire all denied\n</Location>\n</IfModule>\n');
    expect((await check(engine, { path: '/a' })).status).toBe(200);
    await engine.config.close();
  });
});
