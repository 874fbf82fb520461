/** `doctor <profile>`: pass/warn/fail for everything a profile's passthrough needs from this host. */
import { probeDeviceProperties } from '../apply/probe-device-props.js';
import { detectQemuVersion, findExecutable } from '../apply/probe-qemu.js';
import { UsageError } from '../errors.js';
import { buildBootConfig } from '../inspect/boot-config.js';
import { renderDoctorJson, renderDoctorText, runDoctor } from '../inspect/doctor.js';
import { loadProfile } from '../profile/load.js';
import { parseQemuVersion } from '../qemu/version.js';
import { openSysroot, type CliOutput } from './inspect-options.js';

export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const DOCTOR_USAGE = `Usage: doctor <profile> [--boot-config] [--json] [--sysroot DIR] [--qemu-version X.Y]

Checks what the profile's passthrough needs from this host, before anything is changed:
virtualization and /dev/kvm, the IOMMU and interrupt remapping, the kernel command line, vfio
modules, each device (present, IOMMU group, driver, processes using it, ROM file), huge pages,
the memlock limit, QEMU and the vfio-pci properties the profile uses, OVMF, swtpm (tpm), and the pinned
CPUs. Each line is pass, WARN or FAIL; a FAIL says how to fix it. Runs only QEMU's own
--version and -device vfio-pci,help (both cached).
<profile> is a name or a path ending in .yaml, as boot-vm takes it.

      --boot-config      print the kernel command line and modprobe.d lines this profile
                         needs (vfio-pci ids, softdeps), instead of checking
      --json             {"profile", "ok", "checks": [{"status", "check", "detail", "fix"}]}
      --sysroot DIR      read /sys, /proc and /dev under DIR instead of /
      --qemu-version X.Y plan for this QEMU version
  -h, --help             show this help

Exit status: 0 no FAIL, 1 some FAIL, 2 bad input.
`;

export interface DoctorCliOptions {
  profile: string;
  bootConfig: boolean;
  json: boolean;
  sysroot?: string;
  qemuVersion?: string;
}

export function doctor(options: DoctorCliOptions, cwd: string, env: NodeJS.ProcessEnv): CliOutput {
  const sysroot = openSysroot(options.sysroot);
  const qemuVersion = options.qemuVersion === undefined ? undefined : parseQemuVersion(options.qemuVersion);
  if (options.qemuVersion !== undefined && !qemuVersion) throw new UsageError(`--qemu-version: expected a version like 7.2, got "${options.qemuVersion}"`);
  if (options.bootConfig && options.json) throw new UsageError('--boot-config prints configuration lines; it has no --json');
  const loaded = loadProfile(options.profile, { cwd, env });
  if (options.bootConfig) {
    return { stdout: buildBootConfig(loaded.profile, sysroot), stderr: [], exitCode: 0 };
  }
  const checks = runDoctor(loaded, {
    sysroot,
    probeQemuVersion: (binary) => detectQemuVersion(binary, env),
    probeDeviceProperties: (binary, device) => probeDeviceProperties(binary, device, env),
    findProgram: (name) => findExecutable(name, env),
    ...(qemuVersion ? { qemuVersion } : {}),
  });
  const failed = checks.some((item) => item.status === 'fail');
  return { stdout: options.json ? renderDoctorJson(loaded.name, checks) : renderDoctorText(loaded.name, checks), stderr: [], exitCode: failed ? 1 : 0 };
}
