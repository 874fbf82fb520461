/** What launch, prepare-host and teardown share: the journal's place, its states, the apply context. */
import { dirname } from 'node:path';
import { HostStateError } from '../errors.js';
import type { Sysroot } from '../host/sysroot.js';
import type { Plan } from '../plan/plan.js';
import { ActionError, type ApplyContext } from './actions.js';
import type { HostIo } from './host-io.js';
import { Journal, journalPath } from './journal.js';
import type { Logger } from './log.js';
import { isAlive, refOf } from './processes.js';

export interface SessionOptions {
  sysroot: Sysroot;
  io: HostIo;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/** Runs a host command (execa, loaded only now), failing with the last line it wrote to stderr. */
export function commandRunner(env: NodeJS.ProcessEnv): (argv: string[]) => Promise<void> {
  return async (argv) => {
    const { execa } = await import('execa');
    const result = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', env, extendEnv: false });
    if (result.failed) throw new ActionError(`${argv.join(' ')}: ${String(result.stderr ?? '').trim().split('\n').pop() || (result.shortMessage ?? '').split('\n')[0]}`);
  };
}

export const contextOf = (options: SessionOptions, journal: Journal, signal?: AbortSignal): ApplyContext => ({
  sysroot: options.sysroot,
  io: options.io,
  journal,
  log: options.log,
  runCommand: commandRunner(options.env),
  env: options.env,
  ...(signal ? { signal } : {}),
});

export const journalFileOf = (sysroot: Sysroot, vm: string) => sysroot.path(journalPath(vm));

/** Refuses when a launcher or QEMU recorded in the journal still runs. */
export function assertNotRunning(journal: Journal, vm: string): void {
  const { launcher, qemu } = journal.state;
  if (isAlive(launcher)) throw new HostStateError(`${vm} is already running: boot-vm (pid ${launcher.pid}) holds ${journal.file}; it puts the host back when QEMU exits`);
  if (isAlive(qemu)) throw new HostStateError(`${vm}'s QEMU (pid ${qemu.pid}) is still running, and its launcher is gone; stop it, or run scripts/teardown.mjs ${vm} --stop`);
}

/** True when the journal holds the prepare phase alone, left by prepare-host for a later launch. */
export const isPreparedOnly = (journal: Journal) => journal.state.launcher === undefined && journal.state.qemu === undefined && journal.state.phases.join() === 'prepare';

export function leftoverError(journal: Journal, vm: string): HostStateError {
  return new HostStateError(`a run of ${vm} ended without putting the host back (${journal.file} is left over); run scripts/teardown.mjs ${vm} first`);
}

/** A new journal owned by this process; the directories it needs are made and remembered. */
export function createJournal(plan: Plan, options: SessionOptions): Journal {
  const file = journalFileOf(options.sysroot, plan.profile);
  const createdDirs: string[] = [];
  for (let dir = dirname(file); !options.io.exists(dir); dir = dirname(dir)) createdDirs.unshift(dir);
  for (const dir of createdDirs) options.io.mkdir(dir);
  const journal = new Journal(file, { version: 1, vm: plan.profile, file: plan.file, sysroot: options.sysroot.root, phases: [], launcher: refOf(process.pid)!, control: plan.control, prepared: [], createdDirs, entries: [] }, options.io);
  journal.save();
  return journal;
}

/**
 * The prepare steps that leave something to undo, by id: what a journal's `prepared` is compared
 * with. A step with nothing to undo (modprobe, the NVRAM copy) is not needed again once done,
 * so a later plan skips it or leaves it out; it must not make the plans differ.
 */
export const preparedIds = (plan: Plan) => plan.steps.filter((step) => step.phase === 'prepare' && !step.skip && step.actions.some((action) => action.undo.length > 0)).map((step) => step.id);

/**
 * Whether a journal's prepared steps are this plan's. Replanned on the prepared host, a step that
 * prepare-host did is planned as skipped (the devices are on vfio-pci already): it must still be in
 * the plan, and nothing the plan would undo may be missing from the journal.
 */
export function preparedBy(prepared: string[], plan: Plan): boolean {
  const planned = new Set(plan.steps.filter((step) => step.phase === 'prepare').map((step) => step.id));
  return prepared.every((id) => planned.has(id)) && preparedIds(plan).every((id) => prepared.includes(id));
}
