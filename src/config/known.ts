/**
 * httpd directives that authts accepts with a warning because they cannot change an access
 * decision (logging, process management, content negotiation, tuning). Anything not here and not
 * implemented is a load error: an httpd config must never load with part of its meaning dropped.
 * Listed in docs/directives.md.
 */
export const harmlessDirectives: ReadonlySet<string> = new Set(
  [
    'AddCharset', 'AddDefaultCharset', 'AddEncoding', 'AddLanguage', 'AddType', 'CustomLog',
    'DefaultLanguage', 'DefaultRuntimeDir', 'EnableMMAP', 'EnableSendfile', 'ErrorLog',
    'ErrorLogFormat', 'FileETag', 'Group', 'HostnameLookups', 'KeepAlive', 'KeepAliveTimeout',
    'LimitRequestBody', 'LoadModule', 'LogFormat', 'LogLevel', 'MaxConnectionsPerChild',
    'MaxKeepAliveRequests', 'MaxRequestWorkers', 'MaxSpareServers', 'MaxSpareThreads',
    'MinSpareServers', 'MinSpareThreads', 'Mutex', 'Options', 'PidFile', 'ServerAdmin',
    'ServerLimit', 'ServerName', 'ServerSignature', 'ServerTokens', 'StartServers',
    'ThreadLimit', 'ThreadsPerChild', 'Timeout', 'TraceEnable', 'TypesConfig', 'User',
    'UseCanonicalName',
  ].map((d) => d.toLowerCase()),
);

/**
 * Names accepted by `<IfModule>`: the httpd modules whose directives authts implements, in
 * the spellings httpd accepts (`mod_x.c` and `x_module`); the parser normalizes the others.
 */
export const knownHttpdModules: ReadonlySet<string> = new Set(
  [
    'core', 'http_core', 'mod_so', 'authn_core', 'authn_file', 'authn_anon', 'auth_basic', 'authz_core',
    'authz_user', 'authz_groupfile', 'authz_host', 'access_compat', 'dir', 'mime', 'dbd', 'authn_dbd', 'authz_dbd',
    'auth_digest', 'auth_form', 'session', 'session_cookie', 'session_crypto', 'ldap', 'authnz_ldap',
    'authn_socache', 'socache_shmcb', 'log_config', 'proxy', 'proxy_http', 'proxy_wstunnel',
  ].flatMap((m) => (m.startsWith('mod_') ? [`${m}.c`] : [`mod_${m}.c`, `${m}_module`])),
);

/** The closest known name to `name` (case-insensitive edit distance ≤ 3), for "did you mean". */
export function suggestDirective(name: string, known: readonly string[]): string | undefined {
  const target = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.floor(target.length / 2));
  for (const candidate of known) {
    const d = editDistance(target, candidate.toLowerCase());
    if (d <= bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
