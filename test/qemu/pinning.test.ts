import t from 'tap';
import { buildStartPaused, buildWrappers, checkPinning, processCpus } from '../../lib/qemu/pinning.js';
import { buildInput, words, type ProfileData } from '../fixtures/build-input.js';

/** The process-mode wrappers (threads mode has none). */
const wrappersOf = (pinning: ProfileData['pinning']) => {
  const input = buildInput(pinning ? { pinning: { mode: 'process', ...(pinning as object) } as ProfileData['pinning'] } : {});
  const args = buildWrappers(input);
  return { args, errors: input.diagnostics.errors };
};

t.test('no pinning, no wrappers', async (t) => {
  t.strictSame(wrappersOf(undefined), { args: [], errors: [] });
});

t.test('chrt and taskset, with their sources and notes', async (t) => {
  t.strictSame(wrappersOf({ vcpus: [2, 3], scheduler: { policy: 'rr', priority: 1 } }), {
    args: [
      { words: ['chrt', '-r', '1'], from: ['pinning.scheduler.policy', 'pinning.scheduler.priority'], notes: ['every QEMU thread inherits the policy'] },
      { words: ['taskset', '-c', '2-3'], from: ['pinning.vcpus', 'pinning.mode'], notes: ['process mode: every QEMU thread inherits the mask'] },
    ],
    errors: [],
  });
});

t.test('the chrt flag per policy, and the default priority', async (t) => {
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'rr' } }).args.slice(0, 1)), ['chrt', '-r', '1']);
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'fifo' } }).args.slice(0, 1)), ['chrt', '-f', '1']);
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'fifo', priority: 50 } }).args.slice(0, 1)), ['chrt', '-f', '50']);
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'other' } }).args), ['taskset', '-c', '2'], 'SCHED_OTHER is what QEMU has anyway: no chrt');
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'batch' } }).args.slice(0, 1)), ['chrt', '-b', '0']);
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'idle' } }).args.slice(0, 1)), ['chrt', '-i', '0']);
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'rr' } }).args[0]!.from, ['pinning.scheduler.policy'], 'a default priority is not a profile key');
});

t.test('priorities the policy cannot take are errors', async (t) => {
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'rr', priority: 0 } }).errors, [{ key: 'pinning.scheduler.priority', message: 'rr needs a priority from 1 to 99' }]);
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'fifo', priority: 0 } }).errors, [{ key: 'pinning.scheduler.priority', message: 'fifo needs a priority from 1 to 99' }]);
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'other', priority: 5 } }).errors, [{ key: 'pinning.scheduler.priority', message: 'other takes priority 0 only' }]);
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'idle', priority: 1 } }).errors, [{ key: 'pinning.scheduler.priority', message: 'idle takes priority 0 only' }]);
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'rr', priority: 99 } }).errors, []);
});

t.test('taskset covers the vCPUs and the emulator CPUs', async (t) => {
  t.strictSame(processCpus(buildInput({ pinning: { vcpus: '4-7', emulator: [1, 4] } })), [4, 5, 6, 7, 1]);
  t.strictSame(processCpus(buildInput({})), []);
  const { args } = wrappersOf({ vcpus: '4-7', emulator: '0-1' });
  t.strictSame(args.slice(1), [
    {
      words: ['taskset', '-c', '0-1,4-7'],
      from: ['pinning.vcpus', 'pinning.emulator', 'pinning.mode'],
      notes: ['process mode: vCPU and emulator threads all share 0-1,4-7; mode: threads pins each thread'],
    },
  ]);
  t.strictSame(words(wrappersOf({ vcpus: [7, 3, 5] }).args.slice(1)), ['taskset', '-c', '3,5,7'], 'sorted');
});

t.test('pinning without a scheduler runs QEMU at nice -20; nice goes with other and batch only', async (t) => {
  t.strictSame(wrappersOf({ vcpus: [2] }).args[0], { words: ['nice', '-n', '-20'], from: ['pinning.scheduler.nice'], notes: ['every QEMU thread inherits the nice value'] });
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'batch', nice: 5 } }).args.slice(0, 2)), ['chrt', '-b', '0', 'nice', '-n', '5']);
  t.strictSame(words(wrappersOf({ vcpus: [2], scheduler: { policy: 'other', nice: 0 } }).args), ['taskset', '-c', '2'], 'nice 0 needs no wrapper');
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'fifo', nice: -5 } }).errors, [{ key: 'pinning.scheduler.nice', message: 'fifo ignores nice; it goes with policy other or batch' }]);
  t.strictSame(wrappersOf({ vcpus: [2], scheduler: { policy: 'idle', nice: 1 } }).errors, [{ key: 'pinning.scheduler.nice', message: 'idle ignores nice; it goes with policy other or batch' }]);
});

t.test('a host CPU given to two vCPUs is an error', async (t) => {
  t.strictSame(wrappersOf({ vcpus: [2, 3, 2, 3] }).errors, [
    { key: 'pinning.vcpus[2]', message: "host CPU 2 is already vCPU 0's; each vCPU needs its own host CPU" },
    { key: 'pinning.vcpus[3]', message: "host CPU 3 is already vCPU 1's; each vCPU needs its own host CPU" },
  ]);
  t.strictSame(wrappersOf({ vcpus: [2, 3], emulator: [2] }).errors, [], 'the emulator may share a vCPU host CPU');
});

t.test('threads mode: no wrappers, QEMU starts paused; IO thread CPUs need it', async (t) => {
  const input = buildInput({ pinning: { vcpus: [2, 3], scheduler: { policy: 'fifo' } } });
  t.strictSame(buildWrappers(input), [], 'threads is the default: nothing before the binary');
  t.strictSame(buildStartPaused(input).map((arg) => arg.words), [['-S']]);
  t.strictSame(buildStartPaused(buildInput({ pinning: { vcpus: [2, 3], mode: 'process' } })), [], 'process mode starts at once');
  const processMode = buildInput({ pinning: { vcpus: [2, 3], iothreads: [1], mode: 'process' } });
  checkPinning(processMode);
  t.strictSame(processMode.diagnostics.errors, [{ key: 'pinning.iothreads', message: 'needs mode: threads; in process mode every thread shares one mask' }]);
});
