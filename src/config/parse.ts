/**
 * The httpd-style configuration parser: text and files into {@link ConfigNode} trees, with
 * `Define`/`UnDefine`, `${NAME}`, `Include`/`IncludeOptional`, `ServerRoot`, `<IfDefine>` and
 * `<IfModule>` resolved, and every error collected (never stopping at the first).
 *
 * Semantics follow httpd 2.4 (`server/config.c`, `server/core.c`, `server/util.c`), checked against
 * Apache 2.4.71 with `apache2 -t`; the deliberate differences are:
 * - an undefined `${NAME}` is an error (`CONFIG_UNDEFINED_VARIABLE`); httpd only warns and keeps
 *   the literal text, which silently turns e.g. a file path into `${NAME}/users`;
 * - a node's line is the *first* physical line of a continued line (httpd reports the last);
 * - mismatched section tags do not stop parsing: the parser recovers and reports the rest;
 * - a file that includes itself (directly or through others) is reported as a cycle at once
 *   (httpd recurses 128 times and then fails);
 * - a relative `ServerRoot` is resolved against the directory of the file that sets it (httpd
 *   uses its working directory).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import { ConfigError, type ConfigErrorCode, type SourceLocation } from '../errors.js';
import { errnoText, expandInclude } from './include.js';
import { logicalLines, readWord, splitWordsChecked, trimSpace } from './lexer.js';
import type { ConfigNode, DirectiveNode, SectionNode } from './nodes.js';

/** The `ap_getword_conf` word splitter, re-exported for modules that re-split `raw` arguments. */
export { splitWords } from './lexer.js';

/** httpd's `AP_MAX_INCLUDE_DEPTH`: how deeply `Include` may nest. */
export const MAX_INCLUDE_DEPTH = 128;

/** Inputs of {@link parseConfigFile} and {@link parseConfigText}; every field is optional. */
export interface ParseOptions {
  /**
   * Base of relative `Include` paths until a `ServerRoot` directive changes it. Default: the
   * directory of the top-level file.
   */
  readonly serverRoot?: string | undefined;
  /**
   * Names defined before the first line, like `httpd -D NAME`; each also has a value for
   * `${NAME}` (as `Define NAME value`).
   */
  readonly defines?: ReadonlyMap<string, string | undefined> | undefined;
  /** Where `${NAME}` looks when no `Define` gave NAME a value. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * Modules `<IfModule>` considers present, in any spelling: `mod_authn_file.c`,
   * `authn_file_module`, `mod_authn_file` or `authn_file`.
   */
  readonly knownModules?: ReadonlySet<string> | undefined;
}

/** Something suspicious that httpd accepts silently; loading goes on. */
export interface ParseWarning {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** What the parser produced. A non-empty `errors` means the configuration must not be used. */
export interface ParseResult {
  /** The top-level nodes, includes and true `<IfDefine>`/`<IfModule>` bodies spliced in. */
  readonly nodes: ConfigNode[];
  /** Every error found, in file order. */
  readonly errors: ConfigError[];
  readonly warnings: ParseWarning[];
  /** Every configuration file read (absolute paths, each once), to watch for reloading. */
  readonly files: string[];
  /** The names defined after the last line, with their values (`''` when defined without one). */
  readonly defines: Map<string, string>;
  /** The base for relative paths after the last line: the last `ServerRoot`, or the default. */
  readonly serverRoot: string;
}

/** How a parser frame treats the lines inside it. */
type FrameMode =
  /** The file's top level. */
  | 'root'
  /** A real section: a node of its own. */
  | 'section'
  /** A true `<IfDefine>`/`<IfModule>`: its lines go to the enclosing frame. */
  | 'splice'
  /** A false conditional, or any section inside one: lines are only scanned for tags. */
  | 'skip';

interface Frame {
  readonly name: string;
  readonly line: number;
  readonly mode: FrameMode;
  readonly children: ConfigNode[];
}

/** A section node still being filled. */
interface OpenSection extends SectionNode {
  readonly children: ConfigNode[];
}

/**
 * Parses a configuration file, following its `Include`s. Never throws for a bad configuration:
 * an unreadable top-level file is reported in `errors` (code `CONFIG_INCLUDE`, line 0). A
 * directory is read whole, like `Include dir`.
 *
 * @example
 * ```ts
 * const { nodes, errors } = await parseConfigFile('/etc/authts/authts.conf', {
 *   knownModules: new Set(['authn_file']),
 * });
 * if (errors.length > 0) throw new ConfigErrors(errors);
 * ```
 */
export async function parseConfigFile(file: string, options: ParseOptions): Promise<ParseResult> {
  const absolute = path.resolve(file);
  let base = path.dirname(absolute);
  try {
    if ((await stat(absolute)).isDirectory()) base = absolute;
  } catch {
    // Reported below, by the include expansion.
  }
  const parser = new Parser(options, base);
  const items = await expandInclude(absolute, { optional: false });
  for (const item of items) {
    if (item.kind === 'error') {
      parser.error('CONFIG_INCLUDE', { file: absolute, line: 0 }, '', item.message);
    } else {
      await parser.parseFile(item.path, parser.nodes, 0, [], { file: absolute, line: 0 }, '');
    }
  }
  return parser.result();
}

/**
 * Parses configuration text as if read from `options.file` (used in node locations and as the
 * default `serverRoot`'s directory; it need not exist). `Include`s are read from disk.
 *
 * @example
 * ```ts
 * const { nodes, errors } = await parseConfigText(
 *   '<Location />\n  AuthType Basic\n  Require valid-user\n</Location>\n',
 *   { file: 'inline.conf' },
 * );
 * // nodes[0] → { kind: 'section', name: 'Location', args: ['/'], line: 1, children: [...] }
 * ```
 */
export async function parseConfigText(
  text: string,
  options: ParseOptions & { readonly file: string },
): Promise<ParseResult> {
  const parser = new Parser(options, path.dirname(path.resolve(options.file)));
  let real = path.resolve(options.file);
  try {
    real = await realpath(real);
  } catch {
    // The text need not come from a real file.
  }
  await parser.parseText(text, options.file, parser.nodes, 0, [real]);
  return parser.result();
}

const CANONICAL_MODULE = /^(?:mod_)?(.+?)(?:\.c|_module)?$/;

/** `mod_x.c`, `x_module`, `mod_x`, `x` → `x`. */
function moduleKey(name: string): string {
  return CANONICAL_MODULE.exec(name)?.[1] ?? name;
}

/**
 * The module an `<IfModule>` argument names, in the two spellings httpd 2.4 understands: the
 * source file (`mod_authn_file.c`) or the module identifier (`authn_file_module`). Anything else
 * never matches in httpd (checked with 2.4.71: `<IfModule mod_authz_core>` is false even with the
 * module loaded), so it never matches here either, and the parser warns.
 */
function ifModuleKey(arg: string): string | undefined {
  const source = /^(?:mod_)?(.+)\.c$/.exec(arg);
  if (source) return source[1];
  const ident = /^(.+)_module$/.exec(arg);
  return ident?.[1];
}

class Parser {
  readonly nodes: ConfigNode[] = [];
  private readonly errors: ConfigError[] = [];
  private readonly warnings: ParseWarning[] = [];
  private readonly files = new Set<string>();
  /** Every defined name; the value is `''` for a `Define` without one. */
  private readonly defines = new Map<string, string>();
  /** The names whose `Define` gave a value: only these feed `${NAME}` (as in httpd). */
  private readonly valued = new Set<string>();
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly modules: ReadonlySet<string>;
  private serverRoot: string;

  constructor(options: ParseOptions, defaultRoot: string) {
    this.serverRoot =
      options.serverRoot === undefined ? defaultRoot : path.resolve(options.serverRoot);
    this.env = options.env ?? process.env;
    this.modules = new Set([...(options.knownModules ?? [])].map(moduleKey));
    for (const [name, value] of options.defines ?? []) {
      // `-D NAME` (no value) defines the name for <IfDefine> only, as httpd's -D does.
      this.defines.set(name, value ?? '');
      if (value !== undefined) this.valued.add(name);
    }
  }

  result(): ParseResult {
    return {
      nodes: this.nodes,
      errors: this.errors,
      warnings: this.warnings,
      files: [...this.files],
      defines: new Map(this.defines),
      serverRoot: this.serverRoot,
    };
  }

  error(
    code: ConfigErrorCode,
    where: SourceLocation,
    directive: string,
    message: string,
    hint?: string,
  ): void {
    this.errors.push(new ConfigError(code, where, directive, message, hint));
  }

  private warn(where: SourceLocation, message: string): void {
    this.warnings.push({ file: where.file, line: where.line, message });
  }

  /**
   * Reads and parses one file into `target`. `from` is the `Include` line (for read errors),
   * `stack` the real paths of the files including this one (for cycles).
   */
  async parseFile(
    file: string,
    target: ConfigNode[],
    depth: number,
    stack: readonly string[],
    from: SourceLocation,
    directive: string,
  ): Promise<void> {
    let real = file;
    try {
      real = await realpath(file);
    } catch {
      // readFile below reports the problem.
    }
    if (stack.includes(real)) {
      const chain = [...stack.slice(stack.indexOf(real)), real].join(' -> ');
      this.error(
        'CONFIG_INCLUDE',
        from,
        directive,
        `Include cycle: ${chain}`,
        'a file must not include itself, directly or through other files',
      );
      return;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      this.error(
        'CONFIG_INCLUDE',
        from,
        directive,
        `Could not open configuration file ${file}: ${errnoText(err)}`,
      );
      return;
    }
    this.files.add(file);
    await this.parseText(text, file, target, depth, [...stack, real]);
  }

  /** Parses one file's text into `target`; sections must close in the same file (as in httpd). */
  async parseText(
    text: string,
    file: string,
    target: ConfigNode[],
    depth: number,
    stack: readonly string[],
  ): Promise<void> {
    const frames: Frame[] = [{ name: '', line: 0, mode: 'root', children: target }];
    for (const { text: lineText, line } of logicalLines(text)) {
      const where: SourceLocation = { file, line };
      const top = frames[frames.length - 1] as Frame;

      if (top.mode === 'skip') {
        // httpd's ap_soak_end_container: no variables, no Define/Include; only tags count.
        const first = readWord(lineText);
        if (first.value.startsWith('</')) this.closeSection(frames, first.value, where);
        else if (first.value.startsWith('<')) {
          const name = first.value.endsWith('>') ? first.value.slice(1, -1) : first.value.slice(1);
          frames.push({ name, line, mode: 'skip', children: [] });
        }
        continue;
      }

      const substituted = this.substitute(lineText, where);
      const first = readWord(substituted);
      if (first.value === '' && first.end >= substituted.length) continue;
      const name = first.value;
      const rest = trimSpace(substituted.slice(first.end));

      if (name.startsWith('</')) {
        this.closeSection(frames, name, where);
      } else if (name.startsWith('<')) {
        this.openSection(frames, name, rest, where);
      } else {
        await this.directive(frames, name, rest, where, depth, stack);
      }
    }
    for (const frame of frames.slice(1).reverse()) {
      this.error(
        'CONFIG_SYNTAX',
        { file, line: frame.line },
        '',
        `<${frame.name}> was not closed.`,
        `add </${frame.name}>`,
      );
    }
  }

  /** `${NAME}` → a `Define`d value, else the environment; see the module comment. */
  private substitute(text: string, where: SourceLocation): string {
    if (!text.includes('${')) return text;
    return text.replace(/\$\{([^}]*)\}/g, (match, name: string) => {
      const value = this.valued.has(name) ? this.defines.get(name) : this.env[name];
      if (value !== undefined) return value;
      // httpd leaves `${map:key}` alone without a warning: it is mod_rewrite's RewriteMap syntax.
      if (name.includes(':')) return match;
      // httpd only warns (AH00111) and keeps the literal text; authts refuses the configuration,
      // because a literal "${NAME}" in a path or a Require line silently changes a decision.
      const hint = this.defines.has(name)
        ? `"Define ${name}" gives no value; write "Define ${name} value"`
        : `define it with "Define ${name} value" or set the environment variable ${name}`;
      this.error(
        'CONFIG_UNDEFINED_VARIABLE',
        where,
        sectionAwareName(readWord(text).value),
        `Config variable \${${name}} is not defined`,
        hint,
      );
      return match;
    });
  }

  private openSection(frames: Frame[], word: string, rest: string, where: SourceLocation): void {
    const top = frames[frames.length - 1] as Frame;
    const hadGt = word.endsWith('>');
    const name = hadGt ? word.slice(1, -1) : word.slice(1);
    // As httpd's ap_build_config_sub: `<Name>` alone gets the argument string ">".
    const argText = rest === '' ? '>' : rest;
    const gt = argText.lastIndexOf('>');
    let raw: string;
    if (gt < 0) {
      this.error('CONFIG_SYNTAX', where, '', `<${name}> directive missing closing '>'`);
      raw = argText;
    } else {
      raw = trimSpace(argText.slice(0, gt));
      const after = trimSpace(argText.slice(gt + 1));
      // httpd silently drops what follows the last '>' of an opening tag.
      if (after !== '') this.warn(where, `<${name}>: text after '>' is ignored: ${after}`);
      if (!hadGt && rest === '') this.warn(where, `<${name}> directive missing closing '>'`);
    }
    const { words: args, unterminated } = splitWordsChecked(raw);
    if (unterminated) this.warn(where, `<${name}>: unterminated quote runs to the end of the line`);

    const lower = name.toLowerCase();
    if (lower === 'ifdefine' || lower === 'ifmodule') {
      const on = this.condition(name, lower, raw, where);
      frames.push({
        name,
        line: where.line,
        mode: on ? 'splice' : 'skip',
        children: on ? top.children : [],
      });
      return;
    }
    const section: OpenSection = {
      kind: 'section',
      name,
      args,
      raw,
      file: where.file,
      line: where.line,
      children: [],
    };
    top.children.push(section);
    frames.push({ name, line: where.line, mode: 'section', children: section.children });
  }

  /** Evaluates `<IfDefine [!]NAME>` / `<IfModule [!]module>`; no name is an error (and false). */
  private condition(name: string, lower: string, raw: string, where: SourceLocation): boolean {
    // As httpd: '!' is read from the raw text, the name is the first word after it.
    const negate = raw.startsWith('!');
    const words = splitWordsChecked(negate ? raw.slice(1) : raw).words;
    const arg = words[0] ?? '';
    if (arg === '') {
      this.error(
        'CONFIG_SYNTAX',
        where,
        '',
        `<${name}> directive requires additional arguments`,
        lower === 'ifdefine'
          ? 'write <IfDefine NAME> or <IfDefine !NAME>'
          : 'write <IfModule mod_name.c>',
      );
      return false;
    }
    if (words.length > 1) {
      const ignored = words.slice(1).join(' ');
      this.warn(where, `<${name}>: arguments after the first are ignored: ${ignored}`);
    }
    let present: boolean;
    if (lower === 'ifdefine') {
      present = this.defines.has(arg);
    } else {
      const key = ifModuleKey(arg);
      if (key === undefined) {
        this.warn(
          where,
          `<${name} ${raw}>: httpd names a module only as mod_NAME.c or NAME_module; ` +
            `"${arg}" never matches`,
        );
      }
      present = key !== undefined && this.modules.has(key);
    }
    return present !== negate;
  }

  /**
   * Closes the innermost frame. Recovery: a tag that matches an outer frame closes everything up
   * to it (one error); a tag that matches nothing is reported and ignored.
   */
  private closeSection(frames: Frame[], word: string, where: SourceLocation): void {
    let name = word.slice(2);
    if (name.endsWith('>')) {
      name = name.slice(0, -1);
    } else {
      // httpd 2.4.71 rejects `</Directory >` and `</Directory x>` this way; recover by
      // treating the tag as the one it names.
      this.error('CONFIG_SYNTAX', where, '', `</${name}> directive missing closing '>'`);
    }
    if (frames.length === 1) {
      this.error('CONFIG_SYNTAX', where, '', `</${name}> without matching <${name}> section`);
      return;
    }
    const top = frames[frames.length - 1] as Frame;
    const same = (f: Frame): boolean => f.name.toLowerCase() === name.toLowerCase();
    if (same(top)) {
      frames.pop();
      return;
    }
    this.error('CONFIG_SYNTAX', where, '', `Expected </${top.name}> but saw </${name}>`);
    const at = frames.findLastIndex((f, i) => i > 0 && same(f));
    if (at > 0) frames.length = at;
  }

  private async directive(
    frames: Frame[],
    name: string,
    rest: string,
    where: SourceLocation,
    depth: number,
    stack: readonly string[],
  ): Promise<void> {
    const top = frames[frames.length - 1] as Frame;
    const { words: args, unterminated } = splitWordsChecked(rest);
    if (unterminated) this.warn(where, `${name}: unterminated quote runs to the end of the line`);

    switch (name.toLowerCase()) {
      case 'define': {
        const [key, value] = args;
        if (key === undefined || args.length > 2) {
          this.error(
            'CONFIG_BAD_ARGUMENT',
            where,
            name,
            'takes 1-2 arguments: a variable name and an optional value',
          );
        } else if (key.includes(':')) {
          this.error('CONFIG_BAD_ARGUMENT', where, name, "Variable name must not contain ':'");
        } else {
          this.defines.set(key, value ?? '');
          if (value === undefined) this.valued.delete(key);
          else this.valued.add(key);
        }
        return;
      }
      case 'undefine': {
        const [key] = args;
        if (key === undefined || args.length > 1) {
          const message = 'takes one argument: the variable to undefine';
          this.error('CONFIG_BAD_ARGUMENT', where, name, message);
        } else {
          this.defines.delete(key);
          this.valued.delete(key);
        }
        return;
      }
      case 'include':
      case 'includeoptional': {
        const [pattern] = args;
        if (pattern === undefined || args.length > 1) {
          const message = 'takes one argument: the file, directory or wildcard to include';
          this.error('CONFIG_BAD_ARGUMENT', where, name, message);
          return;
        }
        await this.include(name, pattern, top.children, where, depth, stack);
        return;
      }
      case 'serverroot':
        await this.setServerRoot(frames, name, args, where);
        break;
      default:
        break;
    }
    const node: DirectiveNode = {
      kind: 'directive',
      name,
      args,
      raw: rest,
      file: where.file,
      line: where.line,
    };
    top.children.push(node);
  }

  private async include(
    directive: string,
    pattern: string,
    target: ConfigNode[],
    where: SourceLocation,
    depth: number,
    stack: readonly string[],
  ): Promise<void> {
    const optional = directive.toLowerCase() === 'includeoptional';
    if (depth + 1 > MAX_INCLUDE_DEPTH) {
      this.error(
        'CONFIG_INCLUDE',
        where,
        directive,
        `Exceeded maximum include depth of ${MAX_INCLUDE_DEPTH}, There appears to be a recursion.`,
      );
      return;
    }
    const absolute = path.resolve(this.serverRoot, pattern);
    const items = await expandInclude(absolute, { optional });
    for (const item of items) {
      if (item.kind === 'error') {
        this.error(
          'CONFIG_INCLUDE',
          where,
          directive,
          item.message,
          item.message.startsWith('No matches')
            ? 'use IncludeOptional when no match is fine'
            : undefined,
        );
      } else {
        await this.parseFile(item.path, target, depth + 1, stack, where, directive);
      }
    }
  }

  /** `ServerRoot dir`: top level only; the base of later relative `Include`s. */
  private async setServerRoot(
    frames: readonly Frame[],
    name: string,
    args: readonly string[],
    where: SourceLocation,
  ): Promise<void> {
    const section = frames.findLast((f) => f.mode === 'section');
    if (section !== undefined) {
      const message = `cannot occur within <${section.name}> section`;
      this.error('CONFIG_NOT_ALLOWED_HERE', where, name, message);
      return;
    }
    const [dir] = args;
    if (dir === undefined || args.length > 1) {
      const message = 'takes one argument: the server root directory';
      this.error('CONFIG_BAD_ARGUMENT', where, name, message);
      return;
    }
    const absolute = path.resolve(path.dirname(path.resolve(where.file)), dir);
    let isDir = false;
    try {
      isDir = (await stat(absolute)).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      const message = `ServerRoot must be a valid directory: ${absolute}`;
      this.error('CONFIG_BAD_ARGUMENT', where, name, message);
      return;
    }
    this.serverRoot = absolute;
  }
}

/** `<Directory` as the first word of a section line is named `<Directory>` in messages. */
function sectionAwareName(word: string): string {
  return word.startsWith('<') && !word.endsWith('>') ? `${word}>` : word;
}
