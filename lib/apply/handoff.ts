/**
 * The single-GPU handoff when applied: a unit is stopped (and later started) only if it runs; the
 * GPU's modules are unloaded only once nothing uses them, else refused naming what does.
 */
import { describeHolder } from '../host/device-holders.js';
import { moduleKey, readModule } from '../host/kernel-modules.js';
import type { Sysroot } from '../host/sysroot.js';
import { gpuHolders } from '../plan/steps/handoff.js';
import type { Action } from '../plan/step.js';
import { ActionError, type ApplyContext } from './actions.js';
import { pollUntil, WaitTimeout } from './poll.js';

const logged = (sysroot: Sysroot, command: string) => `logged, not run: ${command} (${sysroot.root} is not the live host)`;
const plural = (count: number, one: string, many: string) => (count === 1 ? one : many);

/** Stops `unit` when `systemctl is-active` says it runs; `record` journals its start for the undo. */
export async function stopService(unit: string, context: ApplyContext, record: () => void): Promise<string[]> {
  const { sysroot } = context;
  if (!sysroot.isLive) {
    record();
    return [logged(sysroot, `systemctl is-active --quiet ${unit} && systemctl stop ${unit}`)];
  }
  try {
    await context.runCommand(['systemctl', 'is-active', '--quiet', unit]);
  } catch {
    // Inactive, failed, or no such unit: nothing to stop, and nothing to start again afterwards.
    return [`${unit} is not running: left alone`];
  }
  await context.runCommand(['systemctl', 'stop', unit]);
  record();
  return [];
}

/** What still uses the modules to unload, besides each other: other modules, references, processes holding the devices' files. */
function users(sysroot: Sysroot, modules: string[], devices: string[]): string[] {
  const ours = new Set(modules.map(moduleKey));
  const found: string[] = [];
  for (const module of modules) {
    const state = readModule(sysroot, module);
    if (!state.loaded) continue;
    const others = state.holders.filter((holder) => !ours.has(holder));
    if (others.length > 0) found.push(`${module} is used by ${plural(others.length, 'module', 'modules')} ${others.join(', ')}`);
    // One reference per module using it; the rest are open files and the like.
    const beyond = (state.refcnt ?? 0) - state.holders.length;
    if (beyond > 0) found.push(`${module} has ${beyond} ${plural(beyond, 'user', 'users')} besides modules (refcnt ${state.refcnt})`);
  }
  return [...found, ...gpuHolders(sysroot, devices).map(describeHolder)];
}

/**
 * Unloads the modules in order once nothing else uses them (on the live host, waiting up to the
 * action's timeout for stopped services to let go); `record` journals each one's reload.
 */
export async function unloadModules(action: Extract<Action, { kind: 'unload-modules' }>, context: ApplyContext, record: (module: string) => void): Promise<string[]> {
  const { sysroot } = context;
  const loaded = action.modules.filter((module) => readModule(sysroot, module).loaded);
  const notes = action.modules.filter((module) => !loaded.includes(module)).map((module) => `${module} is not loaded`);
  if (loaded.length === 0) return notes;
  let found = users(sysroot, loaded, action.devices);
  if (found.length > 0 && sysroot.isLive) {
    const what = `nothing to use ${loaded.join(', ')}`;
    try {
      await context.log.wait(what, pollUntil(() => ((found = users(sysroot, loaded, action.devices)).length === 0 ? true : undefined), { what, timeoutMs: action.timeoutMs, ...(context.signal ? { signal: context.signal } : {}) }));
    } catch (error) {
      // Out of time: refused below, naming what still uses them. Stopped by a signal: that is the failure.
      if (!(error instanceof WaitTimeout) || context.signal?.aborted) throw error;
    }
  }
  if (found.length > 0) throw new ActionError(`refusing to unload ${loaded.join(', ')} while still in use: ${found.join('; ')}; stop what uses ${plural(loaded.length, 'it', 'them')} (add its service to host.stopServices)`);
  for (const module of loaded) {
    if (sysroot.isLive) await context.runCommand(['rmmod', module]);
    record(module);
  }
  return sysroot.isLive ? notes : [...notes, logged(sysroot, loaded.map((module) => `rmmod ${module}`).join('; '))];
}
