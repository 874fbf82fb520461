/**
 * `vm.mjs stop`: stops a VM from outside its launcher. The launcher sees QEMU exit and puts the
 * host back itself; when there is no launcher any more (it crashed), this puts it back, so that
 * the teardown runs once whichever way the VM ends.
 */
import { HostStateError } from '../errors.js';
import { hookStepOf, runHook } from './hooks.js';
import { pollUntil } from './poll.js';
import { isAlive } from './processes.js';
import { journalFileOf, type SessionOptions } from './session.js';
import { QemuStopper, type StopOutcome } from './stop.js';
import { teardownVm } from './teardown.js';
import { readVmRecord } from './vm-state.js';

// The launcher undoes its steps in about a second; a slow umount or module unload can take longer.
export const LAUNCHER_TEARDOWN_TIMEOUT_MS = 120_000;

export interface StopVmOptions extends SessionOptions {
  timeoutMs: number;
  /** Set by the CLI: a further Ctrl-C to `vm.mjs stop` skips to the next stage. */
  onStopper?: (stopper: Pick<QemuStopper, 'escalate'>) => void;
}

export interface StopVmResult {
  outcome: StopOutcome | 'not-running';
  /** What was said about the host: put back by the launcher, by this stop, or nothing to do. */
  host: string;
  seconds: number;
}

export async function stopVm(vm: string, options: StopVmOptions): Promise<StopVmResult> {
  const { sysroot, io, log } = options;
  const started = Date.now();
  const record = readVmRecord(vm, sysroot, io);
  let outcome: StopVmResult['outcome'] = 'not-running';
  if (record.qemu) {
    const control = record.journal!.state.control;
    if (!control) throw new HostStateError(`${vm}'s journal ${record.journal!.file} does not name QEMU's QMP socket (written by an older boot-vm); stop QEMU (pid ${record.qemu.pid}) by hand`);
    const stopper = new QemuStopper({ qemu: record.qemu, qmp: sysroot.path(control.qmp), timeoutMs: options.timeoutMs, log });
    const hook = new AbortController();
    // A further Ctrl-C while the hook runs stops it; the stop goes on.
    options.onStopper?.({ escalate: () => (hook.signal.aborted ? stopper.escalate() : hook.abort()) });
    await runHook(record.journal!.state.plan, 'beforeStop', options, hook.signal);
    hook.abort();
    outcome = await stopper.stop();
  }
  const launcher = record.launcher;
  // Still applying its steps: its signal handler stops them (and QEMU, if it has just started).
  if (record.state === 'starting' && isAlive(launcher)) process.kill(launcher.pid, 'SIGTERM');
  const seconds = (Date.now() - started) / 1000;
  if (isAlive(launcher)) {
    const what = `boot-vm (pid ${launcher.pid}) to put the host back`;
    // Its afterStop hook runs once the host is back, before it exits.
    const timeoutMs = LAUNCHER_TEARDOWN_TIMEOUT_MS + (hookStepOf(record.journal?.state.plan, 'afterStop')?.action.timeoutMs ?? 0);
    await log.wait(what, pollUntil(() => (isAlive(launcher) ? undefined : true), { what, timeoutMs, intervalMs: 50 }));
    const left = readVmRecord(vm, sysroot, io);
    if (left.state === 'leftover') throw new HostStateError(`${vm}: QEMU has exited, but its launcher (pid ${launcher.pid}) ended without putting the host back (${journalFileOf(sysroot, vm)} is left over); run scripts/teardown.mjs ${vm}`);
    return { outcome, seconds, host: `its launcher (pid ${launcher.pid}) put the host back` };
  }
  if (record.state === 'stopped' || record.state === 'prepared') return { outcome, seconds, host: record.state === 'prepared' ? 'the host stays prepared (prepare-host); scripts/teardown.mjs undoes that' : 'nothing to put back' };
  // No launcher: it crashed or was killed; the journal is this stop's to replay.
  const host = await teardownVm(vm, { ...options, stop: false });
  return { outcome, seconds, host: host.trim().replace(`${vm}: `, '') };
}
