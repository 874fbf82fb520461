import type { Profile } from '../profile/schema.js';
import type { QemuVersion } from './version.js';

/** One option of the command line (or one wrapper before the binary) and why it is there. */
export interface Arg {
  /** The argv words, e.g. `['-device', 'vfio-pci,host=0000:01:00.0']`. */
  words: string[];
  /** The profile keys it was built from. */
  from: string[];
  /** Rules that added or changed part of it: `hv-vpindex=on ← added: cpu.hyperv.synic needs it`. */
  notes: string[];
}

export const arg = (words: string[], from: string[], notes: string[] = []): Arg => ({ words, from, notes });

/** Where builders report what is wrong (errors stop the plan) or worth knowing (warnings). */
export interface Diagnostics {
  error(key: string, message: string): void;
  warn(key: string, message: string): void;
}

/** Firmware files the plan settled on, from the profile or the host's firmware descriptors. */
export interface ResolvedFirmware {
  code: string;
  vars: string;
  varsTemplate: string;
  secureBoot: boolean;
  /** The firmware needs System Management Mode (`requires-smm`). */
  smm: boolean;
  /** Where `code`/`varsTemplate` came from, for --explain. */
  source: string;
}

/** A hugetlbfs directory the plan settled on, with the note --explain shows for it. */
export interface HugepageDir {
  path: string;
  note: string;
}

/** One guest NUMA node: the host node its memory is bound to, its vCPUs (guest indices), their host CPUs and its memory in bytes. */
export interface GuestNumaNode {
  hostNode: number;
  vcpus: number[];
  hostCpus: number[];
  size: number;
}

/**
 * Where guest memory is bound (lib/plan/numa.ts): to the one host node of the pinned vCPUs, or,
 * with `memory.numa: mirror`, one guest node per host node they are on (`mirror`).
 */
export interface GuestNuma {
  mirror: boolean;
  nodes: GuestNumaNode[];
  /** Why, for --explain. */
  note: string;
}

/** What the argv builders need: the profile, the QEMU version and facts the plan resolved on the host. */
export interface BuildInput {
  name: string;
  profile: Profile;
  version: QemuVersion;
  diagnostics: Diagnostics;
  /** The hugetlbfs directory for a file-backed hugepage memory backend, and how it was chosen. */
  hugepageDir?: HugepageDir;
  firmware?: ResolvedFirmware;
  /** Guest memory's NUMA binding, when the plan settled on one. */
  numa?: GuestNuma;
}
