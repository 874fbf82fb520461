/** `check-iommu [--profile <vm>]`: every IOMMU group, its devices and whether it can be passed through. */
import { inspectIommu } from '../inspect/check-iommu.js';
import { renderIommuJson, renderIommuText } from '../inspect/render-iommu.js';
import { loadProfile } from '../profile/load.js';
import { openSysroot, type CliOutput } from './inspect-options.js';

// What scripts/check-iommu.mjs needs besides checkIommu, in this one bundled module.
export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const CHECK_IOMMU_USAGE = `Usage: check-iommu [--profile <vm>] [--json] [--sysroot DIR]

Lists every IOMMU group with its devices (address, class, vendor:device ids, names from
pci.ids, driver, reset methods) and says whether each group can be passed through as it is:
only endpoints one would give a guest, and bridges. Reads the host; changes nothing.

      --profile <vm>  mark the profile's devices (*) and say what else must go with them
      --json          a list of groups, each with its number, verdict and devices
      --sysroot DIR   read /sys and /proc under DIR instead of /
  -h, --help          show this help

Exit status: 0 listed, 2 bad input.
`;

export interface CheckIommuOptions {
  profile?: string;
  json: boolean;
  sysroot?: string;
}

export function checkIommu(options: CheckIommuOptions, cwd: string, env: NodeJS.ProcessEnv): CliOutput {
  const sysroot = openSysroot(options.sysroot);
  const loaded = options.profile === undefined ? undefined : loadProfile(options.profile, { cwd, env });
  const report = inspectIommu(sysroot, loaded?.profile.passthrough.map((device) => device.host) ?? []);
  if (options.json) return { stdout: renderIommuJson(report), stderr: report.iommuOff ? [`check-iommu: ${report.iommuOff}`] : [], exitCode: 0 };
  return { stdout: renderIommuText(report, loaded?.name), stderr: [], exitCode: 0 };
}
