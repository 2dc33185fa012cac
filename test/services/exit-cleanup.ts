/**
 * What the service harnesses (httpd, nginx, slapd) started and have not stopped yet: if the test
 * process exits without stopping them (a test that threw, a forgotten `stop()`), one exit hook
 * signals those processes — by their own PIDs, never by name — and then removes their
 * directories.
 */
import { rmSync } from 'node:fs';

const processes = new Map<number, NodeJS.Signals>();
const directories = new Set<string>();
let hookInstalled = false;

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.once('exit', () => {
    for (const [pid, signal] of processes) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  });
}

/** Sends `signal` to `pid` when the test process exits, unless {@link forgetProcess} came first. */
export function killOnExit(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  installHook();
  processes.set(pid, signal);
}

/** The process has been stopped by its harness. */
export function forgetProcess(pid: number): void {
  processes.delete(pid);
}

/** Removes `dir` when the test process exits (after the processes are signalled), unless forgotten. */
export function removeOnExit(dir: string): void {
  installHook();
  directories.add(dir);
}

/** The directory has been removed (or is to be kept) by its harness. */
export function forgetDirectory(dir: string): void {
  directories.delete(dir);
}
