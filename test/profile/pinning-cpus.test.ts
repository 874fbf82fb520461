// pinning.cpus: one CPU set every vCPU shares (the server guide's taskset), process mode only.
import t from 'tap';
import { loadProfile } from '../../lib/profile/load.js';
import { errorLines, tree } from '../fixtures/trees.js';

const ENV = { PATH: '', HOME: '/nonexistent' };

t.test('a shared set loads in process mode, with no vcpus', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 1G }\npinning: { cpus: "14-17,32-35", mode: process }\n' });
  const { profile } = loadProfile('vm.yaml', { cwd: dir, env: ENV });
  t.strictSame(profile.pinning?.cpus, [14, 15, 16, 17, 32, 33, 34, 35]);
  t.strictSame(profile.pinning?.vcpus, []);
});

t.test('each misuse is an error at its key', async (t) => {
  const dir = tree(t, {
    'both.yaml': 'memory: { size: 1G }\npinning:\n  vcpus: [2, 3]\n  cpus: [2, 3]\n  mode: process\n',
    'threads.yaml': 'memory: { size: 1G }\npinning:\n  cpus: [2, 3]\n',
    'neither.yaml': 'memory: { size: 1G }\npinning:\n  mode: process\n',
    'bad-list.yaml': 'memory: { size: 1G }\npinning:\n  cpus: "2-"\n  mode: process\n',
  });
  const lines = (name: string) => errorLines(t, () => loadProfile(name, { cwd: dir, env: ENV }));
  t.strictSame(lines('both.yaml'), ['both.yaml:4:9: pinning.cpus: cpus and vcpus exclude each other: cpus is one CPU set all vCPUs share, vcpus a CPU for each']);
  t.strictSame(lines('threads.yaml'), ['threads.yaml:3:9: pinning.cpus: a CPU set shared by all vCPUs needs mode: process (threads mode pins each vCPU to a CPU of its own: use vcpus)']);
  t.strictSame(lines('neither.yaml'), ['neither.yaml:3:3: pinning: expected vcpus (a host CPU for each vCPU) or cpus (one CPU set for all of them, mode: process)']);
  t.strictSame(lines('bad-list.yaml'), ['bad-list.yaml:3:9: pinning.cpus: expected a CPU list like [2, 3] or "2-3,6"']);
});
