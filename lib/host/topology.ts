/**
 * The host's CPU topology as sysfs describes it: packages, dies, NUMA nodes, cores with their
 * SMT siblings, which CPUs share an L2 and an L3, hybrid core types, and which CPUs are online
 * or isolated. What `lstopo` and the `thread_siblings_list | sort | uniq` loop show.
 */
import { parseCpuList } from '../cpu-list.js';
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
  /** CPUs sharing this CPU's L2 / L3 cache, sorted; just the CPU itself when sysfs does not say. */
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
}

const readList = (sysroot: Sysroot, path: string) => {
  const text = sysroot.readText(path);
  return text === undefined ? undefined : parseCpuList(text);
};

const readInt = (sysroot: Sysroot, path: string) => {
  const text = sysroot.readText(path)?.trim();
  return text === undefined || !/^-?\d+$/.test(text) ? undefined : Number(text);
};

/** Which `cache/index*` directories hold the L2 and L3 (data or unified) caches: level → index name. */
function readCacheLayout(sysroot: Sysroot, cpu: number): Map<number, string> {
  const layout = new Map<number, string>();
  const dir = `${CPU_DIR}/cpu${cpu}/cache`;
  for (const index of sysroot.list(dir)) {
    if (!index.startsWith('index')) continue;
    const level = readInt(sysroot, `${dir}/${index}/level`);
    // L1 is per core on every x86 CPU; only L2 and L3 say something about grouping.
    if (level !== 2 && level !== 3) continue;
    if (sysroot.readText(`${dir}/${index}/type`)?.trim() !== 'Instruction') layout.set(level, index);
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
      const shared = readList(sysroot, `${CPU_DIR}/cpu${cpu}/cache/${index}/shared_cpu_list`);
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
  const pCores = readList(sysroot, '/sys/devices/cpu_core/cpus');
  const eCores = readList(sysroot, '/sys/devices/cpu_atom/cpus');
  if (pCores && eCores) {
    for (const cpu of pCores) types.set(cpu, 'P');
    for (const cpu of eCores) types.set(cpu, 'E');
    return { types, source: '/sys/devices/cpu_core/cpus, /sys/devices/cpu_atom/cpus' };
  }
  for (const source of RANKING_SOURCES) {
    if (online.length === 0 || readInt(sysroot, `${CPU_DIR}/cpu${online[0]}/${source}`) === undefined) continue;
    const values = online.map((cpu) => readInt(sysroot, `${CPU_DIR}/cpu${cpu}/${source}`));
    if (values.some((value) => value === undefined)) continue;
    const highest = Math.max(...(values as number[]));
    if ((values as number[]).every((value) => value >= highest * 0.9)) return { types };
    online.forEach((cpu, i) => types.set(cpu, values[i]! >= highest * 0.9 ? 'P' : 'E'));
    return { types, source };
  }
  return { types };
}

export function readCpuTopology(sysroot: Sysroot): CpuTopology {
  const present = readList(sysroot, `${CPU_DIR}/present`) ?? sysroot.list(CPU_DIR).flatMap((name) => (/^cpu\d+$/.test(name) ? [Number(name.slice(3))] : []));
  const online = new Set(readList(sysroot, `${CPU_DIR}/online`) ?? present);
  const isolated = new Set(readList(sysroot, `${CPU_DIR}/isolated`) ?? []);
  const nodeOf = new Map<number, number>();
  for (const name of sysroot.list('/sys/devices/system/node')) {
    if (!/^node\d+$/.test(name)) continue;
    for (const cpu of readList(sysroot, `/sys/devices/system/node/${name}/cpulist`) ?? []) nodeOf.set(cpu, Number(name.slice(4)));
  }
  const onlineCpus = present.filter((cpu) => online.has(cpu));
  const { types, source } = readCoreTypes(sysroot, onlineCpus);
  // A cache's shared_cpu_list is the same for every CPU in it, and so is a core's
  // thread_siblings_list: each list is read once, by the first CPU in it.
  const l2Of = new Map<number, number[]>();
  const l3Of = new Map<number, number[]>();
  const siblingsOf = new Map<number, number[]>();
  let layout: Map<number, string> | undefined;
  const readSiblings = (cpu: number) => {
    if (!siblingsOf.has(cpu)) {
      const siblings = readList(sysroot, `${CPU_DIR}/cpu${cpu}/topology/thread_siblings_list`) ?? [cpu];
      for (const sibling of siblings.includes(cpu) ? siblings : [cpu]) siblingsOf.set(sibling, siblings.includes(cpu) ? siblings : [cpu]);
    }
    return siblingsOf.get(cpu)!;
  };
  const cpus = present.map((cpu): LogicalCpu => {
    const dir = `${CPU_DIR}/cpu${cpu}/topology`;
    if (online.has(cpu) && !(l2Of.has(cpu) && l3Of.has(cpu))) {
      layout ??= readCacheLayout(sysroot, cpu);
      const sharing = readCacheSharing(sysroot, cpu, layout);
      for (const [level, map] of [[2, l2Of], [3, l3Of]] as const) for (const other of sharing.get(level) ?? []) map.set(other, sharing.get(level)!);
    }
    const pkg = readInt(sysroot, `${dir}/physical_package_id`);
    const die = readInt(sysroot, `${dir}/die_id`);
    const core = readInt(sysroot, `${dir}/core_id`);
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
      threadSiblings: online.has(cpu) ? readSiblings(cpu) : [cpu],
      l2Shared: l2Of.get(cpu) ?? [cpu],
      l3Shared: l3Of.get(cpu) ?? [cpu],
      ...(type ? { type } : {}),
    };
  });
  return { cpus, ...(source ? { typeSource: source } : {}) };
}
