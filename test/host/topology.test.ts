import t from 'tap';
import { readCpuTopology } from '../../lib/host/topology.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

const CPU = 'sys/devices/system/cpu';

t.test('the hybrid desktop: siblings, shared L2 of the E-cores, one L3, P/E from the PMU lists', async (t) => {
  const topology = readCpuTopology(host('i7-12700k'));
  t.equal(topology.cpus.length, 20);
  t.strictSame(topology.cpus[2], { cpu: 2, online: true, isolated: false, package: 0, die: 0, node: 0, core: 4, threadSiblings: [2, 3], l2Shared: [2, 3], l3Shared: [...Array(20).keys()], type: 'P' });
  t.strictSame(topology.cpus[17]!.l2Shared, [16, 17, 18, 19]);
  t.equal(topology.cpus[17]!.type, 'E');
  t.equal(topology.typeSource, '/sys/devices/cpu_core/cpus, /sys/devices/cpu_atom/cpus');
});

t.test('the 2-socket server: packages, nodes and one L3 per CCX', async (t) => {
  const topology = readCpuTopology(host('epyc-2s'));
  const cpu49 = topology.cpus[49]!;
  t.strictSame([cpu49.package, cpu49.die, cpu49.node, cpu49.core], [1, 1, 1, 1]);
  t.strictSame(cpu49.threadSiblings, [17, 49]);
  t.strictSame(cpu49.l3Shared, [16, 17, 18, 19, 48, 49, 50, 51]);
  t.equal(cpu49.type, undefined, 'all cores alike');
  t.equal(topology.typeSource, undefined);
});

/** A tree of `count` single-thread CPUs with per-CPU files. */
function cpus(count: number, perCpu: (cpu: number) => Record<string, string>, extra: Record<string, string> = {}) {
  const files: Record<string, string> = { [`${CPU}/present`]: `0-${count - 1}\n`, ...extra };
  for (let cpu = 0; cpu < count; cpu++) {
    files[`${CPU}/cpu${cpu}/topology/thread_siblings_list`] = `${cpu}\n`;
    for (const [name, text] of Object.entries(perCpu(cpu))) files[`${CPU}/cpu${cpu}/${name}`] = text;
  }
  return files;
}

t.test('without PMU lists, kinds come from cpu_capacity, then acpi_cppc, then cpuinfo_max_freq, as hwloc ranks them', async (t) => {
  const capacity = readCpuTopology(sysrootOf(t, cpus(4, (cpu) => ({ cpu_capacity: cpu < 2 ? '1024\n' : '512\n', 'cpufreq/cpuinfo_max_freq': '3000000\n' }))));
  t.strictSame(capacity.cpus.map((cpu) => cpu.type), ['P', 'P', 'E', 'E']);
  t.equal(capacity.typeSource, 'cpu_capacity');
  const cppc = readCpuTopology(sysrootOf(t, cpus(3, (cpu) => ({ 'acpi_cppc/highest_perf': cpu === 2 ? '100\n' : '255\n' }))));
  t.strictSame(cppc.cpus.map((cpu) => cpu.type), ['P', 'P', 'E']);
  t.equal(cppc.typeSource, 'acpi_cppc/highest_perf');
  const freq = readCpuTopology(sysrootOf(t, cpus(2, (cpu) => ({ cpu_capacity: '1024\n', 'cpufreq/cpuinfo_max_freq': cpu === 0 ? '4000000\n' : '2000000\n' }))));
  t.strictSame(freq.cpus.map((cpu) => cpu.type), [undefined, undefined], 'the first source all CPUs have decides, and equal capacities mean one kind');
  const missing = readCpuTopology(sysrootOf(t, cpus(2, (cpu): Record<string, string> => (cpu === 0 ? { cpu_capacity: '1024\n' } : {}))));
  t.equal(missing.typeSource, undefined, 'a source only some CPUs have is skipped');
});

t.test('favoured cores within 10% (Turbo Boost Max) are not another kind', async (t) => {
  const topology = readCpuTopology(sysrootOf(t, cpus(4, (cpu) => ({ 'cpufreq/cpuinfo_max_freq': cpu === 1 ? '5300000\n' : '5000000\n' }))));
  t.strictSame(topology.cpus.map((cpu) => cpu.type), [undefined, undefined, undefined, undefined]);
});

t.test('offline and isolated CPUs; caches sysfs does not name are none, not the CPU alone', async (t) => {
  const files = cpus(4, () => ({}), { [`${CPU}/online`]: '0-2\n', [`${CPU}/isolated`]: '2\n', [`${CPU}/cpu3/topology/thread_siblings_list`]: '' });
  const topology = readCpuTopology(sysrootOf(t, files));
  t.strictSame(topology.cpus.map((cpu) => [cpu.online, cpu.isolated]), [[true, false], [true, false], [true, true], [false, false]]);
  t.strictSame(topology.cpus[3], { cpu: 3, online: false, isolated: false, threadSiblings: [3], l2Shared: [], l3Shared: [] }, 'an offline CPU has no topology');
  t.strictSame([topology.cpus[0]!.l2Shared, topology.cpus[0]!.l3Shared], [[], []], 'hwloc shows no L2 or L3 where sysfs has none');
});

t.test('CPUs are found from cpuN directories when present is missing; Instruction caches do not count', async (t) => {
  const files: Record<string, string> = {
    [`${CPU}/cpu0/cache/index0/level`]: '2\n',
    [`${CPU}/cpu0/cache/index0/type`]: 'Instruction\n',
    [`${CPU}/cpu0/cache/index0/shared_cpu_list`]: '0-7\n',
    [`${CPU}/cpu1/topology/core_id`]: '1\n',
  };
  const topology = readCpuTopology(sysrootOf(t, files));
  t.strictSame(topology.cpus.map((cpu) => cpu.cpu), [0, 1]);
  t.strictSame(topology.cpus[0]!.l2Shared, [], 'only an instruction cache at level 2: no L2');
  t.equal(topology.cpus[1]!.core, 1);
});

t.test('a CPU whose caches are numbered differently from the first one is read on its own', async (t) => {
  const cache = (cpu: number, index: number, level: number, shared: string) => ({
    [`${CPU}/cpu${cpu}/cache/index${index}/level`]: `${level}\n`,
    [`${CPU}/cpu${cpu}/cache/index${index}/type`]: 'Unified\n',
    [`${CPU}/cpu${cpu}/cache/index${index}/shared_cpu_list`]: `${shared}\n`,
  });
  const files = cpus(2, () => ({}), { ...cache(0, 2, 2, '0'), ...cache(0, 3, 3, '0-1'), ...cache(1, 1, 2, '1'), ...cache(1, 2, 3, '0-1') });
  const topology = readCpuTopology(sysrootOf(t, files));
  t.strictSame(topology.cpus.map((cpu) => [cpu.l2Shared, cpu.l3Shared]), [[[0], [0, 1]], [[1], [0, 1]]]);
});
