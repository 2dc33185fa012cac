/**
 * A private OpenLDAP `slapd` (Debian's `slapd` + `ldap-utils` + `openssl`) for the LDAP tests:
 * a throwaway CA and server certificate, a seeded directory with awkward names, ACLs like a real
 * deployment's, listening on ldap:// (StartTLS available), ldaps:// and ldapi:// on 127.0.0.1.
 *
 * Each instance lives in one `mkdtemp` directory; the system's slapd, /etc/ldap and
 * /var/lib/ldap are never touched. slapd runs in the foreground (`-d`), so the PID we hold is
 * slapd itself; it is stopped by that PID only. `stopServer()` / `startServer()` stop and start
 * the same instance (same data, same ports) for the reconnect tests.
 *
 * A missing `slapd`, `slapadd`, `ldapwhoami` or `openssl` is an error, never a skip.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { freePort, sleep } from './net.js';
import { forgetDirectory, forgetProcess, killOnExit, removeOnExit } from './exit-cleanup.js';

const run = promisify(execFile);

export const SLAPD_BIN = process.env['AUTHTS_SLAPD_BIN'] ?? '/usr/sbin/slapd';
export const SLAPADD_BIN = process.env['AUTHTS_SLAPADD_BIN'] ?? '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

/** The suffix and fixed test credentials (not secrets). */
export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'admin-secret';
export const BIND_DN = `cn=authts-svc,ou=services,${BASE_DN}`;
export const BIND_PASSWORD = 'svc-secret';

/**
 * The seeded users: uid → password (`undefined`: no userPassword). DNs are under ou=people
 * except `jdoe`, whose RDN is `cn=Doe\, John \+ Jr.`; `dup` exists twice (people, contractors).
 */
export const LDAP_USERS = {
  alice: 'alice-pw',
  bob: 'bob-pw',
  carol: 'carol-pw',
  dave: 'dave-pw',
  'john smith': 'john-pw',
  jdoe: 'jdoe-pw',
  'jürgen': 'grüße-123',
  star: 'star-pw',
  locked: 'locked-pw',
} as const;

/** DN of `jdoe` as the seed writes it (comma and plus escaped per RFC 4514). */
export const JDOE_DN = `cn=Doe\\, John \\+ Jr.,${PEOPLE_DN}`;

/** Options of {@link startSlapd}. */
export interface SlapdOptions {
  /** Accept "DN + empty password" binds as anonymous, as AD does (default true: tests the guard). */
  readonly allowUnauthBind?: boolean;
  /** slapd `-d` level, e.g. `stats` (default 0); the log is {@link SlapdInstance.log}. */
  readonly logLevel?: string;
}

/** A running private slapd. */
export interface SlapdInstance {
  readonly dir: string;
  /** PID of the running slapd (changes after `startServer()`). */
  readonly pid: number;
  readonly port: number;
  readonly ldapsPort: number;
  /** `ldap://127.0.0.1:<port>` (StartTLS available on it). */
  readonly url: string;
  /** `ldaps://127.0.0.1:<ldapsPort>`. */
  readonly ldapsUrl: string;
  /** `ldapi://…` (SASL EXTERNAL as the OS user = manage rights). */
  readonly ldapiUrl: string;
  /** The throwaway CA that signed the server certificate (PEM file). */
  readonly caFile: string;
  /** Another CA that signed nothing here: trusting only it must make every TLS connection fail. */
  readonly otherCaFile: string;
  /** Is slapd running? */
  running(): boolean;
  /** SIGTERM to our slapd only; the data and ports stay for `startServer()`. */
  stopServer(): Promise<void>;
  /** Starts slapd again on the same ports and data (after `stopServer()`). */
  startServer(): Promise<void>;
  /** Runs `ldapmodify` over ldapi:// (manage rights) with `ldif` (`manageDsaIT`: `-M`, to add or change referral objects). */
  modify(ldif: string, relax?: boolean, manageDsaIT?: boolean): Promise<void>;
  /** slapd's log so far. */
  log(): Promise<string>;
  /** Stops slapd and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/** `{SSHA}` as slappasswd makes it: base64(SHA1(password + salt) + salt). */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(Buffer.from(password, 'utf8')).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
// RFC 2849: a value that is not SAFE-STRING (non-ASCII, leading space/colon/<) is base64.
const ldifLine = (attr: string, value: string): string =>
  /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ')
    ? `${attr}: ${value}`
    : `${attr}:: ${b64(value)}`;

async function makeTls(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const ca = async (name: string, cn: string): Promise<void> => {
    await run('openssl', ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '3650', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  };
  await Promise.all([ca('ca', 'authts throwaway test CA'), ca('other-ca', 'authts untrusted other CA')]);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr'), '-subj', '/CN=localhost']);
  await writeFile(join(dir, 'server.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    '',
  ].join('\n'));
  await run('openssl', ['x509', '-req', '-in', join(dir, 'server.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '825', '-extfile', join(dir, 'server.ext'),
    '-out', join(dir, 'server.crt')]);
  await chmod(join(dir, 'server.key'), 0o600);
}

function configLdif(dir: string, allowUnauthBind: boolean, logLevel: string): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const peer = `gidNumber=${gid}+uidNumber=${uid},cn=peercred,cn=external,cn=auth`;
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/run/slapd.pid
olcArgsFile: ${dir}/run/slapd.args
olcLogLevel: ${logLevel}
olcTLSCACertificateFile: ${dir}/tls/ca.crt
olcTLSCertificateFile: ${dir}/tls/server.crt
olcTLSCertificateKeyFile: ${dir}/tls/server.key
olcTLSVerifyClient: never
${allowUnauthBind ? 'olcAllows: bind_anon_dn\n' : ''}
dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: ${MODULE_DIR}
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}ppolicy
olcModuleLoad: {2}dynlist

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://${SCHEMA_DIR}/core.ldif
include: file://${SCHEMA_DIR}/cosine.ldif
include: file://${SCHEMA_DIR}/nis.ldif
include: file://${SCHEMA_DIR}/inetorgperson.ldif
include: file://${SCHEMA_DIR}/dyngroup.ldif
include: file://${SCHEMA_DIR}/namedobject.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcPasswordHash: {SSHA}
olcSizeLimit: 500
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact="${peer}" manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${BASE_DN}
olcDbDirectory: ${dir}/data
olcRootDN: ${ADMIN_DN}
olcRootPW: ${ssha(ADMIN_PASSWORD)}
olcDbMaxSize: 268435456
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail eq,sub
olcDbIndex: member,uniqueMember,memberUid eq
olcAccess: {0}to attrs=userPassword
  by dn.exact="${peer}" manage
  by self write
  by anonymous auth
  by * none
olcAccess: {1}to attrs=pwdAccountLockedTime,pwdFailureTime,pwdChangedTime
  by dn.exact="${peer}" manage
  by dn.exact="${BIND_DN}" read
  by * none
olcAccess: {2}to dn.subtree="${PEOPLE_DN}" attrs=entry,objectClass,uid,cn,sn,mail,employeeType,departmentNumber
  by dn.exact="${peer}" manage
  by dn.exact="${BIND_DN}" read
  by users read
  by * none
olcAccess: {3}to *
  by dn.exact="${peer}" manage
  by dn.exact="${BIND_DN}" read
  by self read
  by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: cn=default,ou=policies,${BASE_DN}
olcPPolicyHashCleartext: TRUE

dn: olcOverlay={1}dynlist,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcDynListConfig
olcOverlay: {1}dynlist
olcDynListAttrSet: {0}groupOfURLs memberURL member+memberOf@groupOfNames*
`;
}

function person(dn: string, uid: string, cn: string, sn: string, mail: string, password: string | undefined, extra: string[] = []): string {
  return [
    ldifLine('dn', dn),
    'objectClass: inetOrgPerson',
    ldifLine('uid', uid),
    ldifLine('cn', cn),
    ldifLine('sn', sn),
    `mail: ${mail}`,
    ...(password !== undefined ? [`userPassword: ${ssha(password)}`] : []),
    ...extra,
    '',
    '',
  ].join('\n');
}

function group(cn: string, objectClass: string, attr: string, members: readonly string[], extra: string[] = []): string {
  return [
    `dn: cn=${cn},${GROUPS_DN}`,
    `objectClass: ${objectClass}`,
    `cn: ${cn}`,
    ...extra,
    ...members.map((m) => ldifLine(attr, m)),
    '',
    '',
  ].join('\n');
}

/**
 * The seed. Users: see {@link LDAP_USERS}; `nopass` has no password; `locked` is ppolicy-locked;
 * `dup` is in ou=people (dup-pw-1) and ou=contractors (dup-pw-2). Every user has
 * `employeeType` (active, except dave: contractor) and `departmentNumber`.
 *
 * Groups (ou=groups): admins (groupOfNames: alice); developers (bob, jdoe, jürgen, john smith);
 * staff (carol + the group developers: nested); auditors (groupOfUniqueNames: dave); ops
 * (posixGroup memberUid: alice, bob, john smith); cycle-a ⊃ cycle-b ⊃ cycle-a (a loop; carol in
 * cycle-b); deep-1 ⊃ deep-2 ⊃ deep-3 ⊃ deep-4 ⊃ dave (three levels of nesting).
 */
function seedLdif(): string {
  const p = (uid: string): string => `uid=${uid},${PEOPLE_DN}`;
  const active = (dept: string): string[] => ['employeeType: active', `departmentNumber: ${dept}`];
  return `dn: ${BASE_DN}
objectClass: dcObject
objectClass: organization
dc: example
o: Example Org

dn: ou=people,${BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=contractors,${BASE_DN}
objectClass: organizationalUnit
ou: contractors

dn: ou=groups,${BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: ou=services,${BASE_DN}
objectClass: organizationalUnit
ou: services

dn: ou=policies,${BASE_DN}
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,${BASE_DN}
objectClass: namedPolicy
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0
pwdAllowUserChange: TRUE

dn: ${BIND_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: authts-svc
userPassword: ${ssha(BIND_PASSWORD)}

${person(p('alice'), 'alice', 'Alice Anderson', 'Anderson', 'alice@example.org', 'alice-pw', active('ops'))}${person(p('bob'), 'bob', 'Bob Brown', 'Brown', 'bob@example.org', 'bob-pw', active('dev'))}${person(p('carol'), 'carol', 'Carol Clark', 'Clark', 'carol@example.org', 'carol-pw', active('sales'))}${person(p('dave'), 'dave', 'Dave Davis', 'Davis', 'dave@example.org', 'dave-pw', ['employeeType: contractor', 'departmentNumber: audit'])}${person(p('john smith'), 'john smith', 'John Smith', 'Smith', 'john.smith@example.org', 'john-pw', active('dev'))}${person(JDOE_DN, 'jdoe', 'Doe, John + Jr.', 'Doe', 'jdoe@example.org', 'jdoe-pw', active('dev'))}${person(p('jürgen'), 'jürgen', 'Jürgen Müller', 'Müller', 'juergen@example.org', 'grüße-123', active('dev'))}${person(p('star'), 'star', 'Star * (Paren) User', 'User', 'star@example.org', 'star-pw', active('dev'))}${person(p('locked'), 'locked', 'Locked Out', 'Out', 'locked@example.org', 'locked-pw', ['pwdAccountLockedTime: 000001010000Z'])}${person(p('nopass'), 'nopass', 'No Password', 'Password', 'nopass@example.org', undefined)}${person(p('dup'), 'dup', 'Dup People', 'People', 'dup1@example.org', 'dup-pw-1')}${person(`uid=dup,ou=contractors,${BASE_DN}`, 'dup', 'Dup Contractor', 'Contractor', 'dup2@example.org', 'dup-pw-2')}${group('admins', 'groupOfNames', 'member', [p('alice')])}${group('developers', 'groupOfNames', 'member', [p('bob'), JDOE_DN, p('jürgen'), p('john smith')])}${group('staff', 'groupOfNames', 'member', [p('carol'), `cn=developers,${GROUPS_DN}`])}${group('auditors', 'groupOfUniqueNames', 'uniqueMember', [p('dave')])}${group('ops', 'posixGroup', 'memberUid', ['alice', 'bob', 'john smith'], ['gidNumber: 5000'])}${group('cycle-a', 'groupOfNames', 'member', [`cn=cycle-b,${GROUPS_DN}`])}${group('cycle-b', 'groupOfNames', 'member', [`cn=cycle-a,${GROUPS_DN}`, p('carol')])}${group('deep-1', 'groupOfNames', 'member', [`cn=deep-2,${GROUPS_DN}`])}${group('deep-2', 'groupOfNames', 'member', [`cn=deep-3,${GROUPS_DN}`])}${group('deep-3', 'groupOfNames', 'member', [`cn=deep-4,${GROUPS_DN}`])}${group('deep-4', 'groupOfNames', 'member', [p('dave')])}`;
}


function isSlapd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('slapd');
  } catch {
    return false;
  }
}

async function ready(dir: string, port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      await run('ldapwhoami', ['-ZZ', '-x', '-H', `ldap://127.0.0.1:${port}`, '-D', BIND_DN, '-w', BIND_PASSWORD], {
        env: { ...process.env, LDAPTLS_CACERT: join(dir, 'tls', 'ca.crt'), LDAPTLS_REQCERT: 'demand' },
        timeout: 2_000,
      });
      return true;
    } catch {
      await sleep(50);
    }
  }
  return false;
}

function spawnSlapd(dir: string, port: number, ldapsPort: number, logLevel: string): ChildProcess {
  const sock = encodeURIComponent(join(dir, 'run', 'ldapi'));
  const logFd = openSync(join(dir, 'slapd.log'), 'a');
  try {
    // -d keeps slapd in the foreground: the child is slapd itself. detached = its own session
    // (setsid), so terminal signals for the test runner do not reach it.
    const child = spawn(SLAPD_BIN, ['-d', logLevel, '-F', join(dir, 'slapd.d'), '-h',
      `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${ldapsPort}/ ldapi://${sock}`], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(logFd);
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (isSlapd(pid)) process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null && isSlapd(pid)) process.kill(pid, 'SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(timer);
  }
  forgetProcess(pid);
}

/**
 * Starts a private slapd with TLS and the seed, and waits until a StartTLS bind as the service
 * account works (which proves the certificate chain too). Always pair with `stop()`.
 *
 * @example
 * ```ts
 * const slapd = await startSlapd();
 * try {
 *   // AuthLDAPURL "${slapd.url}/ou=people,dc=example,dc=org?uid" STARTTLS
 * } finally {
 *   await slapd.stop();
 * }
 * ```
 */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdInstance> {
  for (const bin of [SLAPD_BIN, SLAPADD_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install -y slapd ldap-utils (see .ci/run)`);
  }
  const logLevel = options.logLevel ?? '0';
  const dir = await mkdtemp(join(tmpdir(), 'authts-slapd-'));
  removeOnExit(dir);
  try {
    await chmod(dir, 0o700);
    await Promise.all(['slapd.d', 'data', 'run'].map((d) => mkdir(join(dir, d))));
    await makeTls(join(dir, 'tls'));
    await writeFile(join(dir, 'config.ldif'), configLdif(dir, options.allowUnauthBind ?? true, logLevel));
    await writeFile(join(dir, 'seed.ldif'), seedLdif());
    await run(SLAPADD_BIN, ['-n0', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'config.ldif')]);
    await run(SLAPADD_BIN, ['-n1', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'seed.ldif')]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    forgetDirectory(dir);
    throw err;
  }

  let child: ChildProcess | undefined;
  let port = 0;
  let ldapsPort = 0;
  for (let attempt = 0; attempt < 3 && !child; attempt++) {
    port = await freePort();
    ldapsPort = await freePort();
    if (port === ldapsPort) continue;
    const c = spawnSlapd(dir, port, ldapsPort, logLevel);
    if (c.pid !== undefined) killOnExit(c.pid, 'SIGKILL');
    if (await ready(dir, port, c)) child = c;
    else await terminate(c);
  }
  if (!child) {
    const log = await readFile(join(dir, 'slapd.log'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    forgetDirectory(dir);
    throw new Error(`startSlapd: slapd did not start\n${log.slice(-2000)}`);
  }

  let stopped = false;
  const ldapiUrl = `ldapi://${encodeURIComponent(join(dir, 'run', 'ldapi'))}`;
  const instance: SlapdInstance = {
    dir,
    get pid() {
      return child!.pid!;
    },
    port,
    ldapsPort,
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    ldapiUrl,
    caFile: join(dir, 'tls', 'ca.crt'),
    otherCaFile: join(dir, 'tls', 'other-ca.crt'),
    running: () => child!.exitCode === null && child!.signalCode === null,
    async stopServer() {
      await terminate(child!);
    },
    async startServer() {
      if (instance.running()) return;
      // The ports were just released by our own slapd; slapd sets SO_REUSEADDR.
      for (let attempt = 0; attempt < 20; attempt++) {
        const c = spawnSlapd(dir, port, ldapsPort, logLevel);
        if (c.pid !== undefined) killOnExit(c.pid, 'SIGKILL');
        if (await ready(dir, port, c)) {
          child = c;
          return;
        }
        await terminate(c);
        await sleep(100);
      }
      throw new Error('slapd did not start again on its ports');
    },
    async modify(ldif, relax = false, manageDsaIT = false) {
      await new Promise<void>((resolve, reject) => {
        const p = spawn('ldapmodify', ['-Q', '-Y', 'EXTERNAL', ...(relax ? ['-e', 'relax'] : []), ...(manageDsaIT ? ['-M'] : []), '-H', ldapiUrl], {
          stdio: ['pipe', 'ignore', 'pipe'],
        });
        let err = '';
        p.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
        p.on('error', reject);
        p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ldapmodify exited ${code}: ${err}`))));
        p.stdin.end(ldif);
      });
    },
    log: () => readFile(join(dir, 'slapd.log'), 'utf8').catch(() => ''),
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(child!);
      if (process.env['AUTHTS_KEEP_SLAPD_DIR'] !== '1') await rm(dir, { recursive: true, force: true });
      forgetDirectory(dir);
    },
  };
  return instance;
}

/** The container of {@link addAliasesAndReferrals}'s alias entries, and of its referral. */
export const ALIASES_DN = `ou=aliases,${BASE_DN}`;
export const REFERRED_DN = `ou=referred,${BASE_DN}`;

/**
 * Adds, to a running `slapd`: `ou=aliases` with `uid=alias-of-alice` (objectClass alias +
 * extensibleObject, aliasedObjectName → alice's entry); `ou=referred` with `ou=people-ref`
 * (objectClass referral + extensibleObject, `ref: <target>/ou=people,…`, default: this slapd's
 * ldap:// URL), so a search under `ou=referred` meets a continuation reference to ou=people.
 * With `loop`, also `ou=loop` with `ou=self`, a referral back to `ou=loop` itself (a referral
 * loop: any search whose scope covers it never ends without a hop limit).
 *
 * @example
 * ```ts
 * await addAliasesAndReferrals(slapd); // AuthLDAPURL ldap://…/ou=referred,dc=example,dc=org?uid
 * ```
 */
export async function addAliasesAndReferrals(slapd: SlapdInstance, options: { readonly target?: string; readonly loop?: boolean } = {}): Promise<void> {
  const target = options.target ?? slapd.url;
  await slapd.modify(`dn: ${ALIASES_DN}
changetype: add
objectClass: organizationalUnit
ou: aliases

dn: uid=alias-of-alice,${ALIASES_DN}
changetype: add
objectClass: alias
objectClass: extensibleObject
uid: alias-of-alice
aliasedObjectName: uid=alice,${PEOPLE_DN}

dn: ${REFERRED_DN}
changetype: add
objectClass: organizationalUnit
ou: referred
${options.loop ? `
dn: ou=loop,${BASE_DN}
changetype: add
objectClass: organizationalUnit
ou: loop
` : ''}`);
  await slapd.modify(`dn: ou=people-ref,${REFERRED_DN}
changetype: add
objectClass: referral
objectClass: extensibleObject
ou: people-ref
ref: ${target}/${PEOPLE_DN}
${options.loop ? `
dn: ou=self,ou=loop,${BASE_DN}
changetype: add
objectClass: referral
objectClass: extensibleObject
ou: self
ref: ${slapd.url}/ou=loop,${BASE_DN}
` : ''}`, false, true);
}

// `npx tsx test/services/slapd.ts`: a throwaway directory for conf-examples/ldap, until Ctrl-C.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const slapd = await startSlapd();
  process.stdout.write(
    `slapd ${slapd.pid}: ${slapd.url} (StartTLS), ${slapd.ldapsUrl}; CA ${slapd.caFile}\n` +
      `-D LDAP_HOST=127.0.0.1:${slapd.port} -D LDAP_CA_FILE=${slapd.caFile}\n`,
  );
  const stop = (): void => {
    void slapd.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
