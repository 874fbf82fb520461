/**
 * Profile + host facts + QEMU version → Plan. Reads the host through the sysroot, never writes
 * and spawns nothing itself (the QEMU version probe is handed in): a dry-run renders the plan,
 * a launch applies the very same plan.
 */
import { InputError, byLocation, type Problem } from '../errors.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import type { LoadedProfile } from '../profile/load.js';
import type { Profile } from '../profile/schema.js';
import type { Arg, GuestNuma, ResolvedFirmware } from '../qemu/arg.js';
import { buildCommand } from '../qemu/command.js';
import { controlPaths } from '../qemu/control.js';
import { formatQemuVersion, type QemuVersion } from '../qemu/version.js';
import { noteAutoPinning, resolveAutoPinning } from './auto-pinning.js';
import { Collector } from './diagnostics.js';
import { resolveFirmware } from './firmware.js';
import { resolveHooks } from './hooks.js';
import { checkRtThrottling } from './rt-throttling.js';
import { checkHostCpus, checkHostDevices, checkHostFiles, checkHostHugepages, checkRomFiles } from './host-checks.js';
import { checkInputDevices, checkUsbDevices } from './input-usb-checks.js';
import { resolveMemoryPath, type MemoryPath } from './memory-path.js';
import { resolveNuma } from './numa.js';
import { chooseQemuVersion, type QemuProbe } from './qemu-version.js';
import type { Step } from './step.js';
import { buildSteps } from './steps/index.js';
import { resolveRunAs } from './steps/run-as.js';
import { checkTpmPrograms, type ProgramFinder } from './steps/tpm.js';

export interface Plan {
  /** The VM's name (the profile's file name). */
  profile: string;
  /** The profile file. */
  file: string;
  /** Every profile file read: the profile last, the bases it extends before it. */
  files: string[];
  qemuVersion: string;
  /** The exact argv to exec, wrappers included. */
  argv: string[];
  /** The host's root the plan was made for: `/`, or the tree given with --sysroot. */
  sysroot: string;
  /** Host steps in order: prepare, launch (just before QEMU starts), running (once it has). */
  steps: Step[];
  /** The argv grouped by option, with the profile keys and rules behind each. */
  args: Arg[];
  /** Where the running QEMU is reached: its pidfile and QMP socket (host paths). */
  control: Control;
  /** The passed-through PCI devices (`0000:01:00.0`), which the launch reserves for this VM. */
  devices: string[];
  /** How many of `args` are wrappers (chrt, taskset) before the QEMU binary. */
  wrappers: number;
  /** For keys in `args[].from` not written in the profile file itself: `default`, or `file:line` of the base that set it. */
  keyOrigins: Record<string, string>;
  warnings: Problem[];
  /** What the argv and steps were made from, for the exports (lib/export/): the profile with `auto` pinning filled in, and the facts the plan chose. */
  resolved: Resolved;
}

export interface Resolved {
  profile: Profile;
  firmware?: ResolvedFirmware;
  numa?: GuestNuma;
  memoryPath?: MemoryPath;
}

export interface Control {
  pidfile: string;
  qmp: string;
}

export interface PlanOptions {
  sysroot: Sysroot;
  /** Host mismatches are errors: a sysroot was given, or the plan is for a launch. */
  strict: boolean;
  launching: boolean;
  qemuVersion?: QemuVersion;
  /** Replaces `qemu.binary` (`--qemu-binary`). */
  qemuBinary?: string;
  /** Asks the binary its version when neither `qemuVersion` nor the profile gives one. */
  probeQemuVersion: QemuProbe;
  /** Finds the helper programs a profile needs (swtpm) on PATH, as the QEMU binary is found. */
  findProgram: ProgramFinder;
  /** `--reset-nvram`: make the UEFI variable store again from its template. */
  resetNvram?: boolean;
}

/** Builds the plan; throws `InputError` with every problem found when the profile cannot run here. */
export function buildPlan(loaded: LoadedProfile, options: PlanOptions): Plan {
  const { sysroot } = options;
  const diagnostics = new Collector(loaded.locate);
  const autoPinning = resolveAutoPinning(options.qemuBinary ? { ...loaded.profile, qemu: { ...loaded.profile.qemu, binary: options.qemuBinary } } : loaded.profile, sysroot, diagnostics);
  const profile = autoPinning.profile;
  const report = diagnostics.hostReporter(options.strict);
  const { version, note: versionNote } = chooseQemuVersion(profile, options.qemuVersion, options.probeQemuVersion, options.launching, diagnostics);
  checkHostCpus(profile, sysroot, report);
  checkHostDevices(profile, sysroot, report);
  checkHostFiles(profile, sysroot, report);
  checkRomFiles(profile, sysroot, report);
  checkHostHugepages(profile, sysroot, report);
  checkInputDevices(profile, sysroot, report);
  checkUsbDevices(profile, sysroot, report, diagnostics);
  checkRtThrottling(profile, sysroot, (key, message) => diagnostics.warn(key, message));
  const memoryPath = resolveMemoryPath(profile, sysroot);
  // The mount step mounts it when host preparation is on; otherwise the user has to.
  if (memoryPath?.warning && !profile.host.hugepages) diagnostics.warn(profile.memory.path ? 'memory.path' : 'memory.hugepages', memoryPath.warning);
  const numa = resolveNuma(profile, sysroot, report, diagnostics);
  const firmware = resolveFirmware(loaded.name, profile, version, sysroot, report, diagnostics);
  const runAs = resolveRunAs(profile, sysroot, report);
  checkTpmPrograms(profile, options.findProgram, options.launching, diagnostics);
  const hooks = resolveHooks(loaded, (key, message) => diagnostics.error(key, message));
  const steps = buildSteps({
    name: loaded.name,
    profile,
    sysroot,
    report,
    warn: (key, message) => diagnostics.warn(key, message),
    ...(memoryPath ? { memoryPath } : {}),
    ...(numa ? { numa } : {}),
    ...(firmware ? { firmware } : {}),
    ...(runAs ? { runAs } : {}),
    ...(hooks ? { hooks } : {}),
    ...(options.resetNvram ? { resetNvram: true } : {}),
  });
  const { wrappers, qemu } = buildCommand(
    {
      name: loaded.name,
      profile,
      version,
      diagnostics,
      ...(memoryPath ? { hugepageDir: { path: memoryPath.path, note: memoryPath.note } } : {}),
      ...(numa ? { numa } : {}),
      ...(firmware ? { firmware } : {}),
    },
    versionNote,
  );
  noteAutoPinning(wrappers, steps, autoPinning);
  const args = [...wrappers, ...qemu];
  if (diagnostics.errors.length > 0) throw new InputError(diagnostics.errors.sort(byLocation));
  const keyOrigins: Record<string, string> = {};
  for (const key of new Set(args.flatMap((arg) => arg.from))) {
    const written = loaded.written(key);
    if (!written) keyOrigins[key] = 'default';
    else if (written.file !== loaded.file) keyOrigins[key] = `${written.file}:${written.line}`;
  }
  return {
    profile: loaded.name,
    file: loaded.file,
    files: loaded.files,
    qemuVersion: formatQemuVersion(version),
    argv: args.flatMap((arg) => arg.words),
    sysroot: sysroot.root,
    steps,
    args,
    control: controlPaths(loaded.name, profile),
    devices: profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!)),
    wrappers: wrappers.length,
    keyOrigins,
    warnings: diagnostics.warnings.sort(byLocation),
    resolved: { profile, ...(firmware ? { firmware } : {}), ...(numa ? { numa } : {}), ...(memoryPath ? { memoryPath } : {}) },
  };
}
