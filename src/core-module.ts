import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { DirectiveContext, Module } from './module.js';

/** Where `authts serve` listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Server-wide core settings. */
export interface CoreServerSettings {
  listen: ListenAddress[];
  documentRoot: string | undefined;
}

/** Per-section core settings. */
export interface CoreDirSettings {
  /** `DirectoryIndex` (default `index.html`); `disabled` turns it off. */
  directoryIndex: readonly string[] | undefined;
  /**
   * `SetHandler`: the content handler that answers instead of the file, lower-cased; `none`
   * when a section turned an outer one off; undefined when no section set one.
   */
  handler: string | undefined;
}

/** Resolves a directive's path argument against ServerRoot, as httpd's `ap_server_root_relative`. */
export function serverPath(ctx: DirectiveContext, value: string): string {
  return isAbsolute(value) ? value : resolvePath(ctx.serverRoot, value);
}

/** Parses `Listen [addr:]port`; IPv6 addresses in brackets. */
export function parseListen(value: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host: m[1] || m[2] || '0.0.0.0', port };
}

/**
 * httpd's core directives that matter to authts: `Listen`, `DocumentRoot`, `DirectoryIndex`
 * (mod_dir), `SetHandler` (for authts's own content handlers), `ServerRoot` (read by the parser for Include), and `AllowOverride`, which is
 * accepted only as `None`: authts never reads `.htaccess` files, so a config that relies on
 * them would silently lose rules.
 */
export const core: Module<CoreDirSettings, CoreServerSettings> = {
  name: 'core',
  createDirSettings: () => ({ directoryIndex: undefined, handler: undefined }),
  mergeDirSettings: (base, add) => ({
    directoryIndex: add.directoryIndex ?? base.directoryIndex,
    handler: add.handler ?? base.handler,
  }),
  createServerSettings: () => ({ listen: [], documentRoot: undefined }),
  directives: [
    {
      name: 'Listen',
      context: 'server',
      minArgs: 1,
      maxArgs: 2,
      syntax: 'Listen [IP-address:]portnumber',
      apply(ctx, [value]) {
        const address = parseListen(value!);
        if (!address) return ctx.error('CONFIG_BAD_ARGUMENT', `Invalid address or port: ${value}`, 'e.g. Listen 127.0.0.1:8080');
        ctx.server(core).listen.push(address);
      },
    },
    {
      name: 'DocumentRoot',
      context: 'server',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'DocumentRoot directory-path',
      apply(ctx, [value]) {
        ctx.server(core).documentRoot = serverPath(ctx, value!);
      },
    },
    {
      name: 'DirectoryIndex',
      context: 'any',
      minArgs: 1,
      syntax: 'DirectoryIndex disabled | local-url [local-url] ...',
      apply(ctx, args) {
        ctx.dir(core).directoryIndex = args.length === 1 && args[0]!.toLowerCase() === 'disabled' ? [] : [...args];
      },
    },
    {
      name: 'SetHandler',
      context: 'section',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'SetHandler handler-name|None',
      apply(ctx, [value]) {
        const name = value!.toLowerCase();
        if (name !== 'none' && !ctx.registry.modules.some((m) => m.contentHandlers?.some((h) => h.name.toLowerCase() === name))) {
          const known = ctx.registry.modules.flatMap((m) => (m.contentHandlers ?? []).map((h) => h.name));
          ctx.error('CONFIG_BAD_ARGUMENT', `SetHandler ${value}: no such handler`, known.length > 0 ? `authts has ${known.join(', ')} (or None)` : 'authts has no content handlers loaded');
        }
        ctx.dir(core).handler = name;
      },
    },
    {
      name: 'ServerRoot',
      context: 'server',
      minArgs: 1,
      maxArgs: 1,
      syntax: 'ServerRoot directory-path',
      apply() {
        // Consumed by the parser (it changes where Include looks); nothing left to do here.
      },
    },
    {
      name: 'AllowOverride',
      context: 'section',
      minArgs: 1,
      syntax: 'AllowOverride None',
      apply(ctx, args) {
        if (args.length !== 1 || args[0]!.toLowerCase() !== 'none') {
          ctx.error(
            'CONFIG_BAD_ARGUMENT',
            `AllowOverride ${args.join(' ')} would let .htaccess files change access rules, and authts does not read them`,
            'move the .htaccess rules into this section and use AllowOverride None',
          );
        }
      },
    },
  ],
};
