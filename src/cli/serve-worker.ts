/**
 * One worker process of `authts serve --workers N` (./serve-cluster.ts starts it with what to
 * serve as a JSON argument). It serves exactly as a single process does, tells the primary once
 * it listens, and leaves on SIGTERM after draining.
 */
import cluster from 'node:cluster';
import { closePasswordWorkers } from '../passwords/crypt-pool.js';
import { serve, type ServeTarget } from './main.js';
import type { WorkerMessage } from './serve-cluster.js';

const [targetJson] = process.argv.slice(2);
if (!cluster.isWorker || targetJson === undefined) {
  process.stderr.write('serve-worker: started by authts serve --workers, not by hand\n');
  process.exit(2);
}
const given = JSON.parse(targetJson) as { file: string; defines: [string, string | undefined][]; moduleFiles: string[] };
const target: ServeTarget = { file: given.file, defines: new Map(given.defines), moduleFiles: given.moduleFiles };

serve(target, {
  stdout: process.stdout,
  stderr: process.stderr,
  onListening(server) {
    const message: WorkerMessage = { type: 'listening', addresses: server.addresses };
    process.send?.(message);
  },
}, { worker: cluster.worker?.id })
  .finally(() => closePasswordWorkers())
  .then(
    (code) => {
      process.exitCode = code;
      // The IPC channel would keep the process alive once the server has closed.
      cluster.worker?.disconnect();
    },
    (err: unknown) => {
      process.stderr.write(`authts serve worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 70;
      cluster.worker?.disconnect();
    },
  );
