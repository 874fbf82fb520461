/**
 * Stopping a running QEMU the way a user would want it stopped: the ACPI power button first (the
 * guest shuts down and flushes its disks), then QMP `quit` (QEMU exits at once, the guest loses what
 * it had not written), then SIGKILL. The launcher (Ctrl-C, SIGTERM) and `vm.mjs stop` share it.
 * The QMP socket is opened for one command and closed again: QEMU serves one client at a time.
 */
import { HostStateError } from '../errors.js';
import type { Logger } from './log.js';
import { pause } from './poll.js';
import { isAlive, type ProcessRef } from './processes.js';
import { withQmp } from './qmp.js';

/** What ended QEMU: the guest's own shutdown after the power button, `quit`, SIGKILL; `exited` when it was gone before any. */
export type StopStage = 'powerdown' | 'quit' | 'kill';
export type StopOutcome = StopStage | 'exited';

const STAGES: StopStage[] = ['powerdown', 'quit', 'kill'];
const QMP_TIMEOUT_MS = 5_000;
const QUIT_WAIT_MS = 30_000;
const KILL_WAIT_MS = 10_000;
const EXIT_POLL_MS = 50;

/** How long the launcher gives the guest after the power button unless told (`--stop-timeout`). */
export const DEFAULT_STOP_TIMEOUT_S = 120;
/** The longest a stop takes besides the guest's own shutdown: both QMP exchanges, quit's wait and SIGKILL's (the systemd export's TimeoutStopSec counts on it). */
export const STOP_ESCALATION_MS = 2 * QMP_TIMEOUT_MS + QUIT_WAIT_MS + KILL_WAIT_MS;

export interface StopOptions {
  qemu: ProcessRef;
  /** The QMP socket's real path (under the sysroot). */
  qmp: string;
  /** How long the guest has to shut down after the power button. */
  timeoutMs: number;
  log: Logger;
  /** Resolves when QEMU has exited; by default /proc is polled (a zombie counts as exited). */
  exited?: Promise<unknown>;
}

/**
 * Stops QEMU, starting at `from`; `escalate()` (a second Ctrl-C) moves on to the next stage at once.
 * `done` resolves with the stage that ended it.
 */
export class QemuStopper {
  #stage = -1;
  #skip: (() => void) | undefined;
  readonly #exited: Promise<void>;
  #done: Promise<StopOutcome> | undefined;

  readonly #polling = new AbortController();

  constructor(private readonly options: StopOptions) {
    this.#exited = (options.exited ?? pollExit(options.qemu, this.#polling.signal)).then(() => undefined);
  }

  /** Starts the sequence (once); later calls return the same promise. */
  stop(from: StopStage = 'powerdown'): Promise<StopOutcome> {
    this.#done ??= this.#run(STAGES.indexOf(from)).finally(() => this.#polling.abort());
    return this.#done;
  }

  /** Skips what the current stage waits for and goes to the next one; after SIGKILL there is none. */
  escalate(): void {
    if (this.#done === undefined) void this.stop('quit');
    else if (this.stage === 'kill') this.options.log.info(`QEMU (pid ${this.options.qemu.pid}) has been sent SIGKILL; still waiting for it to exit`);
    else this.#skip?.();
  }

  get stage(): StopStage | undefined {
    return STAGES[this.#stage];
  }

  async #run(first: number): Promise<StopOutcome> {
    const { qemu, log } = this.options;
    if (!isAlive(qemu)) return 'exited';
    for (this.#stage = first; this.#stage < STAGES.length; this.#stage++) {
      const stage = STAGES[this.#stage]!;
      const waitMs = await this.#begin(stage);
      if (waitMs === 0 && !isAlive(qemu)) return stage;
      if (waitMs === 0) continue;
      const skipped = new Promise<'skipped'>((resolve) => (this.#skip = () => resolve('skipped')));
      const timer = new AbortController();
      const outcome = await Promise.race([this.#exited.then(() => 'exited' as const), skipped, pause(waitMs, timer.signal).then(() => 'timeout' as const)]);
      timer.abort();
      this.#skip = undefined;
      if (outcome === 'exited') return stage;
      log.info(outcome === 'skipped' ? 'asked again: not waiting any longer' : `QEMU (pid ${qemu.pid}) has not exited after ${seconds(waitMs)}`);
    }
    throw new HostStateError(`QEMU (pid ${qemu.pid}) is still there ${seconds(KILL_WAIT_MS)} after SIGKILL (stuck in the kernel?); look at /proc/${qemu.pid}/stack`);
  }

  /** Does what one stage does and says what it waits for; returns how long it waits. */
  async #begin(stage: StopStage): Promise<number> {
    const { qemu, qmp, log, timeoutMs } = this.options;
    const next = (stage: StopStage) => (stage === 'powerdown' ? 'quit QEMU at once' : 'kill it');
    if (stage === 'kill') {
      kill(qemu, 'SIGKILL');
      log.info(`sent QEMU (pid ${qemu.pid}) SIGKILL; waiting up to ${seconds(KILL_WAIT_MS)} for it to exit`);
      return KILL_WAIT_MS;
    }
    try {
      await withQmp(qmp, { timeoutMs: QMP_TIMEOUT_MS, isAlive: () => isAlive(qemu) }, (client) => client.execute(stage === 'powerdown' ? 'system_powerdown' : 'quit'));
    } catch (error) {
      if (!isAlive(qemu)) return 0;
      const reason = error instanceof Error ? error.message : String(error);
      if (stage === 'powerdown') {
        log.warn(`cannot press the guest's power button over QMP (${reason})`);
        return 0;
      }
      // SIGTERM is QEMU's other way to quit: it exits as on `quit`.
      log.warn(`cannot send quit over QMP (${reason}); sending SIGTERM instead`);
      kill(qemu, 'SIGTERM');
    }
    const waitMs = stage === 'powerdown' ? timeoutMs : QUIT_WAIT_MS;
    const what = stage === 'powerdown' ? 'pressed the guest\'s power button (ACPI); waiting up to %s for it to shut down' : 'asked QEMU to quit; waiting up to %s for it to exit';
    log.info(`${what.replace('%s', seconds(waitMs))} (signal again to ${next(stage)})`);
    return waitMs;
  }
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

function kill(qemu: ProcessRef, signal: NodeJS.Signals): void {
  try {
    if (isAlive(qemu)) process.kill(qemu.pid, signal);
  } catch {
    // Gone in between: what the wait is for.
  }
}

async function pollExit(qemu: ProcessRef, signal: AbortSignal): Promise<void> {
  while (isAlive(qemu) && !signal.aborted) await pause(EXIT_POLL_MS, signal);
}
