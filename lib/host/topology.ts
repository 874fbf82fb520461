/**
 * The host's CPU topology as sysfs describes it: packages, dies, NUMA nodes, cores with their
 * SMT siblings, which CPUs share an L2 and an L3, hybrid core types, and which CPUs are online
 * or isolated. What `lstopo` and the `thread_siblings_list | sort | uniq` loop show, read the
 * way hwloc reads it on any kernel: bitmask files where the `*_list` ones are missing, no cache
 * level where sysfs names none, CPU numbers with gaps and offline CPUs without topology.
 */
import { readCpuInfo } from './cpuinfo.js';
import { readCpuListFile, readCpuSet, readSysfsInt, readSysfsText } from './sysfs-values.js';
import type { Sysroot } from './sysroot.js';

const CPU_DIR = '/sys/devices/system/cpu';

export interface LogicalCpu {
  cpu: number;
  online: boolean;
  isolated: boolean;
  /** Unknown for offline CPUs: the kernel removes their topology directory. */
  package?: number;
  die?: number;
  node?: number;
  core?: number;
  /** This CPU and its SMT siblings (the same core), sorted. */
  threadSiblings: number[];
  /** CPUs sharing this CPU's L2 / L3 cache, sorted; empty when sysfs names no such cache (or the CPU is offline). */
  l2Shared: number[];
  l3Shared: number[];
  /** `P` or `E` on hybrid hosts, undefined when all cores are alike. */
  type?: 'P' | 'E';
}

export interface CpuTopology {
  /** Every present CPU, by number. */
  cpus: LogicalCpu[];
  /** Where the core types came from (`/sys/devices/cpu_core/cpus`, `cpu_capacity`…); undefined when there are none. */
  typeSource?: string;
  /** What the reader did differently from the kernel's own view, one sentence each (AMD compute units). */
  notes?: string[];
}

/** Which `cache/index*` directories hold the L2 and L3 (data or unified) caches: level → index name. */
function readCacheLayout(sysroot: Sysroot, cpu: number): Map<number, string> {
  const layout = new Map<number, string>();
  const dir = `${CPU_DIR}/cpu${cpu}/cache`;
  for (const index of sysroot.list(dir)) {
    if (!index.startsWith('index')) continue;
    const level = readSysfsInt(sysroot, `${dir}/${index}/level`);
    // L1 is per core on every x86 CPU; only L2 and L3 say something about grouping.
    if (level !== 2 && level !== 3) continue;
    if (readSysfsText(sysroot, `${dir}/${index}/type`) !== 'Instruction') layout.set(level, index);
  }
  return layout;
}

/**
 * The CPUs sharing each cache level (2 and 3) with `cpu`. The kernel numbers a CPU's caches the
 * same way on every CPU of a host, so the layout read from one CPU is tried first; a CPU where
 * it does not hold (another core type) has its own read.
 */
function readCacheSharing(sysroot: Sysroot, cpu: number, layout: Map<number, string>): Map<number, number[]> {
  const read = (levels: Map<number, string>) => {
    const sharing = new Map<number, number[]>();
    for (const [level, index] of levels) {
      const shared = readCpuSet(sysroot, `${CPU_DIR}/cpu${cpu}/cache/${index}/shared_cpu_list`, `${CPU_DIR}/cpu${cpu}/cache/${index}/shared_cpu_map`);
      if (shared === undefined || !shared.includes(cpu)) return undefined;
      sharing.set(level, shared);
    }
    return sharing;
  };
  return read(layout) ?? read(readCacheLayout(sysroot, cpu)) ?? new Map();
}

/** Per-CPU performance values that tell core kinds apart where the kernel has no cpu_core/cpu_atom PMUs (hwloc's cpukinds order). */
const RANKING_SOURCES = ['cpu_capacity', 'acpi_cppc/highest_perf', 'cpufreq/cpuinfo_max_freq'];

/**
 * P and E cores: the `cpu_core` and `cpu_atom` PMU lists on Intel hybrids; else the first of
 * RANKING_SOURCES every online CPU has, when its values form more than one kind. As hwloc does,
 * values within 10% of a kind's highest count as that kind (Turbo Boost Max's favoured cores
 * differ by a few percent and are not another kind). The fastest kind is P, the others E.
 */
function readCoreTypes(sysroot: Sysroot, online: number[]): { types: Map<number, 'P' | 'E'>; source?: string } {
  const types = new Map<number, 'P' | 'E'>();
  const pCores = readCpuListFile(sysroot, '/sys/devices/cpu_core/cpus');
  const eCores = readCpuListFile(sysroot, '/sys/devices/cpu_atom/cpus');
  if (pCores && eCores) {
    for (const cpu of pCores) types.set(cpu, 'P');
    for (const cpu of eCores) types.set(cpu, 'E');
    return { types, source: '/sys/devices/cpu_core/cpus, /sys/devices/cpu_atom/cpus' };
  }
  for (const source of RANKING_SOURCES) {
    if (online.length === 0 || readSysfsInt(sysroot, `${CPU_DIR}/cpu${online[0]}/${source}`) === undefined) continue;
    const values = online.map((cpu) => readSysfsInt(sysroot, `${CPU_DIR}/cpu${cpu}/${source}`));
    if (values.some((value) => value === undefined)) continue;
    const highest = Math.max(...(values as number[]));
    if ((values as number[]).every((value) => value >= highest * 0.9)) return { types };
    online.forEach((cpu, i) => types.set(cpu, values[i]! >= highest * 0.9 ? 'P' : 'E'));
    return { types, source };
  }
  return { types };
}

/**
 * Whether the kernel's SMT siblings are really cores, as hwloc decides: siblings with different
 * `core_id`s (hwloc's Linux backend makes one core per CPU then), or an AMD family 15h CPU
 * (Bulldozer to Excavator), whose compute units the kernel lists as SMT siblings although each
 * of its two cores has its own integer units and L1d and only the L2, FPU and L1i are shared.
 */
function readComputeUnits(sysroot: Sysroot, siblingSets: number[][], coreOf: (cpu: number) => number | undefined): { split: boolean; note?: string } {
  const multi = siblingSets.filter((set) => set.length > 1);
  if (multi.length === 0) return { split: false };
  const info = readCpuInfo(sysroot);
  if (info?.vendor === 'AuthenticAMD' && info.family === 0x15) {
    return {
      split: true,
      note: 'AMD family 15h (cpu family 21): the kernel lists the two cores of each compute unit as SMT siblings; shown as hwloc shows them, as separate cores sharing their L2 (and FPU and L1i)',
    };
  }
  const differing = multi.find((set) => new Set(set.map(coreOf)).size > 1);
  if (!differing) return { split: false };
  return { split: true, note: 'thread siblings with different core_ids (CPUs ' + differing.join(',') + '…): shown as hwloc shows them, one core per CPU' };
}

export function readCpuTopology(sysroot: Sysroot): CpuTopology {
  const present = readCpuListFile(sysroot, `${CPU_DIR}/present`) ?? sysroot.list(CPU_DIR).flatMap((name) => (/^cpu\d+$/.test(name) ? [Number(name.slice(3))] : [])).sort((a, b) => a - b);
  const onlineList = readCpuListFile(sysroot, `${CPU_DIR}/online`);
  // The kernel's online list; kernels before it (2.6.2x) have only each CPU's cpuN/online, 0 when offline (cpu0 often has none).
  const online = new Set(onlineList ? present.filter((cpu) => onlineList.includes(cpu)) : present.filter((cpu) => readSysfsText(sysroot, `${CPU_DIR}/cpu${cpu}/online`) !== '0'));
  const isolated = new Set(readCpuListFile(sysroot, `${CPU_DIR}/isolated`) ?? []);
  const nodeOf = new Map<number, number>();
  for (const name of sysroot.list('/sys/devices/system/node')) {
    if (!/^node\d+$/.test(name)) continue;
    const dir = `/sys/devices/system/node/${name}`;
    for (const cpu of readCpuSet(sysroot, `${dir}/cpulist`, `${dir}/cpumap`) ?? []) nodeOf.set(cpu, Number(name.slice(4)));
  }
  const onlineCpus = present.filter((cpu) => online.has(cpu));
  const { types, source } = readCoreTypes(sysroot, onlineCpus);
  // A cache's shared_cpu_list is the same for every CPU in it, and so is a core's
  // thread_siblings_list: each list is read once, by the first CPU in it.
  const l2Of = new Map<number, number[]>();
  const l3Of = new Map<number, number[]>();
  const siblingsOf = new Map<number, number[]>();
  let layout: Map<number, string> | undefined;
  for (const cpu of onlineCpus) {
    if (siblingsOf.has(cpu)) continue;
    const dir = `${CPU_DIR}/cpu${cpu}/topology`;
    const read = readCpuSet(sysroot, `${dir}/thread_siblings_list`, `${dir}/thread_siblings`) ?? [cpu];
    const siblings = read.includes(cpu) ? read : [cpu];
    for (const sibling of siblings) siblingsOf.set(sibling, siblings);
  }
  const coreIds = new Map(present.map((cpu) => [cpu, readSysfsInt(sysroot, `${CPU_DIR}/cpu${cpu}/topology/core_id`)]));
  const { split, note } = readComputeUnits(sysroot, [...new Set(siblingsOf.values())], (cpu) => coreIds.get(cpu));
  const cpus = present.map((cpu): LogicalCpu => {
    const dir = `${CPU_DIR}/cpu${cpu}/topology`;
    if (online.has(cpu) && !(l2Of.has(cpu) && l3Of.has(cpu))) {
      layout ??= readCacheLayout(sysroot, cpu);
      const sharing = readCacheSharing(sysroot, cpu, layout);
      for (const [level, map] of [[2, l2Of], [3, l3Of]] as const) for (const other of sharing.get(level) ?? []) map.set(other, sharing.get(level)!);
    }
    const pkg = readSysfsInt(sysroot, `${dir}/physical_package_id`);
    const die = readSysfsInt(sysroot, `${dir}/die_id`);
    const core = coreIds.get(cpu);
    const node = nodeOf.get(cpu);
    const type = types.get(cpu);
    return {
      cpu,
      online: online.has(cpu),
      isolated: isolated.has(cpu),
      ...(pkg === undefined || pkg < 0 ? {} : { package: pkg }),
      ...(die === undefined || die < 0 ? {} : { die }),
      ...(node === undefined ? {} : { node }),
      ...(core === undefined ? {} : { core }),
      threadSiblings: online.has(cpu) && !split ? siblingsOf.get(cpu)! : [cpu],
      // No cache level in sysfs means none known, as hwloc shows it: never each CPU its own L3.
      l2Shared: online.has(cpu) ? (l2Of.get(cpu) ?? []) : [],
      l3Shared: online.has(cpu) ? (l3Of.get(cpu) ?? []) : [],
      ...(type ? { type } : {}),
    };
  });
  return { cpus, ...(source ? { typeSource: source } : {}), ...(note ? { notes: [note] } : {}) };
}
