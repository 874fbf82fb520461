/** Lets QEMU lock the guest's memory: mem-lock and VFIO's pinned DMA both count against RLIMIT_MEMLOCK. */
import { formatSize } from '../../size.js';
import type { StepContext } from './context.js';
import type { StepDraft } from '../step.js';

// libvirt's rule for VFIO guests: guest memory plus 1 GiB for QEMU's own locked allocations.
const OVERHEAD = 1024 ** 3;

export function planMemlock({ profile }: StepContext): StepDraft[] {
  if (!profile.host.memlock || (!profile.memory.lock && profile.passthrough.length === 0)) return [];
  const limit = profile.memory.size + OVERHEAD;
  return [
    {
      id: 'memlock-limit',
      phase: 'launch',
      title: `raise QEMU's locked-memory limit to ${formatSize(limit)} (guest memory + 1G)`,
      from: ['memory.size', ...(profile.memory.lock ? ['memory.lock'] : ['passthrough']), 'host.memlock'],
      actions: [{ do: { kind: 'wrap', argv: ['prlimit', `--memlock=${limit}:${limit}`] }, undo: [] }],
    },
  ];
}
