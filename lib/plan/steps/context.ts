import type { Sysroot } from '../../host/sysroot.js';
import type { Profile } from '../../profile/schema.js';
import type { ResolvedFirmware } from '../../qemu/arg.js';
import type { Report } from '../host-checks.js';
import type { MemoryPath } from '../memory-path.js';
import type { Owner } from '../step.js';

/** What every step builder reads: the profile, the host, and where to report what does not fit. */
export interface StepContext {
  name: string;
  profile: Profile;
  sysroot: Sysroot;
  /** A host mismatch: an error when strict, else a warning. */
  report: Report;
  /** A warning that never fails a launch: what may go wrong later, when the host is changed. */
  warn?: Report;
  /** The hugetlbfs directory QEMU will use, when the memory is file-backed huge pages. */
  memoryPath?: MemoryPath;
  /** The OVMF files the plan settled on (UEFI guests only). */
  firmware?: ResolvedFirmware;
  /** `host.runAs` as this host's /etc/passwd has it (absent when unset, or the host lacks the user). */
  runAs?: Owner;
  /** --reset-nvram: make the variable store again even though it exists. */
  resetNvram?: boolean;
}
