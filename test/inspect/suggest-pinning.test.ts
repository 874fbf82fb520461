import t from 'tap';
import { formatCpuList } from '../../lib/cpu-list.js';
import { readCpuTopology, type CpuTopology } from '../../lib/host/topology.js';
import { suggestPinning } from '../../lib/inspect/suggest-pinning.js';
import { host } from '../fixtures/helpers.js';
import { errorLines, sysrootOf } from '../fixtures/trees.js';

const HOSTS = ['z77-i5-2500', 'inspur-nf5212m5', 'i9-9900k', 'i7-4790k', 'lab', 'i7-12700k', 'epyc-2s'];

/** Every vCPU count that has an answer on a host, with the answer. */
function everySuggestion(topology: CpuTopology) {
  const answers = [];
  for (let vcpus = 1; vcpus <= topology.cpus.length; vcpus++) {
    for (const node of [undefined, 0, 1]) {
      try {
        answers.push({ vcpus, node, suggestion: suggestPinning(topology, { vcpus, ...(node === undefined ? {} : { node }) }) });
      } catch {
        // no whole-core split of this size: checked separately
      }
    }
  }
  return answers;
}

for (const name of HOSTS) {
  t.test(`properties on ${name}`, async (t) => {
    const topology = readCpuTopology(host(name));
    const byCpu = new Map(topology.cpus.map((cpu) => [cpu.cpu, cpu]));
    const first = Math.min(...topology.cpus.map((cpu) => cpu.cpu));
    const hostCore = byCpu.get(first)!.threadSiblings;
    const answers = everySuggestion(topology);
    t.ok(answers.length > 0);
    let failures = 0;
    for (const { vcpus, node, suggestion } of answers) {
      const what = `${vcpus} vCPUs${node === undefined ? '' : ` near node ${node}`} → ${suggestion.vcpus.join(',')}`;
      const guest = new Set(suggestion.vcpus);
      if (suggestion.vcpus.length !== vcpus || guest.size !== vcpus) failures += Number(!t.fail(`${what}: not ${vcpus} distinct CPUs`));
      const split = suggestion.vcpus.filter((cpu) => byCpu.get(cpu)!.threadSiblings.some((sibling) => !guest.has(sibling)));
      if (split.length > 0) failures += Number(!t.fail(`${what}: splits the siblings of ${split.join(',')}`));
      if (hostCore.some((cpu) => guest.has(cpu))) failures += Number(!t.fail(`${what}: gives away the host's first core`));
      if (suggestion.emulator.some((cpu) => guest.has(cpu))) failures += Number(!t.fail(`${what}: emulator on guest CPUs`));
      // One L3 when some L3 has room for it: the room is its whole cores other than the host's.
      const fitsOneL3 = new Set(topology.cpus.map((cpu) => formatCpuList(cpu.l3Shared))).size > 0 &&
        [...new Set(topology.cpus.map((cpu) => formatCpuList(cpu.l3Shared)))].some((l3) => topology.cpus.filter((cpu) => formatCpuList(cpu.l3Shared) === l3 && !hostCore.includes(cpu.cpu)).length >= vcpus && topology.cpus.every((cpu) => cpu.threadSiblings.length === byCpu.get(first)!.threadSiblings.length) && vcpus % hostCore.length === 0);
      const l3s = new Set(suggestion.vcpus.map((cpu) => formatCpuList(byCpu.get(cpu)!.l3Shared)));
      if (fitsOneL3 && l3s.size !== 1) failures += Number(!t.fail(`${what}: spans ${l3s.size} L3 caches though one has room`));
      // Siblings are consecutive vCPUs: vCPU 2k and 2k+1 share a core on SMT-2 cores.
      for (let i = 0; i < suggestion.vcpus.length; ) {
        const core = byCpu.get(suggestion.vcpus[i]!)!.threadSiblings;
        if (suggestion.vcpus.slice(i, i + core.length).join(',') !== core.join(',')) {
          failures += Number(!t.fail(`${what}: core ${core.join(',')} is not consecutive`));
          break;
        }
        i += core.length;
      }
      if (JSON.stringify(suggestPinning(topology, { vcpus, ...(node === undefined ? {} : { node }) })) !== JSON.stringify(suggestion)) failures += Number(!t.fail(`${what}: not deterministic`));
    }
    t.equal(failures, 0, `${answers.length} suggestions checked`);
  });
}

t.test('the hybrid desktop: P-cores first, E-cores only when the P-cores run out', async (t) => {
  const topology = readCpuTopology(host('i7-12700k'));
  t.strictSame(suggestPinning(topology, { vcpus: 8, threads: 2 }).vcpus, [2, 3, 4, 5, 6, 7, 8, 9]);
  t.strictSame(suggestPinning(topology, { vcpus: 14 }).vcpus, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 'all seven free P-cores');
  const mixed = suggestPinning(topology, { vcpus: 16, threads: 2 });
  t.strictSame(mixed.vcpus, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  t.match(mixed.reasons.join('\n'), /P-cores first, then E-cores/);
  t.match(mixed.reasons.join('\n'), /threads: 2, but some of these host cores have 1 thread/);
  t.strictSame(suggestPinning(topology, { vcpus: 3 }).vcpus, [2, 3, 16], 'an odd count takes an E-core rather than half a P-core');
});

t.test('the 2-socket server: the GPU node, one CCX, the host CCX last', async (t) => {
  const topology = readCpuTopology(host('epyc-2s'));
  const onNode1 = suggestPinning(topology, { vcpus: 8, threads: 2, node: 1 });
  t.strictSame(onNode1.vcpus, [16, 48, 17, 49, 18, 50, 19, 51]);
  t.strictSame(onNode1.l3, [16, 17, 18, 19, 48, 49, 50, 51]);
  t.equal(onNode1.node, 1);
  t.strictSame(onNode1.emulator, [0, 32]);
  t.strictSame(suggestPinning(topology, { vcpus: 6 }).vcpus, [4, 36, 5, 37, 6, 38], 'CCX 0 has room, but the host works there');
  const wide = suggestPinning(topology, { vcpus: 12, node: 1 });
  t.equal(wide.l3, undefined);
  t.equal(wide.node, 1);
  t.match(wide.reasons.join('\n'), /spans L3 caches within NUMA node 1/);
  const huge = suggestPinning(topology, { vcpus: 40 });
  t.equal(huge.node, undefined);
  t.match(huge.reasons.join('\n'), /spans nodes/);
  t.match(suggestPinning(topology, { vcpus: 2, node: 5 }).reasons.join('\n'), /NUMA node 5 \(the GPU's\) has no CPUs to give/);
});

t.test('what cannot be done is a one-line error', async (t) => {
  const epyc = readCpuTopology(host('epyc-2s'));
  t.strictSame(errorLines(t, () => suggestPinning(epyc, { vcpus: 63 })), ['cannot give 63 vCPUs whole cores here: this host has 62 CPUs besides its first core (0,32)']);
  t.strictSame(errorLines(t, () => suggestPinning(epyc, { vcpus: 5 })), ['cannot make 5 vCPUs of whole cores here (the free cores have 2 threads); try 6']);
  t.strictSame(errorLines(t, () => suggestPinning(epyc, { vcpus: 0 })), ['--suggest: expected a number of vCPUs of at least 1, got 0']);
  const empty = sysrootOf(t, { 'sys/devices/system/cpu/present': '\n' });
  t.strictSame(errorLines(t, () => suggestPinning(readCpuTopology(empty), { vcpus: 1 })), ['cannot suggest pinning: this host lists no online CPUs']);
});

t.test('offline CPUs are never chosen, and a core with an offline sibling gives what is online', async (t) => {
  const files: Record<string, string> = { 'sys/devices/system/cpu/present': '0-3\n', 'sys/devices/system/cpu/online': '0-2\n' };
  for (const cpu of [0, 1, 2]) {
    files[`sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`] = `${cpu}\n`;
    files[`sys/devices/system/cpu/cpu${cpu}/topology/physical_package_id`] = '0\n';
  }
  const topology = readCpuTopology(sysrootOf(t, files));
  t.strictSame(suggestPinning(topology, { vcpus: 2 }).vcpus, [1, 2]);
  t.strictSame(errorLines(t, () => suggestPinning(topology, { vcpus: 3 })), ['cannot give 3 vCPUs whole cores here: this host has 2 CPUs besides its first core (0)']);
});
