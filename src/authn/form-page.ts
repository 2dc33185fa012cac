/**
 * The built-in pages of `form-login-handler` and `form-logout-handler`: self-contained HTML (no
 * script, no external asset, one inline style allowed by its hash in the Content-Security-
 * Policy), semantic and accessible (labels, an alert region for errors, visible focus),
 * responsive, and readable in light and dark mode. Every value from the configuration or the
 * request is HTML-escaped.
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';

const STYLE = `
:root{color-scheme:light dark;--bg:#f3f5f8;--card:#fff;--text:#1b2330;--muted:#5b6678;--line:#c9d1dc;--accent:#1f5fbf;--accent-text:#fff;--error-bg:#fdecec;--error-text:#8a1c1c;--ok-bg:#e8f4ec;--ok-text:#1d5b31}
@media (prefers-color-scheme:dark){:root{--bg:#11151b;--card:#1b212b;--text:#e7ebf1;--muted:#a3adbd;--line:#3a4454;--accent:#6ea2ff;--accent-text:#0b1220;--error-bg:#3a1d1f;--error-text:#ffb4b0;--ok-bg:#17301f;--ok-text:#a6e3b5}}
*{box-sizing:border-box}
html{font-size:100%}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1.5rem 1rem;background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:24rem;background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:2rem 1.75rem;box-shadow:0 10px 30px rgba(15,23,42,.08)}
h1{margin:0 0 .25rem;font-size:1.5rem;line-height:1.25}
.realm{margin:0 0 1.5rem;color:var(--muted);overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:0 0 .35rem}
input{display:block;width:100%;font:inherit;padding:.65rem .75rem;border:1px solid var(--line);border-radius:.5rem;background:var(--card);color:var(--text);margin:0 0 1.1rem}
input:focus-visible{outline:2px solid var(--accent);outline-offset:0;border-color:var(--accent)}
button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{width:100%;font:inherit;font-weight:600;padding:.7rem 1rem;border:0;border-radius:.5rem;background:var(--accent);color:var(--accent-text);cursor:pointer}
button:hover{filter:brightness(1.08)}
.notice{margin:0 0 1.25rem;padding:.75rem .9rem;border-radius:.5rem;background:var(--error-bg);color:var(--error-text)}
.notice.ok{background:var(--ok-bg);color:var(--ok-text)}
a{color:var(--accent)}
@media (max-width:30rem){body{align-items:flex-start;padding:1rem .75rem}main{padding:1.5rem 1.25rem;border-radius:.6rem}}
`.trim();

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** The headers every built-in page is sent with. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
};

/**
 * `text` with `& < > " '` as character references, safe in element content and in quoted
 * attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<b>"x"</b>'); // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** What the login page shows. */
export interface LoginPage {
  /** `AuthName` of the login location, when there is one. */
  readonly realm: string | undefined;
  /** Where the form posts (the login handler's own path). */
  readonly action: string;
  readonly usernameField: string;
  readonly passwordField: string;
  readonly locationField: string;
  /** The validated return-to path, carried in a hidden field. */
  readonly returnTo: string | undefined;
  readonly csrfField: string;
  readonly csrfToken: string;
  /** The user name typed before, shown again after a failure. */
  readonly username?: string | undefined;
  /** A message shown above the form (an alert). */
  readonly error?: string | undefined;
}

function document(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/**
 * The login page's HTML.
 *
 * @example
 * ```ts
 * const html = renderLoginPage({ realm: 'Members', action: '/login', usernameField: 'httpd_username',
 *   passwordField: 'httpd_password', locationField: 'httpd_location', returnTo: '/private/',
 *   csrfField: 'authts_csrf', csrfToken: token });
 * ```
 */
export function renderLoginPage(page: LoginPage): string {
  const realm = page.realm === undefined || page.realm === '' ? '' : `<p class="realm">${escapeHtml(page.realm)}</p>\n`;
  const error = page.error === undefined ? '' : `<p class="notice" role="alert" id="login-error">${escapeHtml(page.error)}</p>\n`;
  const described = page.error === undefined ? '' : ' aria-describedby="login-error"';
  const returnTo =
    page.returnTo === undefined ? '' : `<input type="hidden" name="${escapeHtml(page.locationField)}" value="${escapeHtml(page.returnTo)}">\n`;
  const autofocusUser = page.username === undefined || page.username === '' ? ' autofocus' : '';
  const autofocusPassword = autofocusUser === '' ? ' autofocus' : '';
  return document(
    page.realm ? `Sign in: ${page.realm}` : 'Sign in',
    `<h1>Sign in</h1>
${realm}${error}<form method="post" action="${escapeHtml(page.action)}"${described}>
<input type="hidden" name="${escapeHtml(page.csrfField)}" value="${escapeHtml(page.csrfToken)}">
${returnTo}<label for="username">User name</label>
<input id="username" name="${escapeHtml(page.usernameField)}" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(page.username ?? '')}"${autofocusUser}>
<label for="password">Password</label>
<input id="password" name="${escapeHtml(page.passwordField)}" type="password" autocomplete="current-password" required${autofocusPassword}>
<button type="submit">Sign in</button>
</form>`,
  );
}

/**
 * A short page with a heading, a message and an optional link (sign-out, errors).
 *
 * @example
 * ```ts
 * renderMessagePage('Signed out', 'You are signed out.', { href: '/', text: 'Home' });
 * ```
 */
export function renderMessagePage(title: string, message: string, link?: { readonly href: string; readonly text: string }, ok = false): string {
  const anchor = link === undefined ? '' : `\n<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>`;
  return document(title, `<h1>${escapeHtml(title)}</h1>\n<p class="notice${ok ? ' ok' : ''}" role="${ok ? 'status' : 'alert'}">${escapeHtml(message)}</p>${anchor}`);
}

/**
 * Sends `html` with `status` and the page headers (`extra` added: Set-Cookie, Location, …); a
 * HEAD request gets the headers only.
 */
export function sendPage(res: ServerResponse, status: number, html: string, head: boolean, extra: Readonly<Record<string, string | readonly string[]>> = {}): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries({ ...PAGE_HEADERS, ...extra })) res.setHeader(name, value);
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(head ? undefined : html);
}
