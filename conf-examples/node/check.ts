// conf-examples/node/check.ts: createAuth, check and fileProvider without any server.
import { fileURLToPath } from 'node:url';
import { createAuth, fileProvider } from 'authts';

const auth = await createAuth({ config: fileURLToPath(new URL('site.conf', import.meta.url)) });
const alice = `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`;
for (const [url, authorization] of [
  ['/private/report', undefined],
  ['/private/report', alice],
  ['/private/../private/report', undefined],
  ['/private%2freport', alice],
  ['/public/', undefined],
] as const) {
  const verdict = await auth.check({
    method: 'GET',
    url,
    headers: authorization === undefined ? {} : { authorization },
    remoteAddress: '127.0.0.1',
  });
  const challenge = verdict.headers.get('WWW-Authenticate');
  console.log(url, verdict.status, verdict.user ?? '-', ...(challenge === undefined ? [] : [challenge]));
}
await auth.close();

const users = await fileProvider({ userFile: fileURLToPath(new URL('users', import.meta.url)) });
console.log(
  await users.checkPassword('alice', 'alice-secret'),
  await users.checkPassword('alice', 'wrong'),
  await users.checkPassword('nobody', 'x'),
);
await users.close();
