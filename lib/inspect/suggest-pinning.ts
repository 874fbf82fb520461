/**
 * `--suggest N`: a host/guest CPU split for an N-vCPU guest, the way the posts choose one by
 * hand from `thread_siblings_list` and lstopo: whole cores only (SMT siblings are never split
 * between host and guest), the host keeps its first core, the guest stays inside one L3 (CCX)
 * and one NUMA node when it fits (the GPU's node when known), P-cores before E-cores, each
 * core's threads next to each other in vCPU order so a `threads: 2` guest core is one host core.
 */
import { formatCpuList } from '../cpu-list.js';
import { InputError } from '../errors.js';
import type { CpuTopology } from '../host/topology.js';

export interface SuggestRequest {
  vcpus: number;
  /** The guest's threads per core (`cpu.threads`), to say when host cores cannot match it. */
  threads?: number;
  /** The NUMA node the guest should stay on (its GPU's), when known. */
  node?: number;
}

export interface PinningSuggestion {
  /** Host CPU of each vCPU, in vCPU order. */
  vcpus: number[];
  /** Host CPUs for QEMU's emulator threads: the host's first core. */
  emulator: number[];
  /** The L3 domain the guest is in, when it fits in one. */
  l3?: number[];
  /** The NUMA node the guest is in, when it fits in one. */
  node?: number;
  /** Why these CPUs, one sentence each. */
  reasons: string[];
}

interface Core {
  cpus: number[];
  type?: 'P' | 'E';
  node?: number;
  /** The L3 domain: its CPUs as a list, or the package when sysfs has no L3 information. */
  l3: string;
}

const TYPE_ORDER = { P: 0, E: 1 } as const;

/** The online cores (SMT sibling sets), each once, in order of their first CPU. */
function coresOf(topology: CpuTopology): Core[] {
  const seen = new Set<string>();
  const cores: Core[] = [];
  const online = new Set(topology.cpus.filter((cpu) => cpu.online).map((cpu) => cpu.cpu));
  for (const cpu of topology.cpus) {
    if (!cpu.online) continue;
    const cpus = cpu.threadSiblings.filter((sibling) => online.has(sibling));
    const key = cpus.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    const l3 = cpu.l3Shared.length > 0 ? formatCpuList(cpu.l3Shared) : `package ${cpu.package ?? '?'}`;
    cores.push({ cpus, l3, ...(cpu.type ? { type: cpu.type } : {}), ...(cpu.node === undefined ? {} : { node: cpu.node }) });
  }
  return cores.sort((a, b) => a.cpus[0]! - b.cpus[0]!);
}

/** P-cores first, then by first CPU. */
const byPreference = (a: Core, b: Core) => TYPE_ORDER[a.type ?? 'P'] - TYPE_ORDER[b.type ?? 'P'] || a.cpus[0]! - b.cpus[0]!;

/** Whole cores, most preferred first, adding up to exactly `wanted` CPUs; undefined when they cannot. */
function fill(cores: Core[], wanted: number): Core[] | undefined {
  const chosen: Core[] = [];
  let left = wanted;
  for (const core of cores) {
    if (left === 0) break;
    if (core.cpus.length > left) continue;
    chosen.push(core);
    left -= core.cpus.length;
  }
  return left === 0 ? chosen : undefined;
}

const groupBy = <K>(cores: Core[], key: (core: Core) => K) => {
  const groups = new Map<K, Core[]>();
  for (const core of cores) groups.set(key(core), [...(groups.get(key(core)) ?? []), core]);
  return groups;
};

export function suggestPinning(topology: CpuTopology, request: SuggestRequest): PinningSuggestion {
  const { vcpus: wanted } = request;
  if (!Number.isInteger(wanted) || wanted < 1) throw new InputError([{ message: `--suggest: expected a number of vCPUs of at least 1, got ${wanted}` }]);
  const cores = coresOf(topology);
  if (cores.length === 0) throw new InputError([{ message: 'cannot suggest pinning: this host lists no online CPUs' }]);
  const [hostCore, ...candidates] = cores;
  const free = candidates.reduce((sum, core) => sum + core.cpus.length, 0);
  const hostText = `the host keeps its first core, CPU${hostCore!.cpus.length > 1 ? 's' : ''} ${formatCpuList(hostCore!.cpus)}, and QEMU's emulator threads run there`;
  if (wanted > free) {
    throw new InputError([{ message: `cannot give ${wanted} vCPUs whole cores here: this host has ${free} CPUs besides its first core (${formatCpuList(hostCore!.cpus)})` }]);
  }
  const preferredNode = request.node !== undefined && candidates.some((core) => core.node === request.node) ? request.node : undefined;
  const reasons = [hostText];
  if (request.node !== undefined && preferredNode === undefined) reasons.push(`NUMA node ${request.node} (the GPU's) has no CPUs to give, so any node will do`);
  // The GPU's node first; the host's own L3 last, so the guest does not evict the host's cache lines.
  const hostL3 = hostCore!.l3;
  const domains = [...groupBy(candidates, (core) => core.l3).values()].sort(
    (a, b) =>
      Number(b[0]!.node === preferredNode) - Number(a[0]!.node === preferredNode) ||
      Number(a[0]!.l3 === hostL3) - Number(b[0]!.l3 === hostL3) ||
      a[0]!.cpus[0]! - b[0]!.cpus[0]!,
  );
  const byDomain = (a: Core, b: Core) => domains.findIndex((domain) => domain.includes(a)) - domains.findIndex((domain) => domain.includes(b)) || byPreference(a, b);
  let chosen: Core[] | undefined;
  for (const domain of domains) {
    chosen = fill([...domain].sort(byPreference), wanted);
    if (chosen) {
      const l3 = domain[0]!.l3;
      reasons.push(l3.startsWith('package') ? `sysfs names no L3 cache, so there was no cache to go by: all in one ${l3}` : `all in one L3 cache, the one CPUs ${l3} share`);
      break;
    }
  }
  if (!chosen) {
    const nodes = [...groupBy(candidates, (core) => core.node).entries()].sort(([a], [b]) => Number(b === preferredNode) - Number(a === preferredNode) || (a ?? 0) - (b ?? 0));
    for (const [node, nodeCores] of nodes) {
      chosen = fill([...nodeCores].sort(byDomain), wanted);
      if (chosen) {
        const noL3 = nodeCores.every((core) => core.l3.startsWith('package'));
        reasons.push(
          noL3
            ? `sysfs names no L3 cache, so there was no cache to go by; no one package has ${wanted} CPUs of whole cores free, so the guest spans packages within NUMA node ${node ?? '?'}`
            : `no one L3 cache has ${wanted} CPUs of whole cores free, so the guest spans L3 caches within NUMA node ${node ?? '?'}`,
        );
        break;
      }
    }
  }
  if (!chosen) {
    chosen = fill([...candidates].sort(byDomain), wanted);
    if (chosen) reasons.push(`no one NUMA node has ${wanted} CPUs of whole cores free, so the guest spans nodes: expect slower memory`);
  }
  if (!chosen) {
    throw new InputError([{ message: `cannot make ${wanted} vCPUs of whole cores here (the free cores have ${[...new Set(candidates.map((core) => core.cpus.length))].join(' or ')} threads); try ${wanted + 1}` }]);
  }
  const nodes = new Set(chosen.map((core) => core.node));
  const node = nodes.size === 1 ? [...nodes][0] : undefined;
  if (node !== undefined && preferredNode !== undefined) reasons.push(`on NUMA node ${node}, the GPU's`);
  else if (node !== undefined && nodes.size === 1 && new Set(cores.map((core) => core.node)).size > 1) reasons.push(`on NUMA node ${node}`);
  const types = new Set(chosen.map((core) => core.type));
  if (types.has('P') && types.has('E')) reasons.push('P-cores first, then E-cores: there are not enough P-cores');
  else if (types.has('P') && cores.some((core) => core.type === 'E')) reasons.push('P-cores only');
  else if (types.has('E')) reasons.push('E-cores only: no P-cores fit');
  const widths = new Set(chosen.map((core) => core.cpus.length));
  const threads = request.threads ?? 1;
  if (widths.size === 1 && [...widths][0]! > 1) reasons.push(`whole cores: each core's ${[...widths][0]} threads are consecutive vCPUs${threads === [...widths][0] ? `, so each guest core (threads: ${threads}) is one host core` : ''}`);
  if (threads > 1 && [...widths].some((width) => width !== threads)) reasons.push(`the guest asks for threads: ${threads}, but some of these host cores have ${[...widths].filter((width) => width !== threads).join(' or ')} thread(s)`);
  const l3Domains = new Set(chosen.map((core) => core.l3));
  const l3 = l3Domains.size === 1 && !chosen[0]!.l3.startsWith('package') ? topology.cpus.find((cpu) => cpu.cpu === chosen[0]!.cpus[0])!.l3Shared : undefined;
  reasons.push(...(topology.notes ?? []));
  return {
    vcpus: chosen.flatMap((core) => core.cpus),
    emulator: hostCore!.cpus,
    ...(l3 ? { l3 } : {}),
    ...(node === undefined ? {} : { node }),
    reasons,
  };
}
