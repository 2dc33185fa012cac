import type { SourceLocation } from '../errors.js';
import { fnmatch } from '../expr/fnmatch.js';
import type { Module } from '../module.js';
import { hasWildcard } from './include.js';

/** The section kinds httpd walks, in the order it merges them. */
export type SectionKind = 'directory' | 'files' | 'location';

/**
 * One configuration section after loading: what it matches and its own (unmerged) settings.
 * `<DirectoryMatch>`, `<FilesMatch>` and `<LocationMatch>` (and the `~` forms) have a `regex`.
 */
export interface Section {
  readonly id: number;
  readonly kind: SectionKind;
  /** `Directory`, `FilesMatch`, … as written, for messages. */
  readonly name: string;
  readonly where: SourceLocation;
  /** For non-regex sections: the path or name to match (`*`, `?`, `[]` wildcards allowed). */
  readonly pattern: string;
  readonly regex: RegExp | undefined;
  /** For a non-regex `<Directory>`: how many components the path has (the sort key). */
  readonly components: number;
  /** A `<Files>` nested in a `<Directory>` applies only where that directory matches. */
  readonly parent: Section | undefined;
  readonly settings: ReadonlyMap<Module<any, any>, unknown>;
}

/** What a request is matched on. */
export interface MatchTarget {
  /** The normalized URL path. */
  readonly path: string;
  /** The real filesystem path, when the request maps to one. */
  readonly filename?: string | undefined;
  /** True when `filename` is a directory (its own `<Directory>` sections apply). */
  readonly isDirectory?: boolean | undefined;
}

/**
 * The sections that apply to `target`, in httpd's merge order: non-regex `<Directory>` from
 * the shortest path to the longest (config order among equals), then `<DirectoryMatch>`, then
 * `<Files>`/`<FilesMatch>` (top-level first, then those nested in matching directories, each in
 * config order), then `<Location>`/`<LocationMatch>` in config order.
 */
export function matchSections(sections: SectionIndex, target: MatchTarget): Section[] {
  const out: Section[] = [];
  const matchedDirs = new Set<Section>();
  if (target.filename !== undefined) {
    const dirPath = target.isDirectory ? target.filename : parentDirectory(target.filename);
    const walked = ancestors(dirPath);
    for (const section of sections.directories) {
      const candidate = walked[section.components];
      if (candidate !== undefined && fnmatchPath(section.pattern, candidate)) {
        out.push(section);
        matchedDirs.add(section);
      }
    }
    const dirWithSlash = dirPath.endsWith('/') ? dirPath : `${dirPath}/`;
    for (const section of sections.directoryRegexes) {
      if (section.regex!.test(dirWithSlash) || section.regex!.test(dirPath)) {
        out.push(section);
        matchedDirs.add(section);
      }
    }
    const base = basename(target.filename);
    for (const section of sections.files) {
      if (section.parent !== undefined && !matchedDirs.has(section.parent)) continue;
      const hit = section.regex ? section.regex.test(base) : fnmatchName(section.pattern, base);
      if (hit) out.push(section);
    }
  }
  // Case-blind: both sides folded (the patterns once, in indexSections).
  const urlPath = sections.caseBlindLocations ? target.path.toLowerCase() : target.path;
  for (const section of sections.locations) {
    const hit = section.regex ? section.regex.test(urlPath) : locationMatches(section.pattern, urlPath);
    if (hit) out.push(section);
  }
  return out;
}

/** Sections grouped the way `matchSections` walks them. */
export interface SectionIndex {
  /** Non-regex `<Directory>`, sorted by component count, then config order. */
  readonly directories: readonly Section[];
  readonly directoryRegexes: readonly Section[];
  /** Top-level `<Files>` first, then nested ones, each in config order. */
  readonly files: readonly Section[];
  readonly locations: readonly Section[];
  /**
   * `<Location>`/`<LocationMatch>` match without regard to case (their patterns folded to lower
   * case, regexes given the `i` flag), for applications whose router ignores case (Express's
   * default): there `/PRIVATE/x` reaches the `/private/x` route, so it must meet
   * `<Location /private>`'s rules too.
   */
  readonly caseBlindLocations: boolean;
}

/** Groups and orders loaded sections for {@link matchSections}; see {@link SectionIndex.caseBlindLocations}. */
export function indexSections(sections: readonly Section[], caseBlindLocations = false): SectionIndex {
  const directories = sections
    .filter((s) => s.kind === 'directory' && !s.regex)
    .sort((a, b) => a.components - b.components || a.id - b.id);
  const locations = sections.filter((s) => s.kind === 'location');
  return {
    caseBlindLocations,
    directories,
    directoryRegexes: sections.filter((s) => s.kind === 'directory' && s.regex),
    files: [
      ...sections.filter((s) => s.kind === 'files' && !s.parent),
      ...sections.filter((s) => s.kind === 'files' && s.parent),
    ],
    locations: caseBlindLocations ? locations.map(foldCase) : locations,
  };
}

/** A location section matching without regard to case (same id and settings). */
function foldCase(section: Section): Section {
  return {
    ...section,
    pattern: section.pattern.toLowerCase(),
    regex: section.regex && !section.regex.flags.includes('i') ? new RegExp(section.regex.source, `${section.regex.flags}i`) : section.regex,
  };
}

/** Number of components of an absolute path: `/` → 0, `/srv` → 1, `/srv/www` → 2. */
export function pathComponents(path: string): number {
  return path.split('/').filter((c) => c !== '').length;
}

/** `ancestors('/a/b')` → `['/', '/a', '/a/b']`, indexed by component count. */
function ancestors(dir: string): string[] {
  const parts = dir.split('/').filter((c) => c !== '');
  const out = ['/'];
  let acc = '';
  for (const part of parts) {
    acc += `/${part}`;
    out.push(acc);
  }
  return out;
}

function parentDirectory(file: string): string {
  const i = file.lastIndexOf('/');
  return i <= 0 ? '/' : file.slice(0, i);
}

function basename(file: string): string {
  const trimmed = file.length > 1 && file.endsWith('/') ? file.slice(0, -1) : file;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * `<Location /private>` matches `/private`, `/private/` and `/private/x`, not `/privatex`
 * (httpd 2.4 requires the prefix to end at a `/` boundary). With wildcards: fnmatch with
 * FNM_PATHNAME on the whole path.
 */
function locationMatches(pattern: string, path: string): boolean {
  if (hasWildcard(pattern)) return fnmatch(pattern, path, PATHNAME);
  if (!path.startsWith(pattern)) return false;
  if (pattern.length === 0 || pattern.endsWith('/')) return true;
  const next = path[pattern.length];
  return next === undefined || next === '/';
}

/** httpd matches wildcard sections with `apr_fnmatch` (APR_FNM_PATHNAME for paths). */
const PATHNAME = { pathname: true, caseBlind: false } as const;
const NAME = { pathname: false, caseBlind: false } as const;

function fnmatchPath(pattern: string, path: string): boolean {
  return hasWildcard(pattern) ? fnmatch(pattern, path, PATHNAME) : pattern === path;
}

function fnmatchName(pattern: string, name: string): boolean {
  return hasWildcard(pattern) ? fnmatch(pattern, name, NAME) : pattern === name;
}
