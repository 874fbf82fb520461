/**
 * Reserves the huge pages the VM needs (only the missing ones): on the NUMA node(s) guest memory is
 * bound to, else host-wide; and mounts hugetlbfs for them.
 */
import { formatCpuList } from '../../cpu-list.js';
import { readHugepagePool, type HugepagePool } from '../../host/hugepages.js';
import type { Sysroot } from '../../host/sysroot.js';
import type { Profile } from '../../profile/schema.js';
import { parseSize } from '../../size.js';
import type { StepContext } from './context.js';
import type { StepDraft } from '../step.js';

export function planHugepages({ profile, sysroot, numa }: StepContext): StepDraft[] {
  const { hugepages, size } = profile.memory;
  if (hugepages === false || !profile.host.hugepages) return [];
  const pageSize = parseSize(hugepages)!;
  // Memory bound to a node takes its pages from that node's pool only (lib/plan/numa.ts found each pool).
  if (numa) {
    return numa.nodes.flatMap((node) => {
      const pool = readHugepagePool(sysroot, pageSize, node.hostNode)!;
      const needed = Math.ceil(node.size / pageSize);
      return reserveStep(profile, sysroot, pool, needed, {
        id: numa.mirror ? ` node${node.hostNode}` : '',
        where: ` on NUMA node ${node.hostNode} (the pinned CPUs ${formatCpuList(node.hostCpus)})`,
        needs: numa.mirror ? `${needed} there` : String(needed),
      });
    });
  }
  const pool = readHugepagePool(sysroot, pageSize);
  if (!pool) return []; // the host checks report a page size the host lacks
  const needed = Math.ceil(size / pageSize);
  return reserveStep(profile, sysroot, pool, needed, { id: '', where: '', needs: String(needed) });
}

function reserveStep(profile: Profile, sysroot: Sysroot, pool: HugepagePool, needed: number, label: { id: string; where: string; needs: string }): StepDraft[] {
  const hugepages = profile.memory.hugepages as string;
  const step = { id: `reserve-hugepages ${hugepages}${label.id}`, phase: 'prepare' as const, title: `reserve ${needed} huge pages of ${hugepages}${label.where}`, from: ['memory.size', 'memory.hugepages', 'host.hugepages'] };
  const notes = [`${pool.free} of ${pool.total} are free now`];
  const missing = needed - pool.free;
  if (missing <= 0) return [{ ...step, notes, skip: `${pool.free} are free already` }];
  return [
    {
      ...step,
      title: `reserve ${missing} more huge pages of ${hugepages}${label.where} (the VM needs ${label.needs})`,
      notes,
      actions: [
        // Compaction makes room for contiguous pages; there is nothing to undo.
        ...(sysroot.exists('/proc/sys/vm/compact_memory') ? [{ do: { kind: 'trigger' as const, path: '/proc/sys/vm/compact_memory', value: '1' }, undo: [] }] : []),
        { do: { kind: 'reserve-hugepages', path: `${pool.dir}/nr_hugepages`, add: missing, pageSize: hugepages }, undo: [{ kind: 'release-hugepages', path: `${pool.dir}/nr_hugepages` }] },
      ],
    },
  ];
}

/** Mounts hugetlbfs where QEMU will look when no mount of that page size exists. */
export function planHugetlbfsMount({ profile, sysroot, memoryPath }: StepContext): StepDraft[] {
  const hugepages = profile.memory.hugepages;
  if (hugepages === false || !profile.host.hugepages || !memoryPath?.unmounted) return [];
  const { path } = memoryPath;
  return [
    {
      id: `mount-hugetlbfs ${path}`,
      phase: 'prepare',
      title: `mount hugetlbfs with pagesize=${hugepages} at ${path}`,
      from: [profile.memory.path ? 'memory.path' : 'memory.hugepages', 'host.hugepages'],
      actions: [
        ...(sysroot.exists(path) ? [] : [{ do: { kind: 'mkdir' as const, path }, undo: [{ kind: 'rmdir' as const, path }] }]),
        { do: { kind: 'run', argv: ['mount', '-t', 'hugetlbfs', '-o', `pagesize=${hugepages}`, 'hugetlbfs', path] }, undo: [{ kind: 'run', argv: ['umount', path] }] },
      ],
    },
  ];
}
