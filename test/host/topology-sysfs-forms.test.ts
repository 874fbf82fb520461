// The older and odd sysfs forms (issue 12, item 3), on the topology-only hosts of
// test/fixtures/hosts/sysfs-forms. Each expectation is written from the host's description
// (generate.mjs) and from what the kernel and hwloc document, not from boot-vm's output:
// - the bitmask files (`thread_siblings`, `shared_cpu_map`, `nodeN/cpumap`) are 32-bit hex
//   groups, most significant first, and say what the `*_list` files say;
// - hwloc shows no L2/L3 object where sysfs has no such cache;
// - hwloc's Linux backend makes one core per CPU when thread siblings have different core_ids
//   ("amd multicore compute-unit"), its x86 backend knows family 15h's compute units;
// - an offline CPU has no topology or cache directory and is in no sibling, cache or node set.
import { join } from 'node:path';
import t from 'tap';
import { cpuTopology } from '../../lib/cli/cpu-topology.js';
import { parseCpuMask } from '../../lib/cpu-list.js';
import { cpuTopologyCli } from '../fixtures/cli.js';
import { readCpuTopology } from '../../lib/host/topology.js';
import { FIXTURES, REPO } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

const FORMS = join(FIXTURES, 'hosts/sysfs-forms');
const run = (name: string, options: { json?: boolean; suggest?: string } = {}) => cpuTopology({ json: false, sysroot: join(FORMS, name), ...options }, REPO, {});
const json = (name: string) => JSON.parse(run(name, { json: true }).stdout) as unknown[];
const suggestion = (name: string, vcpus: number) => JSON.parse(run(name, { json: true, suggest: String(vcpus) }).stdout) as { vcpus: number[]; emulator: number[]; l3: number[] | null; reasons: string[] };
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** One CPU as `cpu-topology --json` prints it. */
const online = (cpu: number, pkg: number, die: number | null, node: number, core: number, threadSiblings: number[], l2Shared: number[], l3Shared: number[]) =>
  ({ cpu, package: pkg, die, node, core, threadSiblings, l2Shared, l3Shared, type: null, online: true, isolated: false });
const offline = (cpu: number) => ({ cpu, package: null, die: null, node: null, core: null, threadSiblings: [cpu], l2Shared: [], l3Shared: [], type: null, online: false, isolated: false });
const table = (text: string) => text.split('\n').slice(text.split('\n').indexOf('') + 1).filter(Boolean).map((line) => line.split(/\s+/));

t.test('sysfs bitmasks: 32-bit groups, most significant first', async (t) => {
  t.strictSame(parseCpuMask('00000000,00002002\n'), [1, 13]);
  t.strictSame(parseCpuMask('f,80000001'), [0, 31, 32, 33, 34, 35]);
  t.strictSame(parseCpuMask('0'), []);
  t.equal(parseCpuMask('0-3'), undefined, 'a list is not a mask');
});

t.test('bitmask-only (2.6.18, 2x X5650): topology from the masks and the cpuN directories', async (t) => {
  // CPUs alternate sockets; 0-11 are the first threads of cores 0,1,2,8,9,10 of each socket, 12-23 their second threads; 23 is offline.
  const pkgOf = (cpu: number) => cpu % 2;
  const coreOf = (cpu: number) => [0, 1, 2, 8, 9, 10][(cpu % 12) >> 1]!;
  const siblingsOf = (cpu: number) => [cpu % 12, (cpu % 12) + 12].filter((c) => c !== 23);
  const socket = (pkg: number) => range(0, 22).filter((cpu) => cpu % 2 === pkg);
  const expected = range(0, 23).map((cpu) => (cpu === 23 ? offline(23) : online(cpu, pkgOf(cpu), null, pkgOf(cpu), coreOf(cpu), siblingsOf(cpu), siblingsOf(cpu), socket(pkgOf(cpu)))));
  t.strictSame(json('bitmask-only'), expected);
  const text = run('bitmask-only').stdout;
  t.match(text, /^24 CPUs \(0-23\): online 0-22, offline 23, isolated none\n/);
  t.match(text, /\n2 packages, no die_id in sysfs, 2 NUMA nodes, 12 cores \(11 with SMT siblings\), 2 L3 caches\n/, 'die_id came with 5.2: no dies, as hwloc shows none');
  const plan = suggestion('bitmask-only', 4);
  t.strictSame([plan.vcpus, plan.emulator, plan.l3], [[1, 13, 3, 15], [0, 12], socket(1)], 'whole cores in the other socket, away from the host core');
});

t.test('no L3 (Core 2 Quad): none reported, never each CPU its own, and --suggest says it had no cache to go by', async (t) => {
  const l2 = (cpu: number) => (cpu % 2 === 0 ? [0, 2] : [1, 3]);
  t.strictSame(json('no-l3'), [0, 1, 2, 3].map((cpu) => online(cpu, 0, 0, 0, [0, 2, 1, 3][cpu]!, [cpu], l2(cpu), [])));
  const text = run('no-l3').stdout;
  t.match(text, /4 cores \(0 with SMT siblings\), no L3 cache in sysfs\n/);
  t.strictSame(table(text).slice(1).map((row) => [row[4], row[6], row[7]]), [['0', '0,2', 'none'], ['1', '1,3', 'none'], ['2', '0,2', 'none'], ['3', '1,3', 'none']]);
  const plan = suggestion('no-l3', 2);
  t.strictSame([plan.vcpus, plan.emulator, plan.l3], [[1, 2], [0], null]);
  t.ok(plan.reasons.includes('sysfs names no L3 cache, so there was no cache to go by: all in one package 0'), plan.reasons.join('\n'));
});

t.test('no cache directories at all: no L2 and no L3', async (t) => {
  const topology = readCpuTopology(sysrootOf(t, { 'sys/devices/system/cpu/present': '0-1\n', 'sys/devices/system/cpu/cpu0/topology/core_id': '0\n', 'sys/devices/system/cpu/cpu1/topology/core_id': '1\n' }));
  t.strictSame(topology.cpus.map((cpu) => [cpu.l2Shared, cpu.l3Shared]), [[[], []], [[], []]]);
});

t.test('values ending in spaces and NUL bytes read as the plain values', async (t) => {
  t.strictSame(json('nul-bytes'), [0, 1, 2, 3].map((cpu) => online(cpu, 0, 0, 0, cpu, [cpu], [cpu], [0, 1, 2, 3])));
  t.match(run('nul-bytes').stdout, /^4 CPUs \(0-3\): online 0-3, offline none, isolated none\n1 package, 1 die, 1 NUMA node, 4 cores \(0 with SMT siblings\), 1 L3 cache\n/);
});

t.test('AMD family 15h compute units: separate cores sharing an L2, as hwloc shows them, with a note', async (t) => {
  const unit = (cpu: number) => [cpu & ~1, cpu | 1];
  t.strictSame(json('compute-units'), range(0, 7).map((cpu) => online(cpu, 0, 0, 0, cpu, [cpu], unit(cpu), range(0, 7))));
  const text = run('compute-units').stdout;
  t.match(text, /8 cores \(0 with SMT siblings\), 1 L3 cache\nnote: AMD family 15h \(cpu family 21\): the kernel lists the two cores of each compute unit as SMT siblings; shown as hwloc shows them, as separate cores sharing their L2/);
  const script = cpuTopologyCli(['--sysroot', join(FORMS, 'compute-units'), '--json']);
  t.strictSame(JSON.parse(script.stdout), json('compute-units'), 'the JSON stays an array of CPUs');
  t.match(script.stderr, /^note: AMD family 15h .*\n$/, 'the script prints the note on stderr');
  const plan = suggestion('compute-units', 4);
  t.strictSame([plan.vcpus, plan.emulator], [[1, 2, 3, 4], [0]]);
  t.match(plan.reasons.at(-1), /^AMD family 15h/);
});

t.test("thread siblings with different core_ids are one core per CPU (hwloc's Linux rule) on any CPU; equal ones stay SMT", async (t) => {
  const tree = (coreIds: [number, number]) => {
    const files: Record<string, string> = { 'sys/devices/system/cpu/present': '0-1\n', 'proc/cpuinfo': 'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n' };
    coreIds.forEach((core, cpu) => Object.assign(files, { [`sys/devices/system/cpu/cpu${cpu}/topology/core_id`]: `${core}\n`, [`sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings`]: '3\n' }));
    return readCpuTopology(sysrootOf(t, files));
  };
  const split = tree([0, 1]);
  t.strictSame(split.cpus.map((cpu) => cpu.threadSiblings), [[0], [1]]);
  t.match(split.notes, [/different core_ids \(CPUs 0,1…\): shown as hwloc shows them, one core per CPU/]);
  const smt = tree([0, 0]);
  t.strictSame([smt.cpus.map((cpu) => cpu.threadSiblings), smt.notes], [[[0, 1], [0, 1]], undefined]);
});

t.test('CPU numbers with gaps and offline CPUs without topology', async (t) => {
  // Siblings N and N+8; 10 and 11 offline, so 2 and 3 have no sibling left and no cache shares an offline CPU.
  const siblings = (cpu: number) => (cpu % 8 < 2 ? [cpu % 8, (cpu % 8) + 8] : [cpu]);
  const l3 = [0, 1, 2, 3, 8, 9];
  t.strictSame(json('offline-gaps'), [...[0, 1, 2, 3, 8, 9].map((cpu) => online(cpu, 0, 0, 0, cpu & 7, siblings(cpu), siblings(cpu), l3)), offline(10), offline(11)]);
  t.match(run('offline-gaps').stdout, /^8 CPUs \(0-3,8-11\): online 0-3,8-9, offline 10-11, isolated none\n1 package, 1 die, 1 NUMA node, 4 cores \(2 with SMT siblings\), 1 L3 cache\n/);
  const plan = suggestion('offline-gaps', 4);
  t.strictSame([plan.vcpus, plan.emulator, plan.l3], [[1, 9, 2, 3], [0, 8], l3]);
});

t.test('without the online list, cpuN/online says which CPUs are offline', async (t) => {
  const files = { 'sys/devices/system/cpu/present': '0-2\n', 'sys/devices/system/cpu/cpu1/online': '0\n', 'sys/devices/system/cpu/cpu2/online': '1\n' };
  t.strictSame(readCpuTopology(sysrootOf(t, files)).cpus.map((cpu) => cpu.online), [true, false, true]);
});
