/**
 * Type tests of the public API (createAuth, Auth, the adapters' guards and the request
 * properties they add). The assertions are checked by `tsc` (`npm run typecheck` covers test/),
 * and the file also runs in the normal suite; the `@ts-expect-error` lines fail the typecheck
 * if the misuse they show ever type-checks.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { RequestHandler, Request as ExpressRequest } from 'express';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import * as expressAdapter from '../../src/adapters/express.js';
import * as fastifyAdapter from '../../src/adapters/fastify.js';
import * as nodeAdapter from '../../src/adapters/node.js';
import {
  createAuth,
  fileProvider,
  type Auth,
  type AuthnResult,
  type CheckRequest,
  type CreateAuthOptions,
  type Logger,
  type Module,
  type PasswordChecker,
  type Verdict,
} from '../../src/index.js';

type RequestAuth = nodeAdapter.RequestAuth;

describe('public API types', () => {
  it('createAuth takes CreateAuthOptions and resolves to an Auth', () => {
    expectTypeOf(createAuth).parameter(0).toEqualTypeOf<CreateAuthOptions>();
    expectTypeOf(createAuth).returns.resolves.toEqualTypeOf<Auth>();
    expectTypeOf<CreateAuthOptions['config']>().toEqualTypeOf<string | { readonly text: string; readonly name?: string }>();
    expectTypeOf<CreateAuthOptions['root']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<CreateAuthOptions['logger']>().toEqualTypeOf<Logger | undefined>();
    expectTypeOf<CreateAuthOptions['modules']>().toEqualTypeOf<readonly Module<any, any>[] | undefined>();
    expectTypeOf<{ config: 'site.conf' }>().toExtend<CreateAuthOptions>();
    expectTypeOf<{ config: { text: '' }; defines: { A: 'x' } }>().toExtend<CreateAuthOptions>();
    expectTypeOf<{ config: { text: '' }; defines: Map<string, string> }>().toExtend<CreateAuthOptions>();
    expectTypeOf<{ config: 42 }>().not.toExtend<CreateAuthOptions>();
    expectTypeOf<{ config: { name: 'x' } }>().not.toExtend<CreateAuthOptions>();
    expectTypeOf<{ root: '/srv' }>().not.toExtend<CreateAuthOptions>();
  });

  it('Auth.check takes a CheckRequest (node:http shapes fit) and resolves to a Verdict', () => {
    expectTypeOf<Auth['check']>().parameter(0).toEqualTypeOf<CheckRequest>();
    expectTypeOf<Auth['check']>().returns.resolves.toEqualTypeOf<Verdict>();
    expectTypeOf<Auth['close']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<IncomingMessage['headersDistinct']>().toExtend<CheckRequest['headers']>();
    expectTypeOf<IncomingMessage['headers']>().toExtend<CheckRequest['headers']>();
    expectTypeOf<{ method: 'GET'; url: '/'; headers: {}; remoteAddress: '::1' }>().toExtend<CheckRequest>();
    expectTypeOf<{ method: 'GET'; path: '/'; headers: {}; remoteAddress: '::1' }>().not.toExtend<CheckRequest>();
  });

  it('a Verdict carries status, headers, identity and env, all read-only', () => {
    expectTypeOf<Verdict['allowed']>().toEqualTypeOf<boolean>();
    expectTypeOf<Verdict['status']>().toEqualTypeOf<number>();
    expectTypeOf<Verdict['headers']>().toEqualTypeOf<ReadonlyMap<string, string>>();
    expectTypeOf<Verdict['user']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Verdict['authType']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Verdict['env']>().toEqualTypeOf<ReadonlyMap<string, string>>();
    const readOnly = (verdict: Verdict): void => {
      // @ts-expect-error a verdict is read-only
      verdict.status = 200;
    };
    expectTypeOf(readOnly).toBeFunction();
  });

  it('fileProvider resolves to a PasswordChecker answering granted/denied/not-found', () => {
    expectTypeOf(fileProvider).parameter(0).toEqualTypeOf<{ readonly userFile: string; readonly logger?: Logger }>();
    expectTypeOf(fileProvider).returns.resolves.toEqualTypeOf<PasswordChecker>();
    expectTypeOf<PasswordChecker['checkPassword']>().returns.resolves.toEqualTypeOf<AuthnResult>();
    expectTypeOf<AuthnResult>().toEqualTypeOf<'granted' | 'denied' | 'not-found'>();
  });

  it('authts/node: guard wraps a listener whose req has a typed auth', () => {
    expectTypeOf(nodeAdapter.guard<IncomingMessage, ServerResponse>)
      .parameter(1)
      .toEqualTypeOf<(req: IncomingMessage & { readonly auth: RequestAuth }, res: ServerResponse) => void>();
    expectTypeOf(nodeAdapter.guard<IncomingMessage, ServerResponse>).returns.toExtend<RequestListener>();
    expectTypeOf<nodeAdapter.GuardedRequest['auth']>().toEqualTypeOf<RequestAuth>();
    expectTypeOf<RequestAuth>().toEqualTypeOf<{
      readonly user: string | undefined;
      readonly authType: string | undefined;
      readonly env: ReadonlyMap<string, string>;
    }>();
  });

  it('authts/express: guard is middleware and req.auth is typed by declaration merging', () => {
    expectTypeOf(expressAdapter.guard).returns.toEqualTypeOf<RequestHandler>();
    expectTypeOf(expressAdapter.guard).parameter(1).toEqualTypeOf<expressAdapter.ExpressGuardOptions | undefined>();
    expectTypeOf<ExpressRequest['auth']>().toEqualTypeOf<RequestAuth | undefined>();
    expectTypeOf<expressAdapter.ExpressGuardOptions['refusals']>().toEqualTypeOf<'respond' | 'next' | undefined>();
    expectTypeOf<expressAdapter.ExpressGuardOptions['routes']>().toEqualTypeOf<'case-sensitive' | undefined>();
    expectTypeOf<expressAdapter.AuthRefusedError['status']>().toEqualTypeOf<number>();
    expectTypeOf<expressAdapter.AuthRefusedError['headers']>().toEqualTypeOf<Readonly<Record<string, string>>>();
  });

  it('authts/fastify: guard is a plugin and request.auth is typed by declaration merging', () => {
    expectTypeOf(fastifyAdapter.guard).returns.toEqualTypeOf<FastifyPluginAsync>();
    expectTypeOf<FastifyRequest['auth']>().toEqualTypeOf<RequestAuth | undefined>();
    expectTypeOf<fastifyAdapter.FastifyGuardOptions['refusals']>().toEqualTypeOf<'respond' | 'error' | undefined>();
    expectTypeOf<fastifyAdapter.AuthRefusedError['statusCode']>().toEqualTypeOf<number>();
  });
});
