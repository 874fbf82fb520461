/**
 * teardown: puts the host back from a journal left by a crash, a kill -9, or prepare-host, and
 * clears what the exited VM still held: its QEMU's pidfile and QMP socket, its device reservations.
 * Idempotent.
 */
import { BootVmError, HostStateError } from '../errors.js';
import { undoEntries } from './apply-steps.js';
import { runHook } from './hooks.js';
import { Journal } from './journal.js';
import { removeLeftovers } from './leftovers.js';
import { releaseStaleReservations } from './locks.js';
import { pollUntil } from './poll.js';
import { isAlive } from './processes.js';
import { contextOf, journalFileOf, type SessionOptions } from './session.js';

const STOP_TIMEOUT_MS = 30_000;

export interface TeardownOptions extends SessionOptions {
  /** Stop a QEMU that is still running (SIGTERM, then wait for it) instead of refusing. */
  stop: boolean;
}

export async function teardownVm(vm: string, options: TeardownOptions): Promise<string> {
  const file = journalFileOf(options.sysroot, vm);
  const journal = Journal.load(file, options.io);
  if (!journal) return `${vm}: nothing to undo (no journal at ${file})\n`;
  const { launcher, qemu } = journal.state;
  if (isAlive(launcher)) throw new HostStateError(`${vm} is running under boot-vm (pid ${launcher.pid}), which puts the host back when QEMU exits; stop the VM instead`);
  if (isAlive(qemu)) {
    if (!options.stop) throw new HostStateError(`${vm}'s QEMU (pid ${qemu.pid}) is still running; stop it first, or pass --stop to send it SIGTERM and wait`);
    await runHook(journal.state.plan, 'beforeStop', options);
    process.kill(qemu.pid, 'SIGTERM');
    const what = `QEMU (pid ${qemu.pid}) to exit`;
    await options.log.wait(what, pollUntil(() => (isAlive(qemu) ? undefined : true), { what, timeoutMs: STOP_TIMEOUT_MS }));
  }
  const count = journal.state.entries.length;
  const { failures } = await undoEntries(contextOf(options, journal));
  // Only a QEMU boot-vm started and that has exited (refused or stopped above otherwise): a
  // prepare-host journal's pidfile may be a QEMU the user started by hand.
  if (qemu && journal.state.control) removeLeftovers(journal.state.control, options);
  const released = releaseStaleReservations(vm, options);
  if (released.length > 0) options.log.info(`released ${released.join(', ')}, reserved by ${vm}'s launcher, which has exited`);
  journal.remove();
  // The launcher that would have run it is gone: the VM it started has ended, the host is back.
  if (qemu) await runHook(journal.state.plan, 'afterStop', options);
  if (failures.length > 0) throw new BootVmError(`${vm}: ${failures.length} of ${count} changes could not be undone (put them back by hand; the journal is gone): ${failures.join('; ')}`);
  return `${vm}: the host is back as it was (${count} change${count === 1 ? '' : 's'} undone)\n`;
}
