/**
 * `hooks`: a zx script whose exported functions run at four points of a VM's life, as Proxmox's
 * hookscript phases do (pre-start, post-start, pre-stop, post-stop). Planning reads the script's
 * text to find which it exports, and never runs it: each exported hook becomes a step in its place.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { LoadedProfile } from '../profile/load.js';
import type { Hooks } from '../profile/schema.js';
import { readModuleExports } from './module-exports.js';
import type { StepDraft } from './step.js';

/** Each hook and the plan phase its step is shown in. */
export const HOOK_PHASES = { beforePrepare: 'prepare', afterStart: 'running', beforeStop: 'stop', afterStop: 'stop' } as const;
export type HookName = keyof typeof HOOK_PHASES;
export const HOOK_NAMES = Object.keys(HOOK_PHASES) as HookName[];

/**
 * systemd's default start and stop timeout: hooks mostly start and stop services (a Scream
 * receiver, a game launcher) or talk DDC/CI to a monitor, which retries for seconds. A hook given
 * less time than the service manager it calls would be killed while systemd still waits correctly.
 */
export const DEFAULT_HOOK_TIMEOUT_S = 90;

export interface PlannedHooks {
  /** The script's absolute path. */
  file: string;
  /** As the user wrote it, relative to the working directory when inside it. */
  shown: string;
  timeoutMs: number;
  /** The hooks it exports, in the order they run. */
  exported: HookName[];
}

const NOTES: Record<HookName, string> = {
  beforePrepare: 'before any other step; a failure stops the launch with nothing on the host changed',
  afterStart: 'once the guest runs; a failure stops QEMU and undoes every step',
  beforeStop: 'when boot-vm stops the VM (Ctrl-C, SIGTERM, vm.mjs stop, teardown.mjs --stop), before QEMU is asked to; a failure is reported and the stop goes on',
  afterStop: 'after QEMU has exited and the host is put back (also when the launch failed after beforePrepare); a failure is reported',
};

/** The script the profile names, and what it exports; an unreadable one is an error at the key. */
export function resolveHooks(loaded: LoadedProfile, error: (key: string, message: string) => void): PlannedHooks | undefined {
  const hooks: Hooks | undefined = loaded.profile.hooks;
  if (!hooks) return undefined;
  const key = loaded.written('hooks.file') ? 'hooks.file' : 'hooks';
  // Relative to the profile file that wrote it: a base profile (extends) may have.
  const profileFile = loaded.written(key)?.file ?? loaded.file;
  const file = isAbsolute(hooks.file) ? hooks.file : resolve(loaded.cwd, dirname(profileFile), hooks.file);
  const rel = relative(loaded.cwd, file);
  const shown = rel.startsWith(`..${sep}`) || isAbsolute(rel) ? file : rel;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (problem) {
    const code = (problem as NodeJS.ErrnoException).code;
    error(key, code === 'ENOENT' ? `no hooks file ${shown}` : `cannot read the hooks file ${shown}: ${code ?? (problem as Error).message}`);
    return undefined;
  }
  const { names, unreadable } = readModuleExports(source);
  if (unreadable) {
    error(key, `${shown}:${unreadable.line}: ${unreadable.text} exports names that cannot be known without running the file; export ${HOOK_NAMES.join(', ')} by name`);
    return undefined;
  }
  const exported = HOOK_NAMES.filter((name) => names.has(name));
  if (exported.length === 0) error(key, `${shown} exports none of ${HOOK_NAMES.join(', ')}`);
  return { file, shown, timeoutMs: (('timeout' in hooks ? hooks.timeout : undefined) ?? DEFAULT_HOOK_TIMEOUT_S) * 1000, exported };
}

/** The step of one hook, if the script exports it. */
export function hookStep(hooks: PlannedHooks | undefined, hook: HookName): StepDraft[] {
  if (!hooks?.exported.includes(hook)) return [];
  return [
    {
      id: `hook ${hook}`,
      phase: HOOK_PHASES[hook],
      title: `run the ${hook} hook of ${hooks.shown} (up to ${hooks.timeoutMs / 1000}s)`,
      from: ['hooks'],
      notes: [NOTES[hook]],
      actions: [{ do: { kind: 'hook', hook, file: hooks.file, timeoutMs: hooks.timeoutMs }, undo: [] }],
    },
  ];
}
