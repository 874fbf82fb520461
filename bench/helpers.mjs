// What the launch and latency benches share: the repository, medians, profiles written to a
// scratch directory, and boot-vm started as a user starts it, its stderr kept.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const BOOT_VM = join(REPO, 'boot-vm.mjs');

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Writes `<dir>/<name>.yaml` (boot-vm names the VM after the file) from its lines; returns its path. */
export function writeProfile(dir, name, lines) {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, [...lines, ''].join('\n'));
  return path;
}

/**
 * Starts `argv` (prefixed by `wrap`, e.g. taskset) with stderr kept: `stderr()` is what it wrote
 * so far, `exited` resolves with its exit code (128 + signal when a signal ended it).
 */
export function start(argv, { wrap = [], detached = false } = {}) {
  const words = [...wrap, ...argv];
  const child = spawn(words[0], words.slice(1), { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'], detached });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? 128 + constants.signals[signal])));
  return { child, exited, stderr: () => stderr };
}

/** boot-vm launching `profile`; SIGTERM then quits QEMU at once (--stop-timeout 0) and puts the host back. */
export const startBootVm = (profile, options) => start([process.execPath, BOOT_VM, profile, '--stop-timeout', '0'], options);

/** Ends a started process with SIGTERM and waits for it; a non-zero status is an error naming what it wrote. */
export async function stop({ child, exited, stderr }, what) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const status = await exited;
  if (status !== 0 && status !== 128 + constants.signals.SIGTERM) throw new Error(`${what} exited ${status}:\n${stderr()}`);
}
