// resolveNuma (lib/plan/numa.ts): guest memory bound to the one host node of the pinned vCPUs (only
// where its huge pages come from that node's pool), a warning naming each node when the vCPUs span
// nodes, and memory.numa: mirror's guest nodes with shares in proportion to their vCPUs.
import t, { type Test } from 'tap';
import { Sysroot } from '../../lib/host/sysroot.js';
import { resolveNuma, splitProportionally } from '../../lib/plan/numa.js';
import { host } from '../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf } from '../fixtures/trees.js';

const NODE_DIR = 'sys/devices/system/node';
const POOL_1G = 'hugepages/hugepages-1048576kB';
/** epyc-2s's CPUs, nodes and 1G pools (16 pages, all free, on each node), with `files` changed or left out (undefined). */
function epycNodes(t: Test, files: Record<string, string | undefined>): Sysroot {
  const tree: Record<string, string | undefined> = {
    'sys/devices/system/cpu/present': '0-63\n',
    [`${NODE_DIR}/node0/cpulist`]: '0-15,32-47\n',
    [`${NODE_DIR}/node1/cpulist`]: '16-31,48-63\n',
    ...Object.fromEntries([0, 1].flatMap((node) => ['nr_hugepages', 'free_hugepages'].map((file) => [`${NODE_DIR}/node${node}/${POOL_1G}/${file}`, '16\n']))),
    ...files,
  };
  return sysrootOf(t, Object.fromEntries(Object.entries(tree).filter((entry): entry is [string, string] => entry[1] !== undefined)));
}

const resolve = (data: Record<string, unknown>, sysroot: Sysroot = host('epyc-2s')) => {
  const { report, diagnostics, reports } = recorder();
  const numa = resolveNuma(profileOf(data), sysroot, report, diagnostics);
  return { numa, reports, errors: diagnostics.errors, warnings: diagnostics.warnings };
};
const GIB = 1 << 30;
const TWO_MIB = 2 << 20;

t.test('splitProportionally: floors first, the rest to the largest fractions, the lower node on a tie', async (t) => {
  t.strictSame(splitProportionally(8, [4, 2]), [5, 3], '5.33 and 2.67: the unit left goes to 0.67');
  t.strictSame(splitProportionally(8, [1, 1]), [4, 4]);
  t.strictSame(splitProportionally(3, [1, 1]), [2, 1], 'a tie: the lower node');
  t.strictSame(splitProportionally(10, [1, 1, 1]), [4, 3, 3]);
  t.strictSame(splitProportionally(2, [7, 1]), [2, 0], 'a share may round to nothing (resolveNuma refuses it)');
});

t.test('vCPUs on node 1 with its 1G pages: bound to node 1', async (t) => {
  const { numa, warnings, errors } = resolve({ memory: { size: '8G', hugepages: '1G' }, pinning: { vcpus: [16, 48, 17, 49] } });
  t.strictSame(numa, {
    mirror: false,
    nodes: [{ hostNode: 1, vcpus: [0, 1, 2, 3], hostCpus: [16, 48, 17, 49], size: 8 * GIB }],
    note: "host-nodes=1,policy=bind ← the pinned vCPUs (CPUs 16-17,48-49) are all on NUMA node 1, and its 1G pages are reserved there: guest memory stays local to them (libvirt's numatune mode=strict)",
  });
  t.strictSame([warnings, errors], [[], []]);
});

t.test('plain memory on one node is bound too; memory.numa: mirror of one node is the same binding', async (t) => {
  const plain = resolve({ memory: { size: '4G' }, pinning: { vcpus: [0, 1] } }).numa!;
  t.strictSame([plain.mirror, plain.nodes], [false, [{ hostNode: 0, vcpus: [0, 1], hostCpus: [0, 1], size: 4 * GIB }]]);
  t.notMatch(plain.note, /pages/);
  t.strictSame(resolve({ memory: { size: '4G', numa: 'mirror' }, pinning: { vcpus: [0, 1] } }).numa, plain);
});

t.test('nothing to bind: a single-node host, no pinning, no node directories, a CPU the host lacks', async (t) => {
  t.equal(resolve({ memory: { size: '4G' }, pinning: { vcpus: [2, 3] } }, host('z77-i5-2500')).numa, undefined);
  t.strictSame(resolve({ memory: { size: '4G' } }), { numa: undefined, reports: [], errors: [], warnings: [] });
  t.equal(resolve({ memory: { size: '4G' }, pinning: { vcpus: [16] } }, epycNodes(t, { [`${NODE_DIR}/node0/cpulist`]: undefined, [`${NODE_DIR}/node1/cpulist`]: undefined })).numa, undefined);
  t.equal(resolve({ memory: { size: '4G' }, pinning: { vcpus: [16, 99] } }).numa, undefined);
});

t.test('huge pages not on the node: not bound, and a warning says why', async (t) => {
  const noPool = resolve({ memory: { size: '8G', hugepages: '1G' }, pinning: { vcpus: [16, 17] } }, epycNodes(t, { [`${NODE_DIR}/node1/${POOL_1G}/nr_hugepages`]: undefined, [`${NODE_DIR}/node1/${POOL_1G}/free_hugepages`]: undefined }));
  t.equal(noPool.numa, undefined);
  t.strictSame(noPool.warnings, ['memory.hugepages: guest memory is not bound to NUMA node 1 of the pinned vCPUs: node 1 has no pool of 1G pages (/sys/devices/system/node/node1/hugepages/hugepages-1048576kB)']);
  // host.hugepages off: the user's own pages count, and node 1 has 16 free.
  t.ok(resolve({ memory: { size: '16G', hugepages: '1G' }, host: { hugepages: false }, pinning: { vcpus: [16] } }).numa, '16 free on node 1: bound');
  const short = resolve({ memory: { size: '20G', hugepages: '1G' }, host: { hugepages: false }, pinning: { vcpus: [16] } });
  t.equal(short.numa, undefined);
  t.strictSame(short.warnings, ['memory.hugepages: guest memory is not bound to NUMA node 1 of the pinned vCPUs: node 1 has 16 free 1G pages, 20 needed there (host.hugepages is off: the plan reserves none)']);
  t.ok(resolve({ memory: { size: '20G', hugepages: '1G' }, pinning: { vcpus: [16] } }).numa, 'host.hugepages on: the plan reserves the 4 missing there');
});

t.test('vCPUs on both nodes without mirror: a warning with the node of each, nothing bound', async (t) => {
  const { numa, warnings } = resolve({ memory: { size: '8G' }, pinning: { vcpus: [0, 32, 16, 48, 1] } });
  t.equal(numa, undefined);
  t.strictSame(warnings, ['pinning.vcpus: the pinned vCPUs span NUMA nodes (node 0: vCPUs 0-1,4 on CPUs 0-1,32; node 1: vCPUs 2-3 on CPUs 16,48): guest memory is bound to none; memory.numa: mirror gives the guest one NUMA node per host node']);
});

t.test('mirror: a guest node per host node, in host node order, vCPUs by their pinning order', async (t) => {
  // vCPU 0 on node 1 first: guest node 0 is still host node 0 (vCPUs 2-5), guest node 1 host node 1.
  const { numa, warnings, errors } = resolve({ cpu: { threads: 2 }, memory: { size: '8G', hugepages: '1G', numa: 'mirror' }, pinning: { vcpus: [16, 48, 0, 32, 1, 33] } });
  t.strictSame([warnings, errors], [[], []]);
  t.equal(numa!.mirror, true);
  t.strictSame(numa!.nodes, [
    { hostNode: 0, vcpus: [2, 3, 4, 5], hostCpus: [0, 32, 1, 33], size: 5 * GIB },
    { hostNode: 1, vcpus: [0, 1], hostCpus: [16, 48], size: 3 * GIB },
  ]);
  t.equal(numa!.note, 'memory.numa: mirror ← the pinned vCPUs span NUMA nodes (node 0: vCPUs 2-5 on CPUs 0-1,32-33, 5G; node 1: vCPUs 0-1 on CPUs 16,48, 3G): a guest node for each, memory in proportion to its vCPUs, in 1G units');
  const plain = resolve({ memory: { size: '1G', numa: 'mirror' }, pinning: { vcpus: [0, 16, 17] } }).numa!;
  t.strictSame(plain.nodes.map((node) => node.size), [171 * TWO_MIB, 341 * TWO_MIB], 'plain memory in 2M units: 512 units, 1:2, are 170.67 and 341.33 → 171 and 341');
});

t.test('mirror refused: no pinning, a share under one unit, memory not in 2M units', async (t) => {
  t.strictSame(resolve({ memory: { size: '8G', numa: 'mirror' } }).errors, ['memory.numa: mirror follows the host nodes of the pinned vCPUs: it needs pinning.vcpus']);
  const tiny = resolve({ memory: { size: '2G', hugepages: '1G', numa: 'mirror' }, pinning: { vcpus: [0, 1, 2, 3, 4, 5, 6, 16] } });
  t.equal(tiny.numa, undefined);
  t.strictSame(tiny.errors, ["memory.numa: node 1's share (1 of 8 vCPUs) of 2G is less than one 1G unit; QEMU needs memory on every node"]);
  t.strictSame(resolve({ memory: { size: '3M', numa: 'mirror' }, pinning: { vcpus: [0, 16] } }).errors, ['memory.numa: mirror splits memory in 2M units; 3M is not a whole number of them']);
});

t.test('mirror with a node short of pages: a host problem, not mirrored', async (t) => {
  const sysroot = epycNodes(t, { [`${NODE_DIR}/node1/${POOL_1G}/free_hugepages`]: '2\n' });
  const { numa, reports } = resolve({ memory: { size: '8G', hugepages: '1G', numa: 'mirror' }, host: { hugepages: false }, pinning: { vcpus: [0, 16] } }, sysroot);
  t.equal(numa, undefined);
  t.strictSame(reports, ['memory.numa: guest memory cannot be mirrored: node 1 has 2 free 1G pages, 4 needed there (host.hugepages is off: the plan reserves none)']);
});

t.test('mirror: a guest core whose threads are on two nodes is warned about', async (t) => {
  const { numa, warnings } = resolve({ cpu: { threads: 2 }, memory: { size: '4G', numa: 'mirror' }, pinning: { vcpus: [0, 32, 1, 16] } });
  t.ok(numa);
  t.strictSame(warnings, ['pinning.vcpus: guest core of vCPUs 2-3 is pinned to nodes 0 and 1: the guest sees one core on two NUMA nodes; pin a core\'s threads to one host core\'s siblings']);
});
