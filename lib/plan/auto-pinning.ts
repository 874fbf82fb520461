/** `pinning: auto` / `vcpus: auto`: the plan asks the host's topology for the CPUs (cpu-topology --suggest). */
import { formatCpuList } from '../cpu-list.js';
import { InputError } from '../errors.js';
import { isDisplayClass, readPciDetails } from '../host/pci.js';
import type { Sysroot } from '../host/sysroot.js';
import { readCpuTopology, type CpuTopology } from '../host/topology.js';
import { suggestPinning } from '../inspect/suggest-pinning.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import type { Profile } from '../profile/schema.js';
import type { Arg, Diagnostics } from '../qemu/arg.js';
import type { Step } from './step.js';

export interface AutoPinning {
  profile: Profile;
  /** What auto chose and why, for --explain; undefined when the profile names its CPUs. */
  note?: string;
}

/** The NUMA node of the profile's GPU (else of its first device the firmware places), read from sysfs. */
export function passthroughNumaNode(profile: Profile, sysroot: Sysroot): number | undefined {
  const devices = profile.passthrough.map((device) => readPciDetails(sysroot, formatPciAddress(parsePciAddress(device.host)!)));
  const gpu = devices.find((device) => device.class !== undefined && isDisplayClass(device.class) && device.numaNode !== undefined);
  return (gpu ?? devices.find((device) => device.numaNode !== undefined))?.numaNode;
}

/**
 * Fills in auto-chosen vCPUs (and, for `pinning: auto`, the emulator CPUs); reports what stops it.
 * `readTopology` lets a caller that needs the topology too read it once.
 */
export function resolveAutoPinning(profile: Profile, sysroot: Sysroot, diagnostics: Diagnostics, readTopology: () => CpuTopology = () => readCpuTopology(sysroot)): AutoPinning {
  const pinning = profile.pinning;
  if (!pinning?.auto) return { profile };
  const key = pinning.auto === 'pinning' ? 'pinning' : 'pinning.vcpus';
  const { sockets, cores, threads } = profile.cpu;
  // Without CPUs the rest of the plan would only add errors about the empty list: drop the pinning.
  const { pinning: _unresolved, ...unpinned } = profile;
  if (cores === undefined) {
    diagnostics.error(key, 'auto needs cpu.cores (with cpu.sockets and cpu.threads) to know how many vCPUs to place');
    return { profile: unpinned };
  }
  const vcpus = sockets * cores * threads;
  const node = passthroughNumaNode(profile, sysroot);
  try {
    const suggestion = suggestPinning(readTopology(), { vcpus, threads, ...(node === undefined ? {} : { node }) });
    const emulator = pinning.auto === 'pinning' ? suggestion.emulator : pinning.emulator;
    const note = `${key}: auto → vCPUs on ${suggestion.vcpus.join(',')}${pinning.auto === 'pinning' ? `, emulator on ${formatCpuList(suggestion.emulator)}` : ''}: ${suggestion.reasons.join('; ')}`;
    return { profile: { ...profile, pinning: { ...pinning, vcpus: suggestion.vcpus, ...(emulator ? { emulator } : {}) } }, note };
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    diagnostics.error(key, `auto: ${error.problems.map((problem) => problem.message).join('; ')}`);
    return { profile: unpinned };
  }
}

/**
 * Puts auto's choice beside what it became: the `taskset` prefix (process mode) or the step that
 * pins the vCPU threads (threads mode). After `pinning: auto` that comes from `pinning` itself.
 */
export function noteAutoPinning(wrappers: Arg[], steps: Step[], auto: AutoPinning): void {
  if (auto.note === undefined) return;
  const taskset = wrappers.find((wrapper) => wrapper.words[0] === 'taskset');
  const pinSteps = steps.filter((step) => step.id === 'pin-emulator' || step.id === 'pin-vcpus');
  (taskset ?? pinSteps.at(-1))?.notes.push(auto.note);
  if (auto.profile.pinning?.auto !== 'pinning') return;
  for (const target of taskset ? [taskset] : pinSteps) target.from = ['pinning', ...target.from.filter((key) => key !== 'pinning.vcpus' && key !== 'pinning.emulator')];
}
