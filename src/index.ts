/**
 * authts: Apache httpd 2.4's access → authn → authz phases for Node.js.
 *
 * This entry point imports no web framework and no optional peer. It exports the types phase
 * handlers and modules are written against, the errors, and the pieces that load a configuration
 * and answer requests with it.
 *
 * @example
 * ```ts
 * import { createAuth } from 'authts';
 * const auth = await createAuth({ config: 'site.conf', root: 'public' });
 * const verdict = await auth.check({ method: 'GET', url: '/private/', headers: {}, remoteAddress: '127.0.0.1' });
 * ```
 *
 * The lower-level pieces, for a server of your own:
 *
 * ```ts
 * import { loadConfig, builtinModules, AuthEngine, createLogger } from 'authts';
 * const config = await loadConfig({ file: 'site.conf', modules: builtinModules() });
 * const engine = new AuthEngine(config, createLogger());
 * const verdict = await engine.check({ method: 'GET', path: '/private/', headers: {}, remoteAddress: '127.0.0.1' });
 * ```
 */
export type { AuthRequest, Phase, PhaseHandler, PhaseResult } from './request.js';
export type {
  AuthnProvider,
  AuthnResult,
  AuthzProvider,
  AuthzResult,
  AuthScheme,
  ContainerSpec,
  DirectiveContext,
  DirectiveSpec,
  HookSpec,
  Module,
  ModuleScope,
  PasswordChecker,
  RequireParseContext,
  TokenChecker,
  TokenResult,
} from './module.js';
export type { RequestInfo } from './request-state.js';
export type { Verdict } from './phases.js';
export { AuthTsError, ConfigError, ConfigErrors } from './errors.js';
export type { AuthTsErrorCode, ConfigErrorCode, SourceLocation } from './errors.js';
export { loadConfig, type LoadOptions } from './config/load.js';
export type { Config, DirConfig } from './config/config.js';
export { AuthEngine } from './engine.js';
export { ConnectionCache, type ConnectionCacheOptions, type ConnectionFactory, type Lease } from './cache.js';
export { builtinModules } from './modules.js';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './log.js';
export { startServer, type RunningServer, type ServeOptions } from './server/serve.js';
export { fileProvider, type FileProviderOptions } from './providers/file.js';
export { createAuth, type Auth, type CheckRequest, type CreateAuthOptions, type InlineConfig } from './api.js';
