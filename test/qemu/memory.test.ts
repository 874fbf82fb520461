import t from 'tap';
import type { GuestNuma, HugepageDir } from '../../lib/qemu/arg.js';
import { buildMachine } from '../../lib/qemu/machine.js';
import { buildMemory, chooseMemoryBackend } from '../../lib/qemu/memory.js';
import { formatProps } from '../../lib/qemu/props.js';
import { buildInput, type InputOptions, type ProfileData } from '../fixtures/build-input.js';

/** The backend as its `-object` value, plus what was reported. */
const backendOf = (memory: ProfileData['memory'], options: InputOptions = {}) => {
  const input = buildInput({ memory }, options);
  const backend = chooseMemoryBackend(input);
  return { object: backend && formatProps(backend.type, backend.props), backend, errors: input.diagnostics.errors };
};

t.test('hugepages with a file backend use the hugetlbfs directory the plan resolved', async (t) => {
  const { object, backend, errors } = backendOf({ size: '8G', hugepages: '1G', prealloc: true }, { hugepageDir: { path: '/dev/hugepages1G', note: 'mem-path ← the host\'s hugetlbfs mount with pagesize=1G' } });
  t.equal(object, 'memory-backend-file,id=mem,size=8G,mem-path=/dev/hugepages1G,prealloc=on');
  t.strictSame(backend!.from, ['memory.size', 'memory.prealloc', 'memory.hugepages']);
  t.strictSame(backend!.notes, ["mem-path ← the host's hugetlbfs mount with pagesize=1G"]);
  t.strictSame(errors, []);
  t.strictSame(backendOf({ size: '2G', hugepages: '2M', path: '/mnt/huge' }, { hugepageDir: { path: '/mnt/huge', note: 'mem-path ← memory.path' } }).backend!.from, ['memory.size', 'memory.hugepages', 'memory.path']);
});

t.test('hugepages with the memfd backend', async (t) => {
  const { object, backend, errors } = backendOf({ size: '4G', hugepages: '2M', backend: 'memfd', share: true });
  t.equal(object, 'memory-backend-memfd,id=mem,size=4G,hugetlb=on,hugetlbsize=2M,share=on');
  t.strictSame(backend!.from, ['memory.size', 'memory.share', 'memory.hugepages', 'memory.backend']);
  t.strictSame(errors, []);
});

t.test('without hugepages', async (t) => {
  t.equal(backendOf({ size: '4G', backend: 'memfd' }).object, 'memory-backend-memfd,id=mem,size=4G');
  t.equal(backendOf({ size: '4G', path: '/dev/shm/vm' }).object, 'memory-backend-file,id=mem,size=4G,mem-path=/dev/shm/vm', 'a path alone means a file backend');
  t.equal(backendOf({ size: '4G', backend: 'file', path: '/dev/shm/vm', share: true }).object, 'memory-backend-file,id=mem,size=4G,mem-path=/dev/shm/vm,share=on');
  t.equal(backendOf({ size: '4G', prealloc: true }).object, 'memory-backend-ram,id=mem,size=4G,prealloc=on', 'prealloc alone needs a ram backend');
  t.equal(backendOf({ size: '4G', share: true }).object, 'memory-backend-ram,id=mem,size=4G,share=on');
  t.equal(backendOf({ size: '4G', lock: true }).backend, undefined, 'plain memory (lock too) needs no backend');
});

t.test('a file backend without hugepages needs memory.path', async (t) => {
  const { object, errors } = backendOf({ size: '4G', backend: 'file' });
  t.strictSame(errors, [{ key: 'memory.backend', message: 'the file backend needs memory.path (a tmpfs or hugetlbfs directory) or memory.hugepages' }]);
  t.equal(object, 'memory-backend-file,id=mem,size=4G');
});

t.test('the size must be a whole number of huge pages', async (t) => {
  t.strictSame(backendOf({ size: '1025M', hugepages: '2M' }, { hugepageDir: { path: '/dev/hugepages', note: 'mem-path ← memory.path' } }).errors, [{ key: 'memory.size', message: '1025M is not a whole number of 2M huge pages' }]);
  t.strictSame(backendOf({ size: '1536M', hugepages: '1G' }, { hugepageDir: { path: '/dev/hugepages1G', note: 'mem-path ← memory.path' } }).errors, [{ key: 'memory.size', message: '1536M is not a whole number of 1G huge pages' }]);
  t.strictSame(backendOf({ size: '1026M', hugepages: '2M', backend: 'memfd' }).errors, [], '1026M is 513 pages of 2M');
  t.strictSame(backendOf({ size: '3G', hugepages: '1G' }, { hugepageDir: { path: '/dev/hugepages1G', note: 'mem-path ← memory.path' } }).errors, []);
});

const memoryArgs = (memory: ProfileData['memory'], at: string) => {
  const input = buildInput({ memory }, { version: at });
  return buildMemory(input, chooseMemoryBackend(input));
};

t.test('-m alone for plain memory', async (t) => {
  t.strictSame(memoryArgs({ size: '8G' }, '7.2'), [{ words: ['-m', '8G'], from: ['memory.size'], notes: [] }]);
  t.strictSame(memoryArgs({ size: '1536M' }, '7.2')[0]!.words, ['-m', '1536M']);
});

t.test('before 5.0 the backend is attached with -numa; from 5.0 by -machine', async (t) => {
  t.strictSame(memoryArgs({ size: '8G', backend: 'memfd' }, '4.2'), [
    { words: ['-m', '8G'], from: ['memory.size'], notes: [] },
    { words: ['-object', 'memory-backend-memfd,id=mem,size=8G'], from: ['memory.size', 'memory.backend'], notes: [] },
    { words: ['-numa', 'node,nodeid=0,memdev=mem'], from: ['memory'], notes: ['-numa node,memdev= ← rule: QEMU before 5.0 has no -machine memory-backend='] },
  ]);
  t.strictSame(memoryArgs({ size: '8G', backend: 'memfd' }, '5.0').map((arg) => arg.words[0]), ['-m', '-object'], 'no -numa from 5.0');
});

t.test('memory.lock: -realtime before 3.0, -overcommit from 3.0', async (t) => {
  t.strictSame(memoryArgs({ size: '8G', lock: true }, '2.12'), [
    { words: ['-m', '8G'], from: ['memory.size'], notes: [] },
    { words: ['-realtime', 'mlock=on'], from: ['memory.lock'], notes: ['-realtime mlock=on ← rule: QEMU 2.12 is older than 3.0 (-overcommit mem-lock=on needs 3.0)'] },
  ]);
  t.strictSame(memoryArgs({ size: '8G', lock: true }, '3.0')[1], {
    words: ['-overcommit', 'mem-lock=on'],
    from: ['memory.lock'],
    notes: ['-overcommit mem-lock=on ← rule: QEMU 3.0 ≥ 3.0 (-realtime mlock=on was removed in 6.0)'],
  });
});

const GIB = 1 << 30;
const BIND_1: GuestNuma = { mirror: false, nodes: [{ hostNode: 1, vcpus: [0, 1], hostCpus: [16, 48], size: 8 * GIB }], note: 'bound ← node 1' };
const MIRROR: GuestNuma = {
  mirror: true,
  nodes: [
    { hostNode: 0, vcpus: [0, 1, 4, 5], hostCpus: [0, 32, 1, 33], size: 5 * GIB },
    { hostNode: 1, vcpus: [2, 3], hostCpus: [16, 48], size: 3 * GIB },
  ],
  note: 'mirror ← nodes 0 and 1',
};
const numaArgs = (memory: ProfileData['memory'], numa: GuestNuma, at = '7.2', hugepageDir?: HugepageDir) => {
  const input = buildInput({ memory }, { version: at, numa, ...(hugepageDir ? { hugepageDir } : {}) });
  const backend = chooseMemoryBackend(input);
  return { memory: buildMemory(input, backend), machine: buildMachine(input, backend)[0]!.words[1] };
};

t.test('bound to one node: host-nodes and policy on the backend, plain memory gets a ram backend for them', async (t) => {
  const plain = numaArgs({ size: '8G' }, BIND_1);
  t.strictSame(plain.memory, [
    { words: ['-m', '8G'], from: ['memory.size'], notes: [] },
    { words: ['-object', 'memory-backend-ram,id=mem,size=8G,host-nodes=1,policy=bind'], from: ['memory.size', 'pinning.vcpus'], notes: ['bound ← node 1'] },
  ]);
  t.match(plain.machine, /,memory-backend=mem$/);
  const hugetlbfs = numaArgs({ size: '8G', hugepages: '1G', prealloc: true }, BIND_1, '7.2', { path: '/dev/hugepages1G', note: 'mount' });
  t.equal(hugetlbfs.memory[1]!.words[1], 'memory-backend-file,id=mem,size=8G,mem-path=/dev/hugepages1G,prealloc=on,host-nodes=1,policy=bind');
  t.equal(numaArgs({ size: '8G', hugepages: '2M', backend: 'memfd' }, BIND_1).memory[1]!.words[1], 'memory-backend-memfd,id=mem,size=8G,hugetlb=on,hugetlbsize=2M,host-nodes=1,policy=bind');
  t.strictSame(numaArgs({ size: '8G' }, BIND_1, '4.2').memory.map((arg) => arg.words[1]), ['8G', 'memory-backend-ram,id=mem,size=8G,host-nodes=1,policy=bind', 'node,nodeid=0,memdev=mem'], 'before 5.0 attached by -numa as ever');
});

t.test('mirror: a bound backend per guest node and its -numa node with its vCPUs; no -machine memory-backend', async (t) => {
  const { memory, machine } = numaArgs({ size: '8G', hugepages: '1G' }, MIRROR, '7.2', { path: '/dev/hugepages1G', note: 'mount' });
  t.strictSame(memory.map((arg) => arg.words), [
    ['-m', '8G'],
    ['-object', 'memory-backend-file,id=mem0,size=5G,mem-path=/dev/hugepages1G,host-nodes=0,policy=bind'],
    ['-numa', 'node,nodeid=0,memdev=mem0,cpus=0-1,cpus=4-5'],
    ['-object', 'memory-backend-file,id=mem1,size=3G,mem-path=/dev/hugepages1G,host-nodes=1,policy=bind'],
    ['-numa', 'node,nodeid=1,memdev=mem1,cpus=2-3'],
  ]);
  t.strictSame(memory[1]!.from, ['memory.size', 'memory.hugepages', 'memory.numa', 'pinning.vcpus']);
  t.strictSame(memory[1]!.notes, ['mount', 'mirror ← nodes 0 and 1']);
  t.notMatch(machine, /memory-backend/, 'QEMU takes the whole RAM from -machine memory-backend=: not with per-node backends');
  t.equal(numaArgs({ size: '8G' }, MIRROR).memory[1]!.words[1], 'memory-backend-ram,id=mem0,size=5G,host-nodes=0,policy=bind', 'plain memory: ram backends');
  t.strictSame(numaArgs({ size: '8G' }, MIRROR, '4.2').memory.map((arg) => arg.words[0]), ['-m', '-object', '-numa', '-object', '-numa'], 'the same before 5.0: no extra -numa for mem');
});
