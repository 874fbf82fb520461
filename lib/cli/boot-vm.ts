/** `boot-vm <profile>`: plans a VM from its profile and prints (dry-run) or applies the plan and runs QEMU. */
import { launchVm } from '../apply/launch.js';
import { nodeHostIo } from '../apply/host-io.js';
import { createLogger, type LogMode } from '../apply/log.js';
import { DEFAULT_STOP_TIMEOUT_S } from '../apply/stop.js';
import { formatProblem, UsageError } from '../errors.js';
import { renderExplain, renderJson, renderShell } from '../plan/render.js';
import { planProfile } from './plan-profile.js';
import { parseSeconds } from './seconds.js';

// What scripts/boot-vm.mjs needs besides bootVm, minimist included, so that it loads one
// module (this one, bundled: see scripts/build-bundles.mjs).
export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const BOOT_VM_USAGE = `Usage: boot-vm <profile> [--dry-run [--json] [--explain]] [options]

Boots the VM a profile describes: applies the host steps in order (journaled in
/run/boot-vm/<profile>.journal), runs QEMU, and undoes the steps in reverse when it exits.
<profile> is a name looked up as <name>.yaml in ./profiles, then $BOOT_VM_PROFILES
(colon-separated), then /etc/boot-vm/profiles; or a path ending in .yaml.

  -n, --dry-run          print the plan (host steps with their undo, the exact command line)
                         and change nothing
      --json             with --dry-run: {"profile", "qemuVersion", "argv", "steps"};
                         when launching: one JSON object per log line on stderr
      --explain          with --dry-run: beside each option, the profile keys and rules behind it
  -q, --quiet            when launching: print only failures and warnings
      --sysroot DIR      the host's /sys, /proc, /dev and /run are under DIR; what DIR's host
                         lacks is then an error, not a warning. Launching against DIR changes
                         files under DIR only, logs host commands (modprobe, mount, chrt…)
                         instead of running them, and runs only the QEMU binary
      --qemu-version X.Y plan for this QEMU version instead of asking the binary
      --qemu-binary PATH use this QEMU binary instead of the profile's qemu.binary
      --stop-timeout S   on Ctrl-C or SIGTERM, give the guest S seconds to shut down after
                         the ACPI power button before QEMU quits (default 120)
      --reset-nvram      make the UEFI variable store (firmware.vars) again from its template:
                         the guest's UEFI settings (boot entries, Secure Boot keys) are lost
  -h, --help             show this help

Ctrl-C or SIGTERM presses the guest's power button (after the profile's beforeStop hook, if
it has hooks) and waits for it to shut down; a second one quits QEMU at once, a third kills it. The host is put back either way. scripts/vm.mjs
status|stop <profile> does the same from another terminal. After a crash,
scripts/teardown.mjs <profile> puts the host back.

Exit status: QEMU's status after a launch, 0 after a dry-run; 1 when a host step fails (what
was done is undone) or the VM is already running; 2 bad input (profile, arguments, or a host
that does not fit), with nothing changed.
`;

export interface BootVmOptions {
  profile: string;
  dryRun: boolean;
  json: boolean;
  explain: boolean;
  quiet: boolean;
  sysroot?: string;
  qemuVersion?: string;
  qemuBinary?: string;
  /** Seconds the guest has to shut down on Ctrl-C or SIGTERM. */
  stopTimeout?: string;
  resetNvram?: boolean;
}

export interface BootVmResult {
  stdout: string;
  /** Warnings, one formatted line each, for stderr. */
  warnings: string[];
  /** Set after a launch: QEMU's exit status. */
  status?: number;
}

/** Plans; for a dry-run returns the rendering and the warnings, else applies the plan (its log gives the warnings first, in its format). */
export async function bootVm(options: BootVmOptions, cwd: string, env: NodeJS.ProcessEnv): Promise<BootVmResult> {
  if (options.explain && !options.dryRun) throw new UsageError('--explain goes with --dry-run');
  if (options.quiet && options.dryRun) throw new UsageError('--quiet goes with a launch, not --dry-run');
  if (options.quiet && options.json) throw new UsageError('--quiet and --json are two log formats; choose one');
  if (options.stopTimeout !== undefined && options.dryRun) throw new UsageError('--stop-timeout goes with a launch, not --dry-run');
  const stopTimeoutMs = parseSeconds('--stop-timeout', options.stopTimeout ?? String(DEFAULT_STOP_TIMEOUT_S));
  const strict = options.sysroot !== undefined || !options.dryRun;
  const { plan, sysroot, warnings } = planProfile({ ...options, strict, launching: !options.dryRun }, cwd, env);
  if (options.dryRun) {
    const stdout = options.json ? renderJson(plan, options.explain) : options.explain ? renderExplain(plan) : renderShell(plan);
    return { stdout, warnings };
  }
  const mode: LogMode = options.json ? 'json' : options.quiet ? 'quiet' : 'text';
  const log = createLogger({ mode, total: plan.steps.length });
  for (const warning of plan.warnings) log.warn(formatProblem(warning));
  if (!sysroot.isLive) log.info(`launching against ${sysroot.root}: its files change, host commands are logged, only QEMU runs`);
  const { status } = await launchVm(plan, { sysroot, io: nodeHostIo, log, env, stopTimeoutMs });
  return { stdout: '', warnings: [], status };
}
