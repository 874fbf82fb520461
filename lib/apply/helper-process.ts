/**
 * Programs QEMU needs running beside it (swtpm): started before QEMU, in a process group of their
 * own (the terminal's Ctrl-C is the launcher's to handle, as for QEMU), journaled by pid and start
 * time so that a teardown after a crashed launcher stops the right process, and stopped after QEMU.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Action } from '../plan/step.js';
import { ActionError, type ApplyContext } from './actions.js';
import { describeError } from './host-io.js';
import { pollUntil, WaitTimeout } from './poll.js';
import { isAlive, refOf, type ProcessRef } from './processes.js';

type StartHelper = Extract<Action, { kind: 'start-helper' }>;
type StopHelper = Extract<Action, { kind: 'stop-helper' }>;

/** The last line the helper wrote to its log, for a failure message. */
function lastLine({ io }: ApplyContext, log: string): string | undefined {
  try {
    return io.read(log).trim().split('\n').pop() || undefined;
  } catch {
    return undefined;
  }
}

const exitOf = (code: number | null, signal: NodeJS.Signals | null) => (signal ? `killed by ${signal}` : `status ${code}`);

/**
 * Starts the helper, journals it through `record` as soon as it runs, and resolves once its socket
 * exists. Fails with the helper's own last words when it exits first or does not make the socket in time.
 */
export async function startHelper(action: StartHelper, context: ApplyContext, record: (process: ProcessRef) => void): Promise<string[]> {
  const { io, log } = context;
  const [program, ...args] = action.argv as [string, ...string[]];
  // A socket left by a helper killed with its launcher would look like the new one's.
  if (io.exists(action.socket)) io.remove(action.socket);
  let stderr: number;
  try {
    // The last run's messages are replaced: the log tells about this run.
    stderr = openSync(action.log, 'w', 0o600);
  } catch (error) {
    throw new ActionError(`cannot open ${action.log} for ${action.name}'s messages: ${describeError(error)}`);
  }
  let exited: string | undefined;
  const child = spawn(program, args, { detached: true, stdio: ['ignore', 'ignore', stderr], ...(context.env ? { env: context.env } : {}) });
  closeSync(stderr);
  child.once('exit', (code, signal) => (exited = exitOf(code, signal)));
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawned) throw new ActionError(`cannot start ${program}: ${(spawned as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (ENOENT)' : spawned.message}`);
  // The launcher waits for QEMU, not for its helpers.
  child.unref();
  const process = refOf(child.pid!);
  if (process) record(process);
  const what = `${action.name}'s socket ${action.socket}`;
  const said = () => lastLine(context, action.log) ?? `nothing in ${action.log}`;
  try {
    await log.wait(what, pollUntil(() => (exited !== undefined || io.exists(action.socket) ? true : undefined), { what, timeoutMs: action.timeoutMs, ...(context.signal ? { signal: context.signal } : {}) }));
  } catch (error) {
    if (error instanceof WaitTimeout) throw new ActionError(`${error.message} (${action.name} is pid ${child.pid}); ${action.name} said: ${said()}`);
    throw error;
  }
  if (exited !== undefined) throw new ActionError(`${action.name} exited (${exited}) before it made its socket ${action.socket}: ${said()}`);
  return [`pid ${child.pid}`];
}

/** Stops a journaled helper: SIGTERM, then SIGKILL once `timeoutMs` has passed; one that has exited (or was never started) is fine. */
export async function stopHelper(action: StopHelper, process: ProcessRef | undefined, { log }: ApplyContext): Promise<string[]> {
  if (!isAlive(process)) return [`${action.name} had exited`];
  const signal = (name: NodeJS.Signals) => {
    try {
      globalThis.process.kill(process.pid, name);
    } catch (error) {
      // ESRCH: it exited between the check and the signal.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw new ActionError(`cannot send ${name} to ${action.name} (pid ${process.pid}): ${describeError(error)}`);
    }
  };
  const exit = (after: string) => {
    const what = `${action.name} (pid ${process.pid}) to exit after ${after}`;
    return log.wait(what, pollUntil(() => (isAlive(process) ? undefined : true), { what, timeoutMs: action.timeoutMs }));
  };
  signal('SIGTERM');
  try {
    await exit('SIGTERM');
    return [`${action.name} (pid ${process.pid}) stopped`];
  } catch (error) {
    if (!(error instanceof WaitTimeout)) throw error;
  }
  signal('SIGKILL');
  await exit('SIGKILL');
  return [`${action.name} (pid ${process.pid}) did not exit within ${action.timeoutMs / 1000}s of SIGTERM: killed`];
}
