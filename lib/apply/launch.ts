/**
 * A launch: prepare and launch steps applied in order with a journal, QEMU started with stdio
 * inherited, the running steps once it is up, and teardown when it exits. SIGINT and SIGTERM
 * become a SIGTERM to QEMU (it exits cleanly on it); a second one kills it.
 */
import { BootVmError, HostStateError } from '../errors.js';
import type { Plan } from '../plan/plan.js';
import { wrapperWords, type Step } from '../plan/step.js';
import type { ApplyContext } from './actions.js';
import { applySteps, rolledBack, stepsOf, StepFailure, undoEntries } from './apply-steps.js';
import { applyIrqAffinity } from './irq-affinity.js';
import { pollUntil } from './poll.js';
import { isAlive, refOf, type ProcessRef } from './processes.js';
import { assertNotRunning, contextOf, createJournal, isPreparedOnly, journalFileOf, leftoverError, preparedIds, type SessionOptions } from './session.js';
import { Journal } from './journal.js';

const DAEMON_PIDFILE_TIMEOUT_MS = 10_000;
const EXIT_POLL_MS = 1000;

/** The journal to launch with: a new one, or prepare-host's, whose entries (`keep`) then outlive this run. */
function openJournal(plan: Plan, options: SessionOptions): { journal: Journal; keep: number } {
  const existing = Journal.load(journalFileOf(options.sysroot, plan.profile), options.io);
  if (!existing) return { journal: createJournal(plan, options), keep: 0 };
  assertNotRunning(existing, plan.profile);
  if (!isPreparedOnly(existing)) throw leftoverError(existing, plan.profile);
  if (existing.state.prepared.join() !== preparedIds(plan).join()) {
    throw new HostStateError(`prepare-host prepared this host from another version of ${plan.profile}'s plan; run scripts/teardown.mjs ${plan.profile}, then launch again`);
  }
  existing.state.launcher = refOf(process.pid)!;
  existing.state.control = plan.control;
  existing.save();
  return { journal: existing, keep: existing.state.entries.length };
}

function pidfileOf(plan: Plan): string | undefined {
  const at = plan.argv.indexOf('-pidfile');
  return at < 0 ? undefined : plan.argv[at + 1];
}

export interface LaunchResult {
  /** QEMU's exit status (128 + signal number when a signal ended it). */
  status: number;
}

export async function launchVm(plan: Plan, options: SessionOptions): Promise<LaunchResult> {
  const { log } = options;
  const { journal, keep } = openJournal(plan, options);
  const reused = journal.state.phases.includes('prepare');
  const stopping = new AbortController();
  let qemu: { kill: (signal: NodeJS.Signals) => boolean } | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (qemu) {
      log.info(`${signal}: ${signals > 1 ? 'killing' : 'stopping'} QEMU`);
      qemu.kill(signals > 1 ? 'SIGKILL' : 'SIGTERM');
    } else stopping.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const context = contextOf(options, journal, stopping.signal);
  const teardown = async () => {
    const result = await undoEntries(context, reused ? keep : 0);
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
      if (reused) log.info(`the prepare steps were applied by prepare-host; keeping them`);
      else {
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
    const { execa } = await import('execa');
    // cleanup: false — execa would send QEMU a second SIGTERM of its own on ours, which kills it
    // before it removes its pidfile; and a VM should outlive a crashed launcher (teardown.mjs --stop).
    const child = execa(argv[0]!, argv.slice(1), { stdio: 'inherit', reject: false, env: options.env, extendEnv: false, forceKillAfterDelay: false, cleanup: false });
    qemu = child;
    let status: number;
    let vm: ProcessRef | undefined;
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (!spawned) {
      const result = await child;
      await teardown();
      throw new HostStateError(`cannot start QEMU: ${(result.shortMessage ?? '').split('\n')[0]}`);
    }
    const qemuRef = refOf(child.pid!);
    if (qemuRef) {
      journal.state.qemu = qemuRef;
      journal.save();
    }
    log.info(`QEMU started (pid ${child.pid}): ${argv[0]}`);
    const running = new AbortController();
    const runningDone = runSteps(stepsOf(plan.steps, 'running'), context, running.signal);
    if (plan.argv.includes('-daemonize')) {
      // QEMU's first process exits once the VM runs; the VM is the process in the pidfile.
      const result = await child;
      vm = result.exitCode === 0 ? await daemonOf(plan, options) : undefined;
      if (vm) {
        journal.state.qemu = vm;
        journal.save();
        const daemon = vm.pid;
        qemu = { kill: (signal) => (process.kill(daemon, signal), true) };
        await pollUntil(() => (isAlive(vm) ? undefined : true), { what: `QEMU (pid ${vm.pid}) to exit`, timeoutMs: Infinity, intervalMs: EXIT_POLL_MS });
      }
      status = result.exitCode ?? 1;
    } else {
      const result = await child;
      status = result.exitCode ?? 128 + (result.signal ? signalNumber(result.signal) : 1);
    }
    running.abort();
    await runningDone;
    log.info(`QEMU exited with status ${status}; putting the host back`);
    const { failures } = await teardown();
    if (failures.length > 0) throw new BootVmError(`${failures.length} change${failures.length > 1 ? 's' : ''} could not be undone (put ${failures.length > 1 ? 'them' : 'it'} back by hand): ${failures.join('; ')}`);
    return { status };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
async function daemonOf(plan: Plan, { log, sysroot, io }: SessionOptions): Promise<ProcessRef | undefined> {
  const pidfile = pidfileOf(plan);
  if (!pidfile) return undefined;
  const file = sysroot.path(pidfile);
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

const signalNumber = (signal: string) => ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 })[signal] ?? 1;

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
