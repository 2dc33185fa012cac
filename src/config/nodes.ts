/**
 * The parsed form of an httpd-style configuration: what the parser produces and the loader
 * consumes. `Define`, `${NAME}`, `Include`/`IncludeOptional`, `<IfDefine>` and `<IfModule>` are
 * already resolved here; every node knows the file and line it came from.
 */

/** A plain directive line, e.g. `AuthType Basic`. */
export interface DirectiveNode {
  readonly kind: 'directive';
  /** The name as written (httpd directive names are case-insensitive). */
  readonly name: string;
  /** Words split as httpd's `ap_getword_conf` does: quotes removed, `\"` unescaped. */
  readonly args: readonly string[];
  /** The text after the name, variables substituted, trimmed, quotes kept. */
  readonly raw: string;
  readonly file: string;
  readonly line: number;
}

/** A container, e.g. `<Directory "/srv/www">…</Directory>`. */
export interface SectionNode {
  readonly kind: 'section';
  /** The name without `<`, as written, e.g. `Directory`, `RequireAll`. */
  readonly name: string;
  readonly args: readonly string[];
  readonly raw: string;
  readonly file: string;
  readonly line: number;
  readonly children: readonly ConfigNode[];
}

export type ConfigNode = DirectiveNode | SectionNode;
