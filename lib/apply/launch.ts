/**
 * A launch: prepare and launch steps applied in order with a journal, QEMU started with stdio
 * inherited, its threads pinned and the guest started (threads mode), the running steps once it is
 * up, and teardown when it exits. SIGINT and SIGTERM stop the VM gracefully (lib/apply/stop.ts):
 * the ACPI power button, then `quit`, then SIGKILL; each further signal skips to the next.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { BootVmError, HostStateError, StepFailedError } from '../errors.js';
import type { Plan } from '../plan/plan.js';
import { wrapperWords, type Step } from '../plan/step.js';
import type { ApplyContext } from './actions.js';
import { applySteps, rolledBack, stepsOf, StepFailure, undoEntries } from './apply-steps.js';
import { applyIrqAffinity } from './irq-affinity.js';
import { pollUntil } from './poll.js';
import { isAlive, refOf, type ProcessRef } from './processes.js';
import { removeLeftovers } from './leftovers.js';
import { reserveDevices, type DeviceReservation } from './locks.js';
import { QmpClient } from './qmp.js';
import { QemuStopper } from './stop.js';
import { Pinner, startGuest } from './thread-pinning.js';
import { assertNotRunning, contextOf, createJournal, isPreparedOnly, journalFileOf, leftoverError, preparedBy, preparedIds, type SessionOptions } from './session.js';
import { Journal } from './journal.js';

const DAEMON_PIDFILE_TIMEOUT_MS = 10_000;
const EXIT_POLL_MS = 200;
// Guest memory is allocated (and, with prealloc, touched) before QEMU answers on QMP: minutes for a big guest.
const QMP_CONNECT_TIMEOUT_MS = 300_000;

/**
 * The journal to launch with (a new one, or prepare-host's, whose entries, `keep`, then outlive
 * this run) and the reservation of the VM's devices, taken before anything changes on the host.
 * The journal's directories come first, so that they are its to remove.
 */
function openJournal(plan: Plan, options: SessionOptions): { journal: Journal; keep: number; reservation: DeviceReservation } {
  const reserve = () => reserveDevices(plan.profile, plan.devices, { sysroot: options.sysroot, io: options.io, owner: refOf(process.pid)! });
  const existing = Journal.load(journalFileOf(options.sysroot, plan.profile), options.io);
  if (!existing) {
    const journal = createJournal(plan, options);
    try {
      return { journal, keep: 0, reservation: reserve() };
    } catch (error) {
      journal.remove();
      throw error;
    }
  }
  assertNotRunning(existing, plan.profile);
  if (!isPreparedOnly(existing)) throw leftoverError(existing, plan.profile);
  if (!preparedBy(existing.state.prepared, plan)) {
    throw new HostStateError(`prepare-host prepared this host from another version of ${plan.profile}'s plan; run scripts/teardown.mjs ${plan.profile}, then launch again`);
  }
  const reservation = reserve();
  existing.state.launcher = refOf(process.pid)!;
  existing.state.control = plan.control;
  existing.save();
  return { journal: existing, keep: existing.state.entries.length, reservation };
}

export interface LaunchOptions extends SessionOptions {
  /** How long the guest has to shut down after the ACPI power button, on Ctrl-C or SIGTERM. */
  stopTimeoutMs: number;
}

export interface LaunchResult {
  /** QEMU's exit status (128 + signal number when a signal ended it). */
  status: number;
}

const isGuestStart = (step: Step) => step.actions.some(({ do: action }) => action.kind === 'pin-threads' || action.kind === 'start-guest');

/** The QEMU binary's name among the words run (after chrt, taskset, prlimit…). */
const binaryOf = (plan: Plan) => plan.args[plan.wrappers]?.words[0] ?? plan.argv[0]!;

export async function launchVm(plan: Plan, options: LaunchOptions): Promise<LaunchResult> {
  const { log } = options;
  const { journal, keep, reservation } = openJournal(plan, options);
  const reused = journal.state.phases.includes('prepare');
  const stopping = new AbortController();
  let stopper: QemuStopper | undefined;
  let guestStarted = false;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (!stopper) return stopping.abort();
    if (signals === 1) {
      // A guest still paused (-S) has nothing to shut down: QEMU quits.
      log.info(`${signal}: stopping the VM`);
      void stopper.stop(guestStarted ? 'powerdown' : 'quit').catch((error) => log.warn((error as Error).message));
    } else stopper.escalate();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const context = contextOf(options, journal, stopping.signal);
  const teardown = async () => {
    const result = await undoEntries(context, reused ? keep : 0);
    reservation.release();
    if (reused) {
      delete journal.state.launcher;
      delete journal.state.qemu;
      journal.state.phases = ['prepare'];
      journal.save();
    } else journal.remove();
    return result;
  };
  try {
    try {
      if (reused) {
        log.info(`the prepare steps were applied by prepare-host; keeping them`);
        // The UEFI variable store is kept, not undone: made again here if asked (--reset-nvram) or gone since.
        await applySteps(stepsOf(plan.steps, 'prepare').filter((step) => step.id === 'nvram'), context);
      } else {
        journal.state.phases = [];
        await applySteps(stepsOf(plan.steps, 'prepare'), context);
        journal.state.phases.push('prepare');
        journal.state.prepared = preparedIds(plan);
        journal.save();
      }
      await applySteps(stepsOf(plan.steps, 'launch'), context);
      journal.state.phases.push('launch');
      journal.save();
    } catch (error) {
      if (error instanceof StepFailure) throw rolledBack(error, await teardown());
      await teardown();
      throw error;
    }
    const argv = commandOf(plan, options);
    const child = await startQemu(argv, options.env);
    if ('error' in child) {
      await teardown();
      throw new HostStateError(`cannot start QEMU: ${child.error}`);
    }
    const { exited } = child;
    let qemu = refOf(child.pid);
    if (qemu) {
      journal.state.qemu = qemu;
      journal.save();
    }
    log.info(`QEMU started (pid ${child.pid}): ${binaryOf(plan)}`);
    const qmpPath = options.sysroot.path(plan.control.qmp);
    let vmExited: Promise<unknown> = exited;
    let daemonStatus: number | undefined;
    if (plan.argv.includes('-daemonize')) {
      // QEMU's first process exits once the VM runs; the VM is the process in the pidfile.
      const result = await exited;
      daemonStatus = result.exitCode ?? 1;
      qemu = result.exitCode === 0 ? await daemonOf(plan, options) : undefined;
      if (qemu) {
        journal.state.qemu = qemu;
        journal.save();
        vmExited = waitForExit(qemu);
      }
    }
    if (qemu) stopper = new QemuStopper({ qemu, qmp: qmpPath, timeoutMs: options.stopTimeoutMs, log, exited: vmExited });
    if (signals > 0) void stopper?.stop('quit');
    let failure: Error | undefined;
    const paused = plan.argv.includes('-S');
    guestStarted = !paused;
    if (qemu && stopper && paused) {
      failure = await startPaused(plan, qemu, qmpPath, context, options.env).then(
        () => undefined,
        (error: Error) => error,
      );
      if (failure && isAlive(qemu)) await stopper.stop('quit').catch(() => undefined);
      guestStarted = failure === undefined;
    }
    const running = new AbortController();
    const runningDone = failure ? Promise.resolve() : runSteps(stepsOf(plan.steps, 'running').filter((step) => !isGuestStart(step)), context, running.signal);
    await vmExited;
    removeLeftovers(plan.control, options);
    // A daemon is not our child: its own exit status is not ours to read.
    const status = daemonStatus ?? statusOf(await exited);
    running.abort();
    await runningDone;
    if (failure) {
      const { failures } = await teardown();
      const after = failures.length === 0 ? 'everything done before it was undone' : `undoing what was done before it also failed: ${failures.join('; ')}`;
      const why = signals > 0 ? 'stopped by a signal before the guest started' : failure.message;
      throw new StepFailedError(`${why}; ${stopper?.stage ? 'QEMU was stopped' : `QEMU exited with status ${status}`}, ${after}`);
    }
    log.info(`QEMU exited with status ${status}${stopper?.stage ? ` (${STOPPED_BY[stopper.stage]})` : ''}; putting the host back`);
    const { failures } = await teardown();
    if (failures.length > 0) throw new BootVmError(`${failures.length} change${failures.length > 1 ? 's' : ''} could not be undone (put ${failures.length > 1 ? 'them' : 'it'} back by hand): ${failures.join('; ')}`);
    return { status };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    reservation.release(); // done by teardown already, unless something unforeseen threw first
  }
}

const STOPPED_BY = { powerdown: 'the guest shut down after the ACPI power button', quit: 'stopped by QMP quit', kill: 'killed' } as const;

/** Pins the paused QEMU's threads, checks them, and starts the guest, over one QMP connection. */
async function startPaused(plan: Plan, qemu: ProcessRef, qmpPath: string, context: ApplyContext, env: NodeJS.ProcessEnv): Promise<void> {
  // Started now, it is ready by the time QEMU answers on QMP.
  const pinner = context.sysroot.isLive ? new Pinner(env) : undefined;
  try {
    const what = `QEMU's QMP socket ${qmpPath}`;
    const qmp = await context.log.wait(what, QmpClient.connect(qmpPath, { timeoutMs: QMP_CONNECT_TIMEOUT_MS, isAlive: () => isAlive(qemu) }));
    try {
      await startGuest(stepsOf(plan.steps, 'running').filter(isGuestStart), { pid: qemu.pid, qmp, context, ...(pinner ? { pinner } : {}) });
    } finally {
      await qmp.close();
    }
  } finally {
    pinner?.close();
  }
}

interface QemuExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Spawns QEMU with node's own spawn: execa took longer to load (about 100 ms) than QEMU takes to
 * start. detached: QEMU gets a process group of its own, so that the terminal's Ctrl-C reaches
 * the launcher alone, which stops the guest gracefully; a VM outlives a crashed launcher
 * (teardown.mjs --stop, vm.mjs stop). Resolves once it runs, or with why it could not.
 */
function startQemu(argv: string[], env: NodeJS.ProcessEnv): Promise<{ pid: number; exited: Promise<QemuExit> } | { error: string }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env, detached: true });
  const exited = new Promise<QemuExit>((resolve) => child.once('exit', (exitCode, signal) => resolve({ exitCode, signal })));
  return new Promise((resolve) => {
    child.once('spawn', () => resolve({ pid: child.pid!, exited }));
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ error: `${argv[0]}: ${error.code === 'ENOENT' ? 'no such file (ENOENT)' : error.message}` }));
  });
}

/** QEMU's exit code, or 128 + the number of the signal that ended it. */
function statusOf(result: QemuExit): number {
  return result.exitCode ?? 128 + (result.signal ? (constants.signals[result.signal] ?? 1) : 1);
}

async function waitForExit(qemu: ProcessRef): Promise<void> {
  await pollUntil(() => (isAlive(qemu) ? undefined : true), { what: `QEMU (pid ${qemu.pid}) to exit`, timeoutMs: Infinity, intervalMs: EXIT_POLL_MS });
}

/** The words to exec. On a sysroot other than `/`, only QEMU runs: the wrappers are logged. */
function commandOf(plan: Plan, { sysroot, log }: SessionOptions): string[] {
  const launchWrappers = wrapperWords(plan.steps);
  if (sysroot.isLive) return [...launchWrappers, ...plan.argv];
  const planWrappers = plan.args.slice(0, plan.wrappers).flatMap((arg) => arg.words);
  const logged = [...launchWrappers, ...planWrappers];
  if (logged.length > 0) log.info(`logged, not run: ${logged.join(' ')} (${sysroot.root} is not the live host); QEMU runs without them`);
  return plan.argv.slice(planWrappers.length);
}

/** The daemonized VM's process, from the pidfile QEMU writes (a /run path, so under the sysroot). */
async function daemonOf(plan: Plan, { log, sysroot, io }: SessionOptions): Promise<ProcessRef> {
  const file = sysroot.path(plan.control.pidfile);
  const what = `QEMU to write its pid to ${file}`;
  const readPid = () => {
    try {
      return refOf(Number(io.read(file).trim()));
    } catch {
      return undefined;
    }
  };
  return log.wait(what, pollUntil(readPid, { what, timeoutMs: DAEMON_PIDFILE_TIMEOUT_MS }));
}

/** The running phase: applied once QEMU is up, followed until `stop`; its failures are warnings. */
async function runSteps(steps: Step[], context: ApplyContext, stop: AbortSignal): Promise<void> {
  await Promise.all(
    steps.map(async (step) => {
      if (step.skip) return context.log.step(step, 'skipped', step.skip);
      let started = false;
      try {
        await applyIrqAffinity(step, context, stop, (detail) => {
          started = true;
          context.log.step(step, 'done', detail);
        });
        if (!started) context.log.step(step, 'skipped', 'QEMU exited before it opened the devices');
      } catch (error) {
        context.log.step(step, 'failed', error instanceof Error ? error.message : String(error));
      }
    }),
  );
}
