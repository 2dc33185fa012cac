import { accessCompat } from './access/compat.js';
import { authBasic } from './authn/basic.js';
import { authBearer } from './authn/bearer.js';
import { authDigest } from './authn/digest.js';
import { authnSocache } from './authn/socache.js';
import { authTsRegulation } from './authn/regulation.js';
import { authnCore } from './authn/core.js';
import { authTsHandler } from './authts-handler.js';
import { authzCore } from './authz/core.js';
import { authzExpr } from './authz/expr.js';
import { authzGroupfile } from './authz/groupfile.js';
import { authzHost } from './authz/host.js';
import { authzUser } from './authz/user.js';
import { core } from './core-module.js';
import { forwardAuth } from './forward-auth-module.js';
import type { Module } from './module.js';
import { authnAnon } from './providers/anon.js';
import { authnFile } from './providers/file.js';
import { authnzJwt } from './providers/jwt/module.js';
import { authnzLdap } from './providers/ldap/module.js';
import { dbdModules } from './providers/dbd/module.js';
import { proxyModule } from './proxy-module.js';
import { authForm } from './authn/form.js';
import { authTsSession } from './session/module.js';
import { logConfig } from './server/access-log.js';
import { authTsMetrics } from './metrics/handler.js';
import { authTsStatus } from './status/status.js';

/**
 * The built-in modules, in hook registration order (which decides the order of hooks of equal
 * position, as httpd's module order does).
 */
export function builtinModules(): Module<any, any>[] {
  return [core, accessCompat, authnCore, authBasic, authDigest, authnFile, authnAnon, authnSocache, authTsRegulation, authzCore, authzUser, authzGroupfile, authzHost, authzExpr, authTsHandler, forwardAuth, proxyModule, authnzLdap, authBearer, authnzJwt, dbdModules.dbd, dbdModules.authnDbd, dbdModules.authzDbd, authTsSession, authForm, logConfig, authTsMetrics, authTsStatus];
}
