import type { Profile } from '../profile/schema.js';
import type { Diagnostics } from '../qemu/arg.js';
import { NEWEST_KNOWN_QEMU, OLDEST_QEMU, atLeast, formatQemuVersion, parseQemuVersion, type DetectedVersion, type QemuVersion } from '../qemu/version.js';

/** Asks a QEMU binary its version (lib/apply/probe-qemu.ts; tests pass stand-ins). */
export type QemuProbe = (binary: string) => DetectedVersion;

export interface VersionChoice {
  version: QemuVersion;
  /** Where it came from, for --explain. */
  note: string;
}

/**
 * The QEMU version to plan for: `--qemu-version`, else `qemu.version`, else asked of the binary
 * through `probe`. When the binary cannot answer, a dry-run plans for the newest version boot-vm
 * knows and says so.
 */
export function chooseQemuVersion(profile: Profile, cliVersion: QemuVersion | undefined, probe: QemuProbe, launching: boolean, diagnostics: Diagnostics): VersionChoice {
  let choice: VersionChoice;
  let key = 'qemu.version';
  if (cliVersion) {
    choice = { version: cliVersion, note: 'QEMU version ← --qemu-version' };
  } else if (profile.qemu.version !== undefined) {
    choice = { version: parseQemuVersion(profile.qemu.version)!, note: 'QEMU version ← qemu.version' };
  } else {
    key = 'qemu.binary';
    const detected = probe(profile.qemu.binary);
    if ('version' in detected) {
      choice = { version: detected.version, note: `QEMU ${formatQemuVersion(detected.version)} ← detected: ${detected.path} --version` };
    } else {
      const newest = formatQemuVersion(NEWEST_KNOWN_QEMU);
      if (launching) diagnostics.error(key, detected.problem);
      else diagnostics.warn(key, `${detected.problem}; planning for QEMU ${newest} (give --qemu-version X.Y to plan for another)`);
      choice = { version: NEWEST_KNOWN_QEMU, note: `QEMU ${newest} ← assumed: ${detected.problem}` };
    }
  }
  if (!atLeast(choice.version, OLDEST_QEMU.major, OLDEST_QEMU.minor)) {
    diagnostics.error(key, `QEMU ${formatQemuVersion(choice.version)} is older than ${formatQemuVersion(OLDEST_QEMU)}, the oldest boot-vm plans for`);
  }
  return choice;
}
