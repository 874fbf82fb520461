/** Reserves the huge pages the VM needs (only the missing ones) and mounts hugetlbfs for them. */
import { formatCpuList } from '../../cpu-list.js';
import { readCpuNodes } from '../../host/cpus.js';
import { readHugepagePool } from '../../host/hugepages.js';
import { parseSize } from '../../size.js';
import type { StepContext } from './context.js';
import type { StepDraft } from '../step.js';

export function planHugepages({ profile, sysroot }: StepContext): StepDraft[] {
  const { hugepages, size } = profile.memory;
  if (hugepages === false || !profile.host.hugepages) return [];
  const pageSize = parseSize(hugepages)!;
  const needed = Math.ceil(size / pageSize);
  // Pages on the node of the pinned CPUs keep guest memory local to them.
  const nodes = profile.pinning ? readCpuNodes(sysroot, profile.pinning.vcpus) : new Map<number, number[]>();
  const multiNode = sysroot.list('/sys/devices/system/node').filter((entry) => /^node\d+$/.test(entry)).length > 1;
  const node = multiNode && nodes.size === 1 ? [...nodes.keys()][0] : undefined;
  const pool = (node !== undefined ? readHugepagePool(sysroot, pageSize, node) : undefined) ?? readHugepagePool(sysroot, pageSize);
  if (!pool) return []; // the host checks report a page size the host lacks
  const where = pool.dir.startsWith('/sys/devices/system/node/') ? ` on NUMA node ${node} (the pinned CPUs ${formatCpuList(nodes.get(node!)!)})` : '';
  const step = { id: `reserve-hugepages ${hugepages}`, phase: 'prepare' as const, title: `reserve ${needed} huge pages of ${hugepages}${where}`, from: ['memory.size', 'memory.hugepages', 'host.hugepages'] };
  const notes = [`${pool.free} of ${pool.total} are free now`];
  const missing = needed - pool.free;
  if (missing <= 0) return [{ ...step, notes, skip: `${pool.free} are free already` }];
  return [
    {
      ...step,
      title: `reserve ${missing} more huge pages of ${hugepages}${where} (the VM needs ${needed})`,
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
