import type { Sysroot } from '../../host/sysroot.js';
import type { Profile } from '../../profile/schema.js';
import type { GuestNuma, ResolvedFirmware } from '../../qemu/arg.js';
import type { Report } from '../host-checks.js';
import type { PlannedHooks } from '../hooks.js';
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
  /** Guest memory's NUMA binding (lib/plan/numa.ts): the huge pages are reserved on its nodes. */
  numa?: GuestNuma;
  /** The OVMF files the plan settled on (UEFI guests only). */
  firmware?: ResolvedFirmware;
  /** `host.runAs` as this host's /etc/passwd has it (absent when unset, or the host lacks the user). */
  runAs?: Owner;
  /** --reset-nvram: make the variable store again even though it exists. */
  resetNvram?: boolean;
  /** The hooks script and what it exports (`hooks`). */
  hooks?: PlannedHooks;
}
