/** What QEMU leaves in /run when it cannot clean up (SIGKILL, a crash): its pidfile and QMP socket. */
import type { Sysroot } from '../host/sysroot.js';
import type { Control } from '../plan/plan.js';
import { describeError, type HostIo } from './host-io.js';
import type { Logger } from './log.js';

/** Removes an exited QEMU's pidfile and QMP socket where they are left; call it only once QEMU has exited. */
export function removeLeftovers(control: Control, { sysroot, io, log }: { sysroot: Sysroot; io: HostIo; log: Logger }): void {
  const removed: string[] = [];
  for (const file of [control.pidfile, control.qmp].map((path) => sysroot.path(path))) {
    if (!io.exists(file)) continue;
    try {
      io.remove(file);
      removed.push(file);
    } catch (error) {
      log.warn(`cannot remove ${file}, which the exited QEMU left: ${describeError(error)}`);
    }
  }
  if (removed.length > 0) log.info(`removed what the exited QEMU left: ${removed.join(', ')}`);
}
