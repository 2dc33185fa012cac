/**
 * `authts/passport`: passport, both ways.
 *
 * - {@link passportModule}: any passport strategy as the authn handler of a section
 *   (`AuthType passport` + `AuthTsPassportStrategy name`), for `authts serve`, `startServer` and
 *   `AuthEngine`.
 * - {@link AuthTsStrategy} (also exported as `Strategy`): any authts `PasswordChecker`
 *   (`fileProvider`, …) as a passport strategy, for apps that use passport themselves.
 * - {@link bodyReader}: the `readBody` a node:http server hands to `AuthEngine.check` so that
 *   form strategies (`AuthTsPassportFormBody On`) can read the posted form.
 *
 * This entry point imports neither passport nor any strategy package (they are optional peers
 * of authts): strategies are passed in by the application.
 *
 * @example
 * ```ts
 * import { passportModule, AuthTsStrategy } from 'authts/passport';
 * ```
 */
export {
  passportModule,
  parseForm,
  DEFAULT_FORM_SIZE,
  type PassportModuleOptions,
  type PassportSettings,
  type PassportStrategyEntry,
  type PassportStrategyLike,
} from '../authn/passport.js';
export {
  AuthTsStrategy,
  AuthTsStrategy as Strategy,
  type AuthTsStrategyOptions,
  type AuthTsUser,
  type BasicStrategyOptions,
  type FailureMessage,
  type FormStrategyOptions,
  type StrategyRequest,
} from './strategy.js';
export { bodyReader, type BodyReader, type BodyStream } from '../request-body.js';
