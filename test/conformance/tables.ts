/**
 * Conformance tables, written from ../shared/reference/httpd-auth-semantics.md (§b.2–b.6) and
 * run against a real httpd and authts alike (httpd-conformance.test.ts). Each expected status is
 * what httpd 2.4 answers; a case where authts deliberately differs is not here but in
 * deliberate-differences.test.ts.
 */
import { createHash } from 'node:crypto';
import type { ConformanceCase } from './peers.js';

const REALM = 'Basic realm="Private area"';

/** The usual Basic block over the shared users and groups files. */
const basic = (extra: string, realm = 'Private area'): string => `
    AuthType Basic
    AuthName "${realm}"
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/users"
    AuthGroupFile "\${AUTHTS_HTTPD_DIR}/groups"
${extra}`;

const dir = (path: string, body: string): string => `<Directory "\${AUTHTS_DOCROOT}${path}">${body}\n</Directory>\n`;

export const conformanceCases: readonly ConformanceCase[] = [
  {
    name: 'Basic + Require valid-user (b.3)',
    config: dir('/private', basic('    Require valid-user')),
    requests: [
      { path: '/private/a.txt', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200, challenge: null },
      { path: '/private/a.txt', auth: 'alice:wrong', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'nobody:alice-pw', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'alice:', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'alice:alice-pw:x', status: 401 },
      { path: '/private/a.txt', header: 'Bearer abc', status: 401, challenge: REALM },
      { path: '/private/a.txt', header: 'basic YWxpY2U6YWxpY2UtcHc=', status: 200 },
      { path: '/private/a.txt', header: 'Basic   YWxpY2U6YWxpY2UtcHc=', status: 200 },
      { path: '/public.txt', status: 200, challenge: null },
      { method: 'PUT', path: '/missing.txt', status: 405 },
      { method: 'OPTIONS', path: '/missing.txt', status: 200 },
      { method: 'POST', path: '/missing.txt', status: 404 },
      { path: '/private/missing.txt', status: 401 },
      { path: '/private/missing.txt', auth: 'alice:alice-pw', status: 404 },
      { method: 'HEAD', path: '/private/a.txt', status: 401 },
      { path: '/private/', auth: 'bob:bob-pw', status: 200 },
    ],
  },
  {
    name: 'Require user: authz failure is 401 + challenge (b.2 step 4)',
    config: dir('/private', basic('    Require user bob')),
    requests: [
      { path: '/private/a.txt', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/private/a.txt', auth: 'Bob:bob-pw', status: 401 },
    ],
  },
  {
    name: 'AuthzSendForbiddenOnFailure On: authz failure is 403',
    config: dir('/private', basic('    Require user bob\n    AuthzSendForbiddenOnFailure On')),
    requests: [
      { path: '/private/a.txt', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 403, challenge: null },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 200 },
    ],
  },
  {
    name: 'Require group from a group file (groups on several lines)',
    config: dir('/private', basic('    Require group staff')),
    requests: [
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 401 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 200 },
    ],
  },
  {
    name: 'AuthType Basic + Require all granted: no credentials asked (b.4 case iii)',
    config: dir('/private', basic('    Require all granted')),
    requests: [{ path: '/private/a.txt', status: 200, challenge: null }],
  },
  {
    name: 'Require all denied: 403 with or without credentials',
    config: dir('/private', basic('    Require all denied')),
    requests: [
      { path: '/private/a.txt', status: 403, challenge: null },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 403 },
    ],
  },
  {
    name: 'AuthType without Require: 500 (AH01627)',
    config: dir('/private', basic('')),
    requests: [{ path: '/private/a.txt', status: 500 }],
  },
  {
    name: 'AuthType without AuthName: 500 (AH01615)',
    config: dir('/private', `
    AuthType Basic
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/users"
    Require valid-user`),
    requests: [{ path: '/private/a.txt', status: 500 }],
  },
  {
    name: 'Require valid-user without AuthType: 500 (no authn module answers)',
    config: dir('/private', `
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/users"
    Require valid-user`),
    requests: [{ path: '/private/a.txt', status: 500 }],
  },
  {
    name: 'Implicit RequireAny: ip OR valid-user (b.4 case i)',
    config: dir('/private', basic('    Require ip 10.0.0.0/8\n    Require valid-user')),
    requests: [
      { path: '/private/a.txt', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
    ],
  },
  {
    name: 'RequireAll: ip AND valid-user from another address is 403 without challenge (b.4 case ii)',
    config: dir('/private', basic('    <RequireAll>\n        Require ip 10.0.0.0/8\n        Require valid-user\n    </RequireAll>')),
    requests: [
      { path: '/private/a.txt', status: 403, challenge: null },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 403 },
    ],
  },
  {
    name: 'RequireAll with local and valid-user',
    config: dir('/private', basic('    <RequireAll>\n        Require local\n        Require valid-user\n    </RequireAll>')),
    requests: [
      { path: '/private/a.txt', status: 401 },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 200 },
    ],
  },
  {
    name: 'Require not inside RequireAll: a negated match denies',
    config: dir('/private', basic('    <RequireAll>\n        Require valid-user\n        Require not user bob\n    </RequireAll>')),
    requests: [
      { path: '/private/a.txt', status: 401 },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 401 },
    ],
  },
  {
    name: 'RequireNone inside RequireAll',
    config: dir('/private', basic(`    <RequireAll>
        Require valid-user
        <RequireNone>
            Require group staff
        </RequireNone>
    </RequireAll>`)),
    requests: [
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 401 },
    ],
  },
  {
    name: 'Nested containers: Any of (All of local + group admins) or user carol',
    config: dir('/private', basic(`    <RequireAny>
        <RequireAll>
            Require local
            Require group admins
        </RequireAll>
        Require user carol
    </RequireAny>`)),
    requests: [
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 401 },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 200 },
    ],
  },
  {
    name: 'AuthMerging Off (default): the inner Require replaces the outer',
    config:
      dir('/private', basic('    Require group admins')) +
      dir('/private/sub', '\n    Require user bob'),
    requests: [
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/sub/b.txt', auth: 'alice:alice-pw', status: 401 },
      { path: '/private/sub/b.txt', auth: 'bob:bob-pw', status: 200 },
    ],
  },
  {
    name: 'AuthMerging And: outer AND inner',
    config:
      dir('/private', basic('    Require group staff')) +
      dir('/private/sub', '\n    AuthMerging And\n    Require user bob'),
    requests: [
      { path: '/private/sub/b.txt', auth: 'carol:carol-pw', status: 401 },
      { path: '/private/sub/b.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 200 },
    ],
  },
  {
    name: 'AuthMerging Or: outer OR inner',
    config:
      dir('/private', basic('    Require group admins')) +
      dir('/private/sub', '\n    AuthMerging Or\n    Require user bob'),
    requests: [
      { path: '/private/sub/b.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/sub/b.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/private/sub/b.txt', auth: 'carol:carol-pw', status: 401 },
    ],
  },
  {
    name: 'A section without Require inherits the outer tree; AuthName can change',
    config: dir('/private', basic('    Require user alice')) + dir('/private/sub', '\n    AuthName "Sub area"'),
    requests: [
      { path: '/private/sub/b.txt', status: 401, challenge: 'Basic realm="Sub area"' },
      { path: '/private/sub/b.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/sub/b.txt', auth: 'bob:bob-pw', status: 401 },
    ],
  },
  {
    name: 'Explicit AuthMerging Off without Require: no tree, AuthType set → 500',
    config: dir('/private', basic('    Require valid-user')) + dir('/private/sub', '\n    AuthMerging Off'),
    requests: [
      { path: '/private/sub/b.txt', auth: 'alice:alice-pw', status: 500 },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
    ],
  },
  {
    name: '<Location> is merged after <Directory> and replaces its Require',
    config: dir('/private', basic('    Require valid-user')) + '<Location "/private/open">\n    Require all granted\n</Location>\n',
    requests: [
      { path: '/private/open/c.txt', status: 200 },
      { path: '/private/a.txt', status: 401 },
      { path: '/private/openx', status: 401 },
    ],
  },
  {
    name: '<Location> prefix stops at a path boundary; <LocationMatch> regexes',
    config:
      '<Location "/private/a">\n    Require all denied\n</Location>\n' +
      '<LocationMatch "^/public\\.(txt|html)$">\n    Require all denied\n</LocationMatch>\n',
    requests: [
      { path: '/private/a.txt', status: 200 },
      { path: '/private/a', status: 403 },
      { path: '/private/a/x', status: 403 },
      { path: '/public.txt', status: 403 },
      { path: '/index.html', status: 200 },
    ],
  },
  {
    name: '<Files> and <FilesMatch> match the file name, nested in <Directory>',
    config:
      dir('/private', basic('    Require valid-user\n    <Files "secret.txt">\n        Require user alice\n    </Files>')) +
      '<FilesMatch "^public\\.">\n    Require all denied\n</FilesMatch>\n',
    requests: [
      { path: '/private/secret.txt', auth: 'bob:bob-pw', status: 401 },
      { path: '/private/secret.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/public.txt', status: 403 },
    ],
  },
  {
    name: '<DirectoryMatch> and wildcard <Directory>',
    config:
      '<DirectoryMatch "/private/su[b]">\n    Require all denied\n</DirectoryMatch>\n' +
      '<Directory "${AUTHTS_DOCROOT}/*/open">\n    Require all denied\n</Directory>\n',
    requests: [
      { path: '/private/sub/b.txt', status: 403 },
      { path: '/private/open/c.txt', status: 403 },
      { path: '/private/a.txt', status: 200 },
    ],
  },
  {
    name: '<Limit POST>: other methods need no authentication',
    config: dir('/private', basic('    <Limit POST PUT>\n        Require valid-user\n    </Limit>')),
    requests: [
      { path: '/private/a.txt', status: 200 },
      { method: 'POST', path: '/private/a.txt', status: 401 },
    ],
  },
  {
    name: '<LimitExcept GET>: GET (and HEAD) are free',
    config: dir('/private', basic('    <LimitExcept GET>\n        Require valid-user\n    </LimitExcept>')),
    requests: [
      { path: '/private/a.txt', status: 200 },
      { method: 'HEAD', path: '/private/a.txt', status: 200 },
      { method: 'DELETE', path: '/private/a.txt', status: 401 },
    ],
  },
  {
    name: 'Require method and Require expr',
    config:
      dir('/private', basic('    Require method GET')) +
      dir('/private/sub', `\n    Require expr "%{REQUEST_URI} =~ m#^/private/sub/b# && %{QUERY_STRING} != 'deny'"`),
    requests: [
      { path: '/private/a.txt', status: 200 },
      { method: 'HEAD', path: '/private/a.txt', status: 200 },
      // Neither provider needs a user: the userless pass already decides, so no challenge.
      { method: 'POST', path: '/private/a.txt', status: 403, challenge: null },
      { path: '/private/sub/b.txt', status: 200 },
      { path: '/private/sub/b.txt?deny', status: 403 },
    ],
  },
  {
    name: 'Require expr that mentions REMOTE_USER asks for a user',
    config: dir('/private', basic(`    Require expr "%{REMOTE_USER} == 'carol'"`)),
    requests: [
      { path: '/private/a.txt', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 200 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 401 },
    ],
  },
  {
    name: 'Order/Allow/Deny (mod_access_compat)',
    config:
      dir('/private', '\n    Order Allow,Deny\n    Allow from all\n    Deny from 127.0.0.1') +
      dir('/private/sub', '\n    Order Deny,Allow\n    Deny from all\n    Allow from 127.0.0.0/8'),
    requests: [
      { path: '/private/a.txt', status: 403 },
      { path: '/private/sub/b.txt', status: 200 },
      { path: '/public.txt', status: 200 },
    ],
  },
  {
    name: 'Satisfy Any: host rules or a user suffice',
    config:
      dir('/private', basic('    Require valid-user\n    Order Deny,Allow\n    Deny from all\n    Allow from 127.0.0.1\n    Satisfy Any')) +
      dir('/private/sub', '\n    Order Deny,Allow\n    Deny from all\n    Allow from 10.0.0.1\n    Satisfy Any'),
    requests: [
      { path: '/private/a.txt', status: 200 },
      { path: '/private/sub/b.txt', status: 401, challenge: REALM },
      { path: '/private/sub/b.txt', auth: 'bob:bob-pw', status: 200 },
    ],
  },
  {
    name: 'Satisfy All: host rules and a user',
    config: dir('/private', basic('    Require valid-user\n    Order Deny,Allow\n    Deny from all\n    Allow from 10.0.0.1\n    Satisfy All')),
    requests: [
      { path: '/private/a.txt', status: 403 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 403 },
    ],
  },
  {
    name: 'Provider chain: not-found moves on, a wrong password stops (b.3 step 6)',
    config:
      '<AuthnProviderAlias file first>\n    AuthUserFile "${AUTHTS_HTTPD_DIR}/users"\n</AuthnProviderAlias>\n' +
      '<AuthnProviderAlias file second>\n    AuthUserFile "${AUTHTS_HTTPD_DIR}/users2"\n</AuthnProviderAlias>\n' +
      dir('/private', '\n    AuthType Basic\n    AuthName "Private area"\n    AuthBasicProvider first second\n    Require valid-user'),
    requests: [
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'dave:dave-pw', status: 200 },
      { path: '/private/a.txt', auth: 'alice:alice-other', status: 401 },
      { path: '/private/a.txt', auth: 'eve:x', status: 401 },
    ],
  },
  {
    name: 'AuthBasicAuthoritative Off: an unknown user falls through to 500 (no other authn module)',
    config: dir('/private', basic('    AuthBasicAuthoritative Off\n    Require valid-user')),
    requests: [
      { path: '/private/a.txt', auth: 'eve:x', status: 500 },
      { path: '/private/a.txt', auth: 'alice:wrong', status: 401 },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
    ],
  },
  {
    name: 'A missing AuthUserFile is a 500',
    config: dir('/private', '\n    AuthType Basic\n    AuthName "Private area"\n    AuthUserFile "${AUTHTS_HTTPD_DIR}/no-such-file"\n    Require valid-user'),
    requests: [
      { path: '/private/a.txt', status: 401 },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 500 },
    ],
  },
  {
    name: 'A missing AuthGroupFile denies (not 500)',
    config: dir('/private', '\n    AuthType Basic\n    AuthName "Private area"\n    AuthUserFile "${AUTHTS_HTTPD_DIR}/users"\n    AuthGroupFile "${AUTHTS_HTTPD_DIR}/no-such-groups"\n    Require group admins'),
    requests: [{ path: '/private/a.txt', auth: 'alice:alice-pw', status: 401 }],
  },
  {
    name: '<AuthzProviderAlias>: a named Require with its own arguments and settings',
    config:
      '<AuthzProviderAlias group staff-only staff>\n    AuthGroupFile "${AUTHTS_HTTPD_DIR}/groups"\n</AuthzProviderAlias>\n' +
      dir('/private', '\n    AuthType Basic\n    AuthName "Private area"\n    AuthUserFile "${AUTHTS_HTTPD_DIR}/users"\n    Require staff-only'),
    requests: [
      { path: '/private/a.txt', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 401 },
    ],
  },
  {
    name: 'Merge order: <Files> after <Directory>, <Location> last, whatever the file order',
    config:
      '<Location "/private">\n    Require user carol\n</Location>\n' +
      '<Files "a.txt">\n    Require user bob\n</Files>\n' +
      dir('/private', basic('    Require user alice')),
    requests: [
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 401 },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 401 },
      { path: '/private/a.txt', auth: 'carol:carol-pw', status: 200 },
    ],
  },
  {
    name: 'Merge order: shorter <Directory> first, so the deeper one wins',
    config: dir('/private/sub', '\n    Require user bob') + dir('/private', basic('    Require user alice')),
    requests: [
      { path: '/private/sub/b.txt', auth: 'bob:bob-pw', status: 200 },
      { path: '/private/sub/b.txt', auth: 'alice:alice-pw', status: 401 },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
    ],
  },
  {
    name: 'Every spelling of a protected path is protected (paths as httpd normalizes them)',
    config: dir('/private', basic('    Require valid-user')),
    requests: [
      { path: '/private/../private/a.txt', status: 401 },
      { path: '/public/../private/a.txt', status: 401 },
      { path: '//private/a.txt', status: 401 },
      { path: '/private//a.txt', status: 401 },
      { path: '/./private/./a.txt', status: 401 },
      { path: '/%70rivate/a.txt', status: 401 },
      { path: '/private/%61.txt', status: 401 },
      { path: '/%2e/private/a.txt', status: 401 },
      { path: '/x/%2e%2e/private/a.txt', status: 401 },
      { path: '/private%2fa.txt', status: 404 },
      { path: '/private%2Fa.txt', status: 404 },
      { path: '/../private/a.txt', status: 400 },
      { path: '/private/../../a.txt', status: 400 },
      { path: '/%zz', status: 400 },
      { path: '/PRIVATE/a.txt', status: 404 },
      { path: '/private/a.txt?x=1', status: 401 },
    ],
  },
  {
    // httpd's directory walk stops at the first missing component: the rest is path info, and
    // a <Directory> for a directory that does not exist never applies. Likewise a walk that
    // meets a file ends there: its <Files> section applies to /file/anything.
    name: 'Sections for what does not exist: the walk stops at the first missing component or at a file',
    config:
      dir('/private', basic('    Require valid-user')) +
      dir('/private/ghost', '\n    Require all granted') +
      dir('/public', '\n    <Files "secret.txt">\n' + basic('        Require valid-user') + '\n    </Files>'),
    files: { 'htdocs/public/secret.txt': 'secret\n' },
    requests: [
      { path: '/private/ghost/x.txt', status: 401 },
      { path: '/private/ghost/deeper/x.txt', status: 401 },
      { path: '/private/ghost/', status: 401 },
      { path: '/private/ghost/x.txt', auth: 'alice:alice-pw', status: 404 },
      { path: '/public/secret.txt', status: 401 },
      { path: '/public/secret.txt/more', status: 401 },
      { path: '/public/secret.txt/more', auth: 'alice:alice-pw', status: 404 },
      { path: '/public/other.txt/more', status: 404 },
    ],
  },
  {
    name: 'AuthBasicUseDigestAlgorithm MD5: Basic checked against the realm hashes of an htdigest file',
    config:
      dir(
        '/private',
        `
    AuthType Basic
    AuthName "Digest Realm"
    AuthUserFile "\${AUTHTS_HTTPD_DIR}/digest"
    AuthBasicUseDigestAlgorithm MD5
    Require valid-user`,
      ) + dir('/private/sub', '\n    AuthBasicUseDigestAlgorithm Off'),
    files: {
      digest: [
        htdigestLine('alice', 'Digest Realm', 'alice-pw'),
        htdigestLine('bob', 'Other Realm', 'bob-pw'),
        htdigestLine('jos\u00e9', 'Digest Realm', 'p\u00e4ss'),
        '',
      ].join('\n'),
    },
    requests: [
      { path: '/private/a.txt', status: 401, challenge: 'Basic realm="Digest Realm"' },
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'alice:wrong', status: 401, challenge: 'Basic realm="Digest Realm"' },
      { path: '/private/a.txt', auth: 'bob:bob-pw', status: 401 },
      { path: '/private/a.txt', auth: 'nobody:alice-pw', status: 401 },
      { path: '/private/a.txt', auth: 'jos\u00e9:p\u00e4ss', status: 200 },
      // Off in an inner section: the htdigest line is read as an htpasswd line, whose "hash"
      // (realm:hash) verifies no password.
      { path: '/private/sub/b.txt', auth: 'alice:alice-pw', status: 401 },
    ],
  },
  {
    name: 'mod_authn_anon: AuthBasicProvider file anon, listed names with an e-mail address',
    modules: ['authn_anon'],
    files: { 'htdocs/private/any/c.txt': 'c\n', 'htdocs/private/anyone/c.txt': 'c\n', 'htdocs/private/after/c.txt': 'c\n' },
    config:
      dir('/private', basic('    AuthBasicProvider file anon\n    Anonymous guest Anonymous g\u00e4st\n    Anonymous_VerifyEmail On\n    Require valid-user')) +
      dir('/private/sub', '\n    Anonymous_NoUserID On\n    Anonymous_MustGiveEmail Off') +
      dir('/private/any', '\n    Anonymous *') +
      dir('/private/anyone', '\n    Anonymous anonymous *') +
      dir('/private/after', '\n    Anonymous * anonymous'),
    requests: [
      { path: '/private/a.txt', auth: 'guest:me@example.org', status: 200 },
      { path: '/private/a.txt', auth: 'GUEST:me@example.org', status: 200 },
      { path: '/private/a.txt', auth: 'anonymous:me@example.org', status: 200 },
      // Names are compared as httpd's strcasecmp does: ASCII letters only.
      { path: '/private/a.txt', auth: 'G\u00e4ST:me@example.org', status: 200 },
      { path: '/private/a.txt', auth: 'G\u00c4ST:me@example.org', status: 401 },
      { path: '/private/a.txt', auth: 'guest:not-an-address', status: 401, challenge: REALM },
      { path: '/private/a.txt', auth: 'guest:', status: 401 },
      { path: '/private/a.txt', auth: ':me@example.org', status: 401 },
      { path: '/private/a.txt', auth: 'stranger:me@example.org', status: 401 },
      // file first: a real user is checked against the file; a wrong password ends the chain.
      { path: '/private/a.txt', auth: 'alice:alice-pw', status: 200 },
      { path: '/private/a.txt', auth: 'alice:me@example.org', status: 401 },
      // An inner section with its own Anonymous_* lines starts from the defaults: no names.
      { path: '/private/sub/b.txt', auth: 'guest:me@example.org', status: 401 },
      { path: '/private/sub/b.txt', auth: ':', status: 401 },
      // Anonymous *: any non-empty name (the section starts from the defaults: no e-mail check).
      { path: '/private/any/c.txt', auth: 'whoever:x', status: 200 },
      { path: '/private/any/c.txt', auth: 'whoever:', status: 401 },
      { path: '/private/anyone/c.txt', auth: 'whoever:x', status: 200 },
      { path: '/private/after/c.txt', auth: 'anonymous:x', status: 200 },
    ],
  },
];

/** An htdigest line (`user:realm:MD5(user:realm:password)`, UTF-8), as Apache's htdigest writes it. */
function htdigestLine(user: string, realm: string, password: string): string {
  return `${user}:${realm}:${createHash('md5').update(`${user}:${realm}:${password}`, 'utf8').digest('hex')}`;
}
