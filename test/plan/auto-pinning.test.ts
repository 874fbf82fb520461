import t from 'tap';
import { passthroughNumaNode, resolveAutoPinning } from '../../lib/plan/auto-pinning.js';
import { renderExplain } from '../../lib/plan/render.js';
import { host, planOn, REPO } from '../fixtures/helpers.js';
import { errorLines, profileOf, recorder, tree } from '../fixtures/trees.js';
import { join } from 'node:path';

const HYBRID = 'test/fixtures/inspect/profiles/hybrid-gaming.yaml';
const EPYC = 'test/fixtures/inspect/profiles/epyc-render.yaml';

t.test('the schema turns both forms into an empty, marked vCPU list', async (t) => {
  t.strictSame(profileOf({ memory: { size: '1G' }, pinning: 'auto' }).pinning, { vcpus: [], scheduler: { policy: 'other', nice: -20 }, mode: 'threads', auto: 'pinning' });
  t.strictSame(profileOf({ memory: { size: '1G' }, pinning: { vcpus: 'auto', emulator: [0] } }).pinning, { vcpus: [], emulator: [0], scheduler: { policy: 'other', nice: -20 }, mode: 'threads', auto: 'vcpus' });
  t.strictSame(profileOf({ memory: { size: '1G' }, pinning: { vcpus: [2, 3] } }).pinning, { vcpus: [2, 3], scheduler: { policy: 'other', nice: -20 }, mode: 'threads' }, 'named CPUs stay as they are');
});

t.test('pinning: auto on the hybrid desktop: P-cores 1-4, emulator on core 0, explained', async (t) => {
  const plan = planOn(HYBRID, 'i7-12700k', { qemuVersion: { major: 7, minor: 2 } });
  const pins = plan.steps.filter((step) => step.id === 'pin-emulator' || step.id === 'pin-vcpus');
  t.strictSame(
    pins.map((step) => [step.id, step.from, step.actions.map(({ do: action }) => (action.kind === 'pin-threads' ? action.cpus : []))]),
    [
      ['pin-emulator', ['pinning'], [[0, 1]]],
      ['pin-vcpus', ['pinning', 'pinning.scheduler'], [[2, 3, 4, 5, 6, 7, 8, 9]]],
    ],
    'threads mode: the vCPU and emulator pinning come from pinning itself, not a defaulted pinning.vcpus',
  );
  t.match(plan.argv.join(' '), /-smp 8,sockets=1,cores=4,threads=2/);
  t.match(pins[1]!.notes.at(-1)!, /^pinning: auto → vCPUs on 2,3,4,5,6,7,8,9, emulator on 0-1: the host keeps its first core/);
});

t.test('pinning: auto in process mode: the taskset prefix, explained', async (t) => {
  const dir = tree(t, { 'hybrid-process.yaml': `extends: ${join(REPO, HYBRID)}\npinning: { vcpus: auto, emulator: auto, mode: process }\n` });
  const plan = planOn(join(dir, 'hybrid-process.yaml'), 'i7-12700k', { qemuVersion: { major: 7, minor: 2 } });
  t.strictSame(plan.argv.slice(0, 6), ['nice', '-n', '-20', 'taskset', '-c', '0-9']);
  const explain = renderExplain(plan);
  t.match(explain, /^taskset -c 0-9 {2}← pinning, pinning\.mode$/m, 'from pinning itself, not a defaulted pinning.vcpus');
  t.match(explain, /↳ pinning: auto → vCPUs on 2,3,4,5,6,7,8,9, emulator on 0-1: the host keeps its first core/);
});

t.test('vcpus: auto follows the GPU to its NUMA node and keeps the named emulator CPUs', async (t) => {
  const plan = planOn(EPYC, 'epyc-2s', { qemuVersion: { major: 7, minor: 2 } });
  const pins = plan.steps.filter((step) => step.id === 'pin-emulator' || step.id === 'pin-vcpus').flatMap((step) => step.actions.map(({ do: action }) => action));
  t.match(pins, [
    { threads: 'emulator', cpus: [0, 32] },
    { threads: 'vcpus', cpus: [16, 48, 17, 49, 18, 50, 19, 51], scheduler: { policy: 'fifo', priority: 1 } },
  ]);
  t.match(plan.steps.find((step) => step.id === 'pin-vcpus')!.notes.join('\n'), /pinning\.vcpus: auto → vCPUs on 16,48,17,49,18,50,19,51: .*on NUMA node 1, the GPU's/);
  t.equal(passthroughNumaNode(planProfile(), host('epyc-2s')), 1);
});

const planProfile = () => profileOf({ memory: { size: '1G' }, passthrough: [{ host: 'c3:00.3' }, { host: 'c1:00.0' }] });

t.test('the GPU decides the node; without one, the first device that has a node', async (t) => {
  t.equal(passthroughNumaNode(profileOf({ memory: { size: '1G' }, passthrough: [{ host: '41:00.0' }] }), host('epyc-2s')), 0);
  t.equal(passthroughNumaNode(profileOf({ memory: { size: '1G' }, passthrough: [{ host: '01:00.0' }] }), host('z77-i5-2500')), undefined, 'numa_node -1');
});

t.test('what stops auto is an error at the key that asked for it', async (t) => {
  const dir = tree(t, {
    'no-cores.yaml': 'memory: { size: 1G }\npinning: auto\n',
    'too-many.yaml': 'memory: { size: 1G }\ncpu: { cores: 8 }\npinning: { vcpus: auto }\n',
    'emulator-only.yaml': 'memory: { size: 1G }\npinning: { vcpus: [1], emulator: auto }\n',
  });
  t.strictSame(errorLines(t, () => planOn(join(dir, 'no-cores.yaml'), 'z77-i5-2500', {}, dir)), ['no-cores.yaml:2:10: pinning: auto needs cpu.cores (with cpu.sockets and cpu.threads) to know how many vCPUs to place']);
  t.strictSame(errorLines(t, () => planOn(join(dir, 'too-many.yaml'), 'z77-i5-2500', {}, dir)), ['too-many.yaml:3:19: pinning.vcpus: auto: cannot give 8 vCPUs whole cores here: this host has 3 CPUs besides its first core (0)']);
  t.strictSame(errorLines(t, () => planOn(join(dir, 'emulator-only.yaml'), 'z77-i5-2500', {}, dir)), ['emulator-only.yaml:2:10: pinning: emulator: auto goes with vcpus: auto']);
});

t.test('a profile without auto is left alone', async (t) => {
  const { diagnostics } = recorder();
  const profile = profileOf({ memory: { size: '1G' }, pinning: { vcpus: [2, 3] } });
  t.equal(resolveAutoPinning(profile, host('z77-i5-2500'), diagnostics).profile, profile);
  t.strictSame(diagnostics.errors, []);
});
