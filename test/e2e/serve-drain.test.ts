import { once } from 'node:events';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server/serve.js';
import { slowProviderModule } from '../helpers/memory-provider.js';

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

describe('authts serve: close() with a request whose client went away', () => {
  it('closes the configuration only after that request has finished', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'authts-drain-'));
    try {
      await writeFile(join(dir, 'site.conf'), 'Listen 127.0.0.1:0\n<Location /slow>\n  AuthType Basic\n  AuthName "slow"\n  AuthBasicProvider slow\n  Require valid-user\n</Location>\n');
      const { module: slow, events, entered: providerEntered } = slowProviderModule(300);
      const server = await startServer({ configFile: join(dir, 'site.conf'), logger: silentLogger, modules: [slow], drainTimeoutMs: 5_000 });
      const socket = connect(server.addresses[0]!.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`GET /slow/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${Buffer.from('a:b').toString('base64')}\r\n\r\n`);
      await providerEntered;
      // The client gives up: its connection ends while the provider is still working.
      socket.destroy();
      await server.close();
      expect(events).toEqual(['provider answered', 'released']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
