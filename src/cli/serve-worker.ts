/**
 * One worker process of `authts serve --workers N` (./serve-cluster.ts starts it with the
 * configuration file and the defines as arguments). It serves exactly as a single process does,
 * tells the primary once it listens, and leaves on SIGTERM after draining.
 */
import cluster from 'node:cluster';
import { closePasswordWorkers } from '../passwords/crypt-pool.js';
import { serve } from './main.js';
import type { WorkerMessage } from './serve-cluster.js';

const [configFile, definesJson] = process.argv.slice(2);
if (!cluster.isWorker || configFile === undefined || definesJson === undefined) {
  process.stderr.write('serve-worker: started by authts serve --workers, not by hand\n');
  process.exit(2);
}
const defines = new Map(JSON.parse(definesJson) as [string, string | undefined][]);

serve(configFile, defines, {
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
