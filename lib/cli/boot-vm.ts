/** `boot-vm <profile>`: plans a VM from its profile and prints (dry-run) or runs the plan. */
import { detectQemuVersion } from '../apply/probe-qemu.js';
import { formatProblem, NotImplementedError, UsageError } from '../errors.js';
import { Sysroot } from '../host/sysroot.js';
import { buildPlan } from '../plan/plan.js';
import { renderExplain, renderJson, renderShell } from '../plan/render.js';
import { loadProfile } from '../profile/load.js';
import { parseQemuVersion } from '../qemu/version.js';

// What scripts/boot-vm.mjs needs besides bootVm, minimist included, so that it loads one
// module (this one, bundled: see scripts/build-bundles.mjs).
export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const BOOT_VM_USAGE = `Usage: boot-vm <profile> [--dry-run [--json] [--explain]] [options]

Boots the VM a profile describes. <profile> is a name looked up as <name>.yaml in
./profiles, then $BOOT_VM_PROFILES (colon-separated), then /etc/boot-vm/profiles;
or a path ending in .yaml.

  -n, --dry-run          print the plan (the exact command line) and change nothing
      --json             with --dry-run: {"profile", "qemuVersion", "argv", "steps"}
      --explain          with --dry-run: beside each option, the profile keys and rules behind it
      --sysroot DIR      read host facts (/sys, /proc, /dev, /run) under DIR; what DIR's host
                         lacks is then an error, not a warning
      --qemu-version X.Y plan for this QEMU version instead of asking the binary
      --qemu-binary PATH use this QEMU binary instead of the profile's qemu.binary
  -h, --help             show this help

Exit status: 0 done, 2 bad input (profile, arguments, or a host that does not fit).
`;

export interface BootVmOptions {
  profile: string;
  dryRun: boolean;
  json: boolean;
  explain: boolean;
  sysroot?: string;
  qemuVersion?: string;
  qemuBinary?: string;
}

export interface BootVmResult {
  stdout: string;
  /** Warnings, one formatted line each, for stderr. */
  warnings: string[];
}

export function bootVm(options: BootVmOptions, cwd: string, env: NodeJS.ProcessEnv): BootVmResult {
  if ((options.json || options.explain) && !options.dryRun) throw new UsageError('--json and --explain go with --dry-run');
  let qemuVersion;
  if (options.qemuVersion !== undefined) {
    qemuVersion = parseQemuVersion(options.qemuVersion);
    if (!qemuVersion) throw new UsageError(`--qemu-version: expected a version like 7.2, got "${options.qemuVersion}"`);
  }
  const loaded = loadProfile(options.profile, { cwd, env });
  const plan = buildPlan(loaded, {
    sysroot: new Sysroot(options.sysroot ?? '/'),
    strict: options.sysroot !== undefined || !options.dryRun,
    launching: !options.dryRun,
    probeQemuVersion: (binary) => detectQemuVersion(binary, env),
    ...(qemuVersion ? { qemuVersion } : {}),
    ...(options.qemuBinary ? { qemuBinary: options.qemuBinary } : {}),
  });
  const warnings = plan.warnings.map((warning) => `warning: ${formatProblem(warning)}`);
  if (!options.dryRun) {
    throw new NotImplementedError(`${loaded.file}: the plan is valid, but launching is not implemented yet; use --dry-run to print the command line`);
  }
  const stdout = options.json ? renderJson(plan, options.explain) : options.explain ? renderExplain(plan) : renderShell(plan);
  return { stdout, warnings };
}
