/** Lets QEMU lock the guest's memory: mem-lock and VFIO's pinned DMA both count against RLIMIT_MEMLOCK. */
import type { Sysroot } from '../../host/sysroot.js';
import { formatSize } from '../../size.js';
import type { StepContext } from './context.js';
import type { StepDraft } from '../step.js';

// libvirt's rule for VFIO guests: guest memory plus 1 GiB for QEMU's own locked allocations.
const OVERHEAD = 1024 ** 3;
const CAP_IPC_LOCK = 14n;

/**
 * Why QEMU, started by this process, may lock `bytes` already; undefined when it may not or it
 * cannot be told. A QEMU that becomes another user (`runAs`) loses the capabilities it inherited.
 */
function alreadyAllowed(sysroot: Sysroot, bytes: number, runAs: string | undefined): string | undefined {
  const capabilities = /^CapEff:\s*([0-9a-f]+)$/m.exec(sysroot.readText('/proc/self/status') ?? '')?.[1];
  if (runAs === undefined && capabilities && (BigInt(`0x${capabilities}`) >> CAP_IPC_LOCK) & 1n) return 'boot-vm runs with CAP_IPC_LOCK, which QEMU inherits: locking memory is not limited';
  const limits = /^Max locked memory\s+(\S+)\s+(\S+)/m.exec(sysroot.readText('/proc/self/limits') ?? '');
  if (limits && limits.slice(1).every((limit) => limit === 'unlimited' || Number(limit) >= bytes)) return `the limit is ${limits[1]} already`;
  return undefined;
}

export function planMemlock({ profile, sysroot }: StepContext): StepDraft[] {
  if (!profile.host.memlock || (!profile.memory.lock && profile.passthrough.length === 0)) return [];
  const limit = profile.memory.size + OVERHEAD;
  const step: StepDraft = {
    id: 'memlock-limit',
    phase: 'launch',
    title: `raise QEMU's locked-memory limit to ${formatSize(limit)} (guest memory + 1G)`,
    from: ['memory.size', ...(profile.memory.lock ? ['memory.lock'] : ['passthrough']), 'host.memlock'],
  };
  const runAs = profile.host.runAs;
  // Resource limits survive QEMU's change of user, so the wrapper's limit is still the one it has as runAs.
  if (runAs !== undefined) step.notes = [`QEMU keeps this limit when it becomes ${runAs}; CAP_IPC_LOCK it would not keep`];
  const allowed = alreadyAllowed(sysroot, limit, runAs);
  if (allowed) return [{ ...step, skip: allowed }];
  return [{ ...step, actions: [{ do: { kind: 'wrap', argv: ['prlimit', `--memlock=${limit}:${limit}`] }, undo: [] }] }];
}
