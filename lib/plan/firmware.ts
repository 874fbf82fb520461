import { readUefiFirmwares } from '../host/firmware.js';
import type { Sysroot } from '../host/sysroot.js';
import type { Profile } from '../profile/schema.js';
import type { Diagnostics, ResolvedFirmware } from '../qemu/arg.js';
import type { QemuVersion } from '../qemu/version.js';
import type { Report } from './host-checks.js';

/** Where a VM's own UEFI variable store lives unless the profile says otherwise. */
export const defaultVarsPath = (name: string) => `/var/lib/boot-vm/nvram/${name}_VARS.fd`;

/** Debian's OVMF, assumed when the host has no firmware descriptors to ask: plain, and Secure Boot with Microsoft's keys. */
const FALLBACK = { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd' };
const SECURE_FALLBACK = { code: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd', varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd' };

/**
 * Picks the OVMF build: the profile's files when given, else the first of the host's QEMU firmware
 * descriptors that fits (Secure Boot with enrolled keys when asked for, plain UEFI otherwise).
 */
export function resolveFirmware(
  name: string,
  profile: Profile,
  version: QemuVersion,
  sysroot: Sysroot,
  report: Report,
  diagnostics: Diagnostics,
): ResolvedFirmware | undefined {
  const firmware = profile.firmware;
  if (firmware.type !== 'ovmf') return undefined;
  const machine = profile.machine.type === 'q35' ? `pc-q35-${version.major}.${version.minor}` : profile.machine.type;
  const available = readUefiFirmwares(sysroot, machine);
  const wanted = firmware.secureBoot
    ? [...available.filter((fw) => fw.features.includes('secure-boot') && fw.features.includes('enrolled-keys')), ...available.filter((fw) => fw.features.includes('secure-boot'))]
    : available.filter((fw) => !fw.features.includes('secure-boot') && !fw.features.includes('enrolled-keys'));
  const described = firmware.code === undefined ? wanted[0] : available.find((fw) => fw.code === firmware.code);
  let source: string;
  let code = firmware.code;
  let varsTemplate = firmware.varsTemplate;
  if (code !== undefined) {
    source = 'firmware.code';
    varsTemplate ??= described?.varsTemplate;
    if (varsTemplate === undefined) diagnostics.error('firmware.varsTemplate', `no firmware descriptor lists ${code}; say which variable store template goes with it`);
  } else if (described) {
    source = described.descriptor;
    code = described.code;
    varsTemplate ??= described.varsTemplate;
  } else {
    const fallback = firmware.secureBoot ? SECURE_FALLBACK : FALLBACK;
    source = `assumed Debian's ${fallback.code}`;
    code = fallback.code;
    varsTemplate ??= fallback.varsTemplate;
    const what = firmware.secureBoot ? 'UEFI firmware with Secure Boot (a descriptor with the features secure-boot and enrolled-keys)' : 'UEFI firmware';
    report('firmware', `no ${what} for ${machine} in ${sysroot.path('/usr/share/qemu/firmware')}; install ovmf or set firmware.code and firmware.varsTemplate`);
  }
  // Without Microsoft's keys in the variable store, Windows' boot loader is refused once Secure Boot is on.
  if (firmware.secureBoot && described && firmware.code === undefined && firmware.varsTemplate === undefined && !described.features.includes('enrolled-keys')) {
    diagnostics.warn(
      'firmware.secureBoot',
      `${described.descriptor} has Secure Boot but no keys enrolled (no enrolled-keys feature): Windows will not boot until Microsoft's keys are enrolled in the firmware setup; or set firmware.varsTemplate to a store that has them`,
    );
  }
  if (!sysroot.exists(code)) report('firmware.code', `${code} does not exist on this host`);
  if (varsTemplate !== undefined && !sysroot.exists(varsTemplate)) report('firmware.varsTemplate', `${varsTemplate} does not exist on this host`);
  // A missing variable store is made from the template by the nvram step.
  const vars = firmware.vars ?? defaultVarsPath(name);
  const smm = firmware.secureBoot || (described?.features.includes('requires-smm') ?? false);
  return { code, vars, varsTemplate: varsTemplate ?? '', secureBoot: firmware.secureBoot, smm, source };
}
