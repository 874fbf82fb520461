/**
 * Guest memory and the host's NUMA nodes, as libvirt's `<numatune><memory mode='strict'>`: when
 * the pinned vCPUs are all on one node of a multi-node host, guest memory is bound to that node;
 * when they span nodes, a warning names the node of each, and `memory.numa: mirror` gives the
 * guest one NUMA node per host node used, each bound to its host node with its share of memory.
 */
import { formatCpuList } from '../cpu-list.js';
import { readHugepagePool } from '../host/hugepages.js';
import type { Sysroot } from '../host/sysroot.js';
import { readCpuTopology } from '../host/topology.js';
import type { Profile } from '../profile/schema.js';
import type { Diagnostics, GuestNuma, GuestNumaNode } from '../qemu/arg.js';
import { guestCpus, guestCpusKey } from '../qemu/pinning.js';
import { formatSize, parseSize } from '../size.js';
import type { Report } from './host-checks.js';

/** Without huge pages, node shares are cut in 2M units: the x86 large page, so guest and host (THP) mappings line up. */
const SPLIT_UNIT = 2 << 20;

type NodeGroup = Omit<GuestNumaNode, 'size'>;

const describe = (group: NodeGroup) => `node ${group.hostNode}: vCPU${group.vcpus.length > 1 ? 's' : ''} ${formatCpuList(group.vcpus)} on CPU${group.hostCpus.length > 1 ? 's' : ''} ${formatCpuList(group.hostCpus)}`;

/**
 * `units` split in proportion to `weights` (largest remainder: the floor of each share first, the
 * units left over one each to the largest fractions, the lower node first on a tie).
 */
export function splitProportionally(units: number, weights: number[]): number[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const shares = weights.map((weight) => Math.floor((units * weight) / total));
  const left = units - shares.reduce((sum, share) => sum + share, 0);
  const order = weights.map((weight, i) => ({ i, fraction: (units * weight) % total })).sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of order.slice(0, left)) shares[i]!++;
  return shares;
}

/** Why `pages` huge pages cannot be counted on from `node`'s own pool, or undefined when they can. */
function poolProblem(profile: Profile, sysroot: Sysroot, pageSize: number, node: number, pages: number): string | undefined {
  const pool = readHugepagePool(sysroot, pageSize, node);
  const size = formatSize(pageSize);
  if (!pool) return `node ${node} has no pool of ${size} pages (/sys/devices/system/node/node${node}/hugepages/hugepages-${pageSize / 1024}kB)`;
  // With host.hugepages the plan reserves what is missing on the node (and fails the launch if the kernel cannot).
  if (!profile.host.hugepages && pool.free < pages) return `node ${node} has ${pool.free} free ${size} pages, ${pages} needed there (host.hugepages is off: the plan reserves none)`;
  return undefined;
}

/** The binding guest memory gets on this host, or undefined (one node, no pinning, or nothing to bind to). */
export function resolveNuma(profile: Profile, sysroot: Sysroot, report: Report, diagnostics: Diagnostics): GuestNuma | undefined {
  const { memory } = profile;
  // A CPU set all vCPUs share (pinning.cpus) stands for them all here: memory can follow its node, but no vCPU has a node of its own to mirror.
  const vcpus = profile.pinning ? guestCpus(profile.pinning) : [];
  const key = profile.pinning ? guestCpusKey(profile.pinning) : 'pinning.vcpus';
  if (vcpus.length === 0 || (memory.numa && profile.pinning?.cpus)) {
    if (memory.numa) diagnostics.error('memory.numa', `mirror follows the host nodes of the pinned vCPUs: it needs pinning.vcpus${profile.pinning?.cpus ? ' (with pinning.cpus the vCPUs share one set and have no node of their own)' : ''}`);
    return undefined;
  }
  const nodeOf = new Map(readCpuTopology(sysroot).cpus.flatMap(({ cpu, node }) => (node === undefined ? [] : [[cpu, node] as const])));
  // On a single-node host (or one that shows no nodes) all memory is local already.
  if (new Set(nodeOf.values()).size < 2) return undefined;
  // A CPU the host lacks is reported by the host checks.
  if (vcpus.some((cpu) => !nodeOf.has(cpu))) return undefined;
  const groups: NodeGroup[] = [...new Set(vcpus.map((cpu) => nodeOf.get(cpu)!))]
    .sort((a, b) => a - b)
    .map((hostNode) => {
      const mine = vcpus.flatMap((cpu, vcpu) => (nodeOf.get(cpu) === hostNode ? [vcpu] : []));
      return { hostNode, vcpus: mine, hostCpus: mine.map((vcpu) => vcpus[vcpu]!) };
    });
  const pageSize = memory.hugepages === false ? undefined : parseSize(memory.hugepages)!;

  if (groups.length === 1) {
    const group = groups[0]!;
    const problem = pageSize === undefined ? undefined : poolProblem(profile, sysroot, pageSize, group.hostNode, Math.ceil(memory.size / pageSize));
    if (problem) {
      diagnostics.warn('memory.hugepages', `guest memory is not bound to NUMA node ${group.hostNode} of the pinned vCPUs: ${problem}`);
      return undefined;
    }
    const pages = pageSize === undefined ? '' : `, and its ${memory.hugepages} pages are reserved there`;
    return { mirror: false, nodes: [{ ...group, size: memory.size }], note: `host-nodes=${group.hostNode},policy=bind ← the pinned vCPUs (CPUs ${formatCpuList(group.hostCpus)}) are all on NUMA node ${group.hostNode}${pages}: guest memory stays local to them (libvirt's numatune mode=strict)` };
  }

  if (!memory.numa) {
    if (profile.pinning?.cpus) diagnostics.warn(key, `the vCPUs' shared CPU set spans NUMA nodes (${groups.map((group) => `node ${group.hostNode}: CPUs ${formatCpuList(group.hostCpus)}`).join('; ')}): guest memory is bound to none`);
    else diagnostics.warn(key, `the pinned vCPUs span NUMA nodes (${groups.map(describe).join('; ')}): guest memory is bound to none; memory.numa: mirror gives the guest one NUMA node per host node`);
    return undefined;
  }
  const unit = pageSize ?? SPLIT_UNIT;
  if (memory.size % unit !== 0) {
    // Huge page sizes are checked with the memory backend.
    if (pageSize === undefined) diagnostics.error('memory.numa', `mirror splits memory in 2M units; ${formatSize(memory.size)} is not a whole number of them`);
    return undefined;
  }
  const shares = splitProportionally(memory.size / unit, groups.map((group) => group.vcpus.length));
  const nodes = groups.map((group, i) => ({ ...group, size: shares[i]! * unit }));
  const empty = nodes.filter((node) => node.size === 0);
  if (empty.length > 0) {
    diagnostics.error('memory.numa', `${empty.map((node) => `node ${node.hostNode}'s share (${node.vcpus.length} of ${vcpus.length} vCPUs)`).join(', ')} of ${formatSize(memory.size)} is less than one ${formatSize(unit)} unit; QEMU needs memory on every node`);
    return undefined;
  }
  if (pageSize !== undefined) {
    const problems = nodes.flatMap((node) => poolProblem(profile, sysroot, pageSize, node.hostNode, node.size / pageSize) ?? []);
    if (problems.length > 0) {
      report('memory.numa', `guest memory cannot be mirrored: ${problems.join('; ')}`);
      return undefined;
    }
  }
  // QEMU 7.2 accepts SMT siblings on different guest nodes, but the guest then sees one core on two nodes.
  const { threads } = profile.cpu;
  for (let first = 0; first < vcpus.length; first += threads) {
    const core = vcpus.slice(first, first + threads);
    const coreNodes = [...new Set(core.map((cpu) => nodeOf.get(cpu)!))];
    if (coreNodes.length > 1) diagnostics.warn('pinning.vcpus', `guest core of vCPUs ${formatCpuList([...core.keys()].map((i) => first + i))} is pinned to nodes ${coreNodes.join(' and ')}: the guest sees one core on two NUMA nodes; pin a core's threads to one host core's siblings`);
  }
  const note = `memory.numa: mirror ← the pinned vCPUs span NUMA nodes (${nodes.map((node) => `${describe(node)}, ${formatSize(node.size)}`).join('; ')}): a guest node for each, memory in proportion to its vCPUs, in ${formatSize(unit)} units`;
  return { mirror: true, nodes, note };
}
