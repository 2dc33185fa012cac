import { once } from 'node:events';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server/serve.js';

describe('authts serve: close() with a stalled client', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authts-drain-'));
    await mkdir(join(dir, 'htdocs'));
    await writeFile(join(dir, 'htdocs', 'index.html'), 'hi\n');
    await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\nDocumentRoot htdocs\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts a connection that never finishes its request once the drain deadline passes', async () => {
    const server = await startServer({
      configFile: join(dir, 'site.conf'),
      logger: silentLogger,
      listen: [{ host: '127.0.0.1', port: 0 }],
      drainTimeoutMs: 200,
    });
    const socket = connect(server.addresses[0]!.port, '127.0.0.1');
    await once(socket, 'connect');
    // Half a request: the server holds it as active, not idle.
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const socketClosed = once(socket, 'close');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close();
    await socketClosed;
    expect(socket.destroyed).toBe(true);
  });
});
