/**
 * Runs the functions a profile's hooks script exports, each in its phase. zx and the script are
 * loaded only when a hook is about to run. A hook gets `{ vm, plan, $ }`: zx's `$` with
 * BOOT_VM_NAME and BOOT_VM_QMP in its environment, each command in a process group of its own (the
 * terminal's Ctrl-C reaches the launcher alone, as for QEMU). When the hook runs out of time, or
 * is asked to stop, its commands' groups get SIGTERM and the hook has failed. A hook's failure is
 * returned, never thrown: the caller decides whether it stops the launch.
 */
import { pathToFileURL } from 'node:url';
import type { Shell } from 'zx';
import type { Sysroot } from '../host/sysroot.js';
import type { HookName } from '../plan/hooks.js';
import type { Plan } from '../plan/plan.js';
import type { Action, Step } from '../plan/step.js';
import type { Logger } from './log.js';

type HookAction = Extract<Action, { kind: 'hook' }>;

export interface HookOptions {
  sysroot: Sysroot;
  log: Logger;
  env: NodeJS.ProcessEnv;
}

/** What a hook function is called with. */
export interface HookArguments {
  vm: string;
  plan: Plan;
  $: Shell;
}

/** The plan's step for `hook`, when its script exports it. */
export function hookStepOf(plan: Plan | undefined, hook: HookName): { step: Step; action: HookAction } | undefined {
  for (const step of plan?.steps ?? []) {
    for (const { do: action } of step.actions) if (action.kind === 'hook' && action.hook === hook) return { step, action };
  }
  return undefined;
}

export const hasHooks = (plan: Plan) => plan.steps.some((step) => step.actions.some(({ do: action }) => action.kind === 'hook'));

/** A failure in one line: zx's ProcessOutput says where and with what status over several. */
function reasonOf(error: unknown): string {
  const output = error as { exitCode?: number | null; signal?: string | null; stderr?: string; message?: string };
  if (output && typeof output === 'object' && 'exitCode' in output && 'stderr' in output) {
    const said = String(output.stderr ?? '').trim().split('\n').pop();
    return `a command exited with ${output.signal ? `signal ${output.signal}` : `status ${output.exitCode}`}${said ? `: ${said}` : ''}`;
  }
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? String(error);
}

/**
 * Runs `hook` if the plan has it. Resolves with why it failed, or undefined when it succeeded or
 * there is nothing to run. `stop` aborts it as its timeout would (a second Ctrl-C).
 */
export async function runHook(plan: Plan | undefined, hook: HookName, options: HookOptions, stop?: AbortSignal): Promise<string | undefined> {
  const found = hookStepOf(plan, hook);
  if (!plan || !found) return undefined;
  const { step, action } = found;
  const { log, sysroot } = options;
  if (!sysroot.isLive) {
    log.step(step, 'skipped', `logged, not run: ${sysroot.root} is not the live host`);
    return undefined;
  }
  const started = Date.now();
  const commands = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  try {
    const [{ $ }, module] = await Promise.all([import('zx'), import(pathToFileURL(action.file).href) as Promise<Record<string, unknown>>]).catch((error: unknown) => {
      throw new Error(`cannot load ${action.file}: ${reasonOf(error)}`);
    });
    const fn = module[hook];
    if (typeof fn !== 'function') throw new Error(`${action.file} does not export a function ${hook} (its text did when the plan was made)`);
    const env = { ...options.env, BOOT_VM_NAME: plan.profile, BOOT_VM_QMP: sysroot.path(plan.control.qmp) };
    const args: HookArguments = { vm: plan.profile, plan, $: $({ env, signal: commands.signal, detached: true }) };
    const running = Promise.resolve().then(() => (fn as (args: HookArguments) => unknown)(args));
    // Once it has timed out its later failure (its commands killed) is nobody's to handle.
    running.catch(() => undefined);
    const outcome = await log.wait(
      `the ${hook} hook (${action.file})`,
      new Promise<'done' | 'timeout' | 'stopped'>((resolve, reject) => {
        running.then(() => resolve('done'), reject);
        timer = setTimeout(() => resolve('timeout'), action.timeoutMs);
        onStop = () => resolve('stopped');
        stop?.addEventListener('abort', onStop, { once: true });
      }),
    );
    if (outcome !== 'done') {
      commands.abort();
      throw new Error(`${outcome === 'timeout' ? `did not finish in ${action.timeoutMs / 1000}s` : 'stopped by a signal'}; the commands it started through $ were sent SIGTERM`);
    }
    log.step(step, 'done', `in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return undefined;
  } catch (error) {
    const reason = reasonOf(error);
    log.step(step, 'failed', reason);
    return reason;
  } finally {
    clearTimeout(timer);
    if (onStop) stop?.removeEventListener('abort', onStop);
  }
}
