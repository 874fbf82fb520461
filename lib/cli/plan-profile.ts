/** The planning every CLI that takes a profile does: load it, read the host, choose the QEMU version. */
import { detectQemuVersion, findExecutable } from '../apply/probe-qemu.js';
import { formatProblem, UsageError } from '../errors.js';
import { Sysroot } from '../host/sysroot.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { loadProfile, type LoadedProfile } from '../profile/load.js';
import { parseQemuVersion } from '../qemu/version.js';

export interface PlanArgs {
  profile: string;
  sysroot?: string;
  qemuVersion?: string;
  qemuBinary?: string;
  /** Host mismatches are errors (a sysroot given, or the host is about to be changed). */
  strict: boolean;
  /** QEMU is about to run: its version must come from the binary when not given. */
  launching: boolean;
  /** `--reset-nvram`. */
  resetNvram?: boolean;
}

export interface PlannedProfile {
  plan: Plan;
  /** The profile read, to say where a key was written. */
  loaded: LoadedProfile;
  sysroot: Sysroot;
  /** Warnings, one formatted line each, for stderr. */
  warnings: string[];
}

export function planProfile(args: PlanArgs, cwd: string, env: NodeJS.ProcessEnv): PlannedProfile {
  let qemuVersion;
  if (args.qemuVersion !== undefined) {
    qemuVersion = parseQemuVersion(args.qemuVersion);
    if (!qemuVersion) throw new UsageError(`--qemu-version: expected a version like 7.2, got "${args.qemuVersion}"`);
  }
  const loaded = loadProfile(args.profile, { cwd, env });
  const sysroot = new Sysroot(args.sysroot ?? '/');
  const plan = buildPlan(loaded, {
    sysroot,
    strict: args.strict,
    launching: args.launching,
    probeQemuVersion: (binary) => detectQemuVersion(binary, env),
    findProgram: (name) => findExecutable(name, env),
    ...(qemuVersion ? { qemuVersion } : {}),
    ...(args.qemuBinary ? { qemuBinary: args.qemuBinary } : {}),
    ...(args.resetNvram ? { resetNvram: true } : {}),
  });
  return { plan, loaded, sysroot, warnings: plan.warnings.map((warning) => `warning: ${formatProblem(warning)}`) };
}
