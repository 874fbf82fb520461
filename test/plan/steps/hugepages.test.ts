// planHugepages and planHugetlbfsMount (lib/plan/steps/hugepages.ts): reserve only the missing
// huge pages (ceil of memory / page size), on the NUMA node of the pinned CPUs when they are on
// one node of a multi-node host, host-wide otherwise; mount hugetlbfs where QEMU will look.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Sysroot } from '../../../lib/host/sysroot.js';
import type { MemoryPath } from '../../../lib/plan/memory-path.js';
import { resolveMemoryPath } from '../../../lib/plan/memory-path.js';
import { resolveNuma } from '../../../lib/plan/numa.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planHugepages, planHugetlbfsMount } from '../../../lib/plan/steps/hugepages.js';
import { host } from '../../fixtures/helpers.js';
import { copyHost } from '../../fixtures/launch.js';
import { profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

/** The context the plan gives: with the NUMA binding it resolves for the profile on that host. */
function contextOf(data: Record<string, unknown>, sysroot: Sysroot, memoryPath?: MemoryPath): StepContext {
  const profile = profileOf(data);
  const { report, diagnostics } = recorder();
  const numa = resolveNuma(profile, sysroot, report, diagnostics);
  return { name: 'vm', profile, sysroot, report, ...(memoryPath ? { memoryPath } : {}), ...(numa ? { numa } : {}) };
}


const FROM = ['memory.size', 'memory.hugepages', 'host.hugepages'];
const COMPACT = { do: { kind: 'trigger', path: '/proc/sys/vm/compact_memory', value: '1' }, undo: [] };
const reserve = (path: string, add: number, pageSize: string) => ({ do: { kind: 'reserve-hugepages', path, add, pageSize }, undo: [{ kind: 'release-hugepages', path }] });
const GLOBAL_1G = '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages';
const GLOBAL_2M = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';

t.test('enough free pages: skipped, with the count in a note', async (t) => {
  t.strictSame(planHugepages(contextOf({ memory: { size: '16G', hugepages: '1G' } }, host('inspur-nf5212m5'))), [
    { id: 'reserve-hugepages 1G', phase: 'prepare', title: 'reserve 16 huge pages of 1G', from: FROM, notes: ['32 of 32 are free now'], skip: '32 are free already' },
  ]);
  t.equal(planHugepages(contextOf({ memory: { size: '32G', hugepages: '1G' } }, host('inspur-nf5212m5')))[0]!.skip, '32 are free already', 'exactly enough');
});

t.test('only the missing pages are reserved, after compaction; the undo releases them', async (t) => {
  t.strictSame(planHugepages(contextOf({ memory: { size: '40G', hugepages: '1G' } }, host('inspur-nf5212m5'))), [
    {
      id: 'reserve-hugepages 1G',
      phase: 'prepare',
      title: 'reserve 8 more huge pages of 1G (the VM needs 40)',
      from: FROM,
      notes: ['32 of 32 are free now'],
      actions: [COMPACT, reserve(GLOBAL_1G, 8, '1G')],
    },
  ]);
});

t.test('pages needed are rounded up', async (t) => {
  const [step] = planHugepages(contextOf({ memory: { size: '3M', hugepages: '2M' } }, host('z77-i5-2500')));
  t.equal(step!.title, 'reserve 2 more huge pages of 2M (the VM needs 2)');
  t.strictSame(step!.actions, [COMPACT, reserve(GLOBAL_2M, 2, '2M')]);
  const [oneG] = planHugepages(contextOf({ memory: { size: '1025M', hugepages: '1G' } }, host('z77-i5-2500')));
  t.equal(oneG!.title, 'reserve 2 more huge pages of 1G (the VM needs 2)');
});

t.test('free pages count, not the total: some are in use', async (t) => {
  const dir = 'sys/kernel/mm/hugepages/hugepages-2048kB';
  const sysroot = sysrootOf(t, { [`${dir}/nr_hugepages`]: '4096\n', [`${dir}/free_hugepages`]: '1000\n' });
  const [step] = planHugepages(contextOf({ memory: { size: '4G', hugepages: '2M' } }, sysroot));
  t.equal(step!.title, 'reserve 1048 more huge pages of 2M (the VM needs 2048)');
  t.strictSame(step!.notes, ['1000 of 4096 are free now']);
  t.strictSame(step!.actions, [reserve(GLOBAL_2M, 1048, '2M')], 'no compaction without /proc/sys/vm/compact_memory');
});

t.test('pinned CPUs on one node of lab: that node’s pool', async (t) => {
  const [step] = planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' }, pinning: { vcpus: [16, 17, 48, 49] } }, host('lab')));
  t.strictSame(step, {
    id: 'reserve-hugepages 2M',
    phase: 'prepare',
    title: 'reserve 4096 more huge pages of 2M on NUMA node 1 (the pinned CPUs 16-17,48-49) (the VM needs 4096)',
    from: FROM,
    notes: ['0 of 0 are free now'],
    actions: [COMPACT, reserve('/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages', 4096, '2M')],
  });
  const [node0] = planHugepages(contextOf({ memory: { size: '2G', hugepages: '1G' }, pinning: { vcpus: [0, 32] } }, host('lab')));
  t.equal(node0!.title, 'reserve 2 more huge pages of 1G on NUMA node 0 (the pinned CPUs 0,32) (the VM needs 2)');
  t.strictSame(node0!.actions![1], reserve('/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/nr_hugepages', 2, '1G'));
});

t.test('the node’s own free pages decide, not the host’s', async (t) => {
  const root = copyHost(t, 'lab');
  const node = join(root, 'sys/devices/system/node/node1/hugepages/hugepages-2048kB');
  writeFileSync(join(node, 'nr_hugepages'), '3000\n');
  writeFileSync(join(node, 'free_hugepages'), '3000\n');
  writeFileSync(join(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'), '6000\n');
  writeFileSync(join(root, 'sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages'), '6000\n');
  const [step] = planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' }, pinning: { vcpus: [20, 21] } }, new Sysroot(root)));
  t.equal(step!.title, 'reserve 1096 more huge pages of 2M on NUMA node 1 (the pinned CPUs 20-21) (the VM needs 4096)');
  t.strictSame(step!.notes, ['3000 of 3000 are free now']);
  const [wide] = planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' }, pinning: { vcpus: [0, 20] } }, new Sysroot(root)));
  t.equal(wide!.skip, '6000 are free already', 'CPUs on both nodes: the host-wide pool');
  t.equal(wide!.title, 'reserve 4096 huge pages of 2M');
});

t.test('the host-wide pool: CPUs on both nodes, no pinning, or a single-node host', async (t) => {
  const spread = planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' }, pinning: { vcpus: [0, 16] } }, host('lab')))[0]!;
  t.equal(spread.title, 'reserve 4096 more huge pages of 2M (the VM needs 4096)');
  t.strictSame(spread.actions![1], reserve(GLOBAL_2M, 4096, '2M'));
  const unpinned = planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' } }, host('lab')))[0]!;
  t.strictSame(unpinned.actions![1], reserve(GLOBAL_2M, 4096, '2M'));
  const single = planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' }, pinning: { vcpus: [2, 3] } }, host('z77-i5-2500')))[0]!;
  t.strictSame(single.actions![1], reserve(GLOBAL_2M, 4096, '2M'), 'one node: node0’s pool is the host’s');
  t.equal(single.title, 'reserve 4096 more huge pages of 2M (the VM needs 4096)');
});

t.test('a node without a pool of that size: the host-wide pool', async (t) => {
  const root = copyHost(t, 'lab');
  rmSync(join(root, 'sys/devices/system/node/node1/hugepages'), { recursive: true });
  const [step] = planHugepages(contextOf({ memory: { size: '2G', hugepages: '1G' }, pinning: { vcpus: [16] } }, new Sysroot(root)));
  t.equal(step!.title, 'reserve 2 more huge pages of 1G (the VM needs 2)');
  t.strictSame(step!.actions![1], reserve(GLOBAL_1G, 2, '1G'));
});

t.test('memory.numa: mirror: each guest node’s share reserved in its host node’s pool, released there', async (t) => {
  const node = (n: number) => `/sys/devices/system/node/node${n}/hugepages/hugepages-1048576kB/nr_hugepages`;
  // 4 vCPUs on node 0 and 2 on node 1: 36G is 24G and 12G; 16 pages are free on each node.
  const steps = planHugepages(contextOf({ cpu: { threads: 2 }, memory: { size: '36G', hugepages: '1G', numa: 'mirror' }, pinning: { vcpus: [0, 32, 1, 33, 16, 48] } }, host('epyc-2s')));
  t.strictSame(steps, [
    {
      id: 'reserve-hugepages 1G node0',
      phase: 'prepare',
      title: 'reserve 8 more huge pages of 1G on NUMA node 0 (the pinned CPUs 0-1,32-33) (the VM needs 24 there)',
      from: FROM,
      notes: ['16 of 16 are free now'],
      actions: [COMPACT, reserve(node(0), 8, '1G')],
    },
    { id: 'reserve-hugepages 1G node1', phase: 'prepare', title: 'reserve 12 huge pages of 1G on NUMA node 1 (the pinned CPUs 16,48)', from: FROM, notes: ['16 of 16 are free now'], skip: '16 are free already' },
  ]);
  const spread = planHugepages(contextOf({ memory: { size: '36G', hugepages: '1G' }, pinning: { vcpus: [0, 16] } }, host('epyc-2s')));
  t.strictSame(spread.map((step) => step.id), ['reserve-hugepages 1G'], 'without mirror: one host-wide reservation');
  t.strictSame(spread[0]!.actions![1], reserve(GLOBAL_1G, 4, '1G'));
});

t.test('no step: no huge pages, host.hugepages false, or no pool of that size', async (t) => {
  t.strictSame(planHugepages(contextOf({ memory: { size: '8G' } }, host('lab'))), []);
  t.strictSame(planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' }, host: { hugepages: false } }, host('lab'))), []);
  t.strictSame(planHugepages(contextOf({ memory: { size: '8G', hugepages: '2M' } }, sysrootOf(t, {}))), []);
});

t.test('mount: mkdir when the directory is missing, then mount; undone by umount and rmdir', async (t) => {
  const memoryPath: MemoryPath = { path: '/dev/hugepages1G', note: 'x', unmounted: true };
  t.strictSame(planHugetlbfsMount(contextOf({ memory: { size: '8G', hugepages: '1G' } }, host('lab'), memoryPath)), [
    {
      id: 'mount-hugetlbfs /dev/hugepages1G',
      phase: 'prepare',
      title: 'mount hugetlbfs with pagesize=1G at /dev/hugepages1G',
      from: ['memory.hugepages', 'host.hugepages'],
      actions: [
        { do: { kind: 'mkdir', path: '/dev/hugepages1G' }, undo: [{ kind: 'rmdir', path: '/dev/hugepages1G' }] },
        { do: { kind: 'run', argv: ['mount', '-t', 'hugetlbfs', '-o', 'pagesize=1G', 'hugetlbfs', '/dev/hugepages1G'] }, undo: [{ kind: 'run', argv: ['umount', '/dev/hugepages1G'] }] },
      ],
    },
  ]);
});

t.test('mount: no mkdir when the directory exists; memory.path named when it gave the path', async (t) => {
  const memoryPath: MemoryPath = { path: '/vm', note: 'x', unmounted: true };
  const [step] = planHugetlbfsMount(contextOf({ memory: { size: '8G', hugepages: '2M', path: '/vm' } }, host('lab'), memoryPath));
  t.strictSame(step!.from, ['memory.path', 'host.hugepages']);
  t.strictSame(step!.actions, [{ do: { kind: 'run', argv: ['mount', '-t', 'hugetlbfs', '-o', 'pagesize=2M', 'hugetlbfs', '/vm'] }, undo: [{ kind: 'run', argv: ['umount', '/vm'] }] }]);
});

t.test('mount: none when mounted already, without a memory path, or with host.hugepages false', async (t) => {
  t.strictSame(planHugetlbfsMount(contextOf({ memory: { size: '8G', hugepages: '2M' } }, host('lab'), { path: '/dev/hugepages', note: 'x' })), []);
  t.strictSame(planHugetlbfsMount(contextOf({ memory: { size: '8G', hugepages: '2M' } }, host('lab'))), []);
  t.strictSame(planHugetlbfsMount(contextOf({ memory: { size: '8G', hugepages: '2M' }, host: { hugepages: false } }, host('lab'), { path: '/x', note: 'x', unmounted: true })), []);
  t.strictSame(planHugetlbfsMount(contextOf({ memory: { size: '8G' } }, host('lab'), { path: '/x', note: 'x', unmounted: true })), []);
});

t.test('mount, with the memory path the plan resolves: inspur has no 2M mount', async (t) => {
  const profile = { memory: { size: '8G', hugepages: '2M' } };
  const memoryPath = resolveMemoryPath(profileOf(profile), host('inspur-nf5212m5'))!;
  const [step] = planHugetlbfsMount(contextOf(profile, host('inspur-nf5212m5'), memoryPath));
  t.equal(step!.id, 'mount-hugetlbfs /dev/hugepages2M');
  t.strictSame(step!.actions!.map(({ do: action }) => action.kind), ['mkdir', 'run']);
  const mounted = resolveMemoryPath(profileOf({ memory: { size: '8G', hugepages: '1G' } }), host('inspur-nf5212m5'))!;
  t.strictSame(planHugetlbfsMount(contextOf({ memory: { size: '8G', hugepages: '1G' } }, host('inspur-nf5212m5'), mounted)), [], 'its 1G mount is there');
});
