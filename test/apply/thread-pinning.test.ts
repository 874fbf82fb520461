// What the launch checks after pinning: every thread's CPUs and policy against the plan.
import { spawn } from 'node:child_process';
import t from 'tap';
import { mismatches, Pinner } from '../../lib/apply/thread-pinning.js';
import { readThread, type ThreadState } from '../../lib/host/threads.js';

const thread = (tid: number, name: string, allowed: number[], policy: ThreadState['policy'] = 'other', priority = 0): ThreadState => ({ tid, name, allowed, policy, priority, nice: 0, cpu: allowed[0]!, switches: { voluntary: 0, involuntary: 0 } });
const ids = { vcpus: [{ index: 0, tid: 11 }, { index: 1, tid: 12 }], iothreads: [{ id: 'iothread0', tid: 13 }] };
const expected = { emulator: [0, 1], iothreads: [1], vcpus: [2, 3], scheduler: { policy: 'fifo' as const, priority: 5 } };
const good = [thread(10, 'qemu-system-x86', [0, 1]), thread(11, 'CPU 0/KVM', [2], 'fifo', 5), thread(12, 'CPU 1/KVM', [3], 'fifo', 5), thread(13, 'iothread0', [1]), thread(14, 'worker', [0, 1])];

t.test('threads as pinned: nothing to report', async (t) => {
  t.strictSame(mismatches(good, ids, expected), []);
});

t.test('each kind of mismatch names the thread and what it should be', async (t) => {
  const bad = [thread(10, 'qemu-system-x86', [0, 1, 2, 3], 'fifo', 5), thread(11, 'CPU 0/KVM', [2, 3], 'fifo', 5), thread(12, 'CPU 1/KVM', [3], 'other', 0), thread(13, 'iothread0', [0, 1])];
  t.strictSame(mismatches(bad, ids, expected), [
    'emulator thread 10 (qemu-system-x86) may run on CPUs 0-3, not 0-1',
    'emulator thread 10 (qemu-system-x86) is real-time (fifo 5); only vCPU threads should be',
    'vCPU 0 thread 11 (CPU 0/KVM) may run on CPUs 2-3, not 2',
    'vCPU 1 thread 12 (CPU 1/KVM) runs other 0, not SCHED_FIFO priority 5',
    'IO thread iothread0 thread 13 (iothread0) may run on CPUs 0-1, not 1',
  ]);
});

t.test('a vCPU thread QMP named that is not in /proc is a mismatch', async (t) => {
  t.strictSame(mismatches(good.filter((each) => each.tid !== 12), ids, expected), ["vCPU 1's thread 12 is not among QEMU's threads"]);
});

t.test('a nice value the vCPU thread does not have is a mismatch', async (t) => {
  const niced = { ...expected, scheduler: { policy: 'other' as const, priority: 0, nice: -20 } };
  const threads = [thread(10, 'qemu', [0, 1]), { ...thread(11, 'CPU 0/KVM', [2]), nice: -20 }, thread(12, 'CPU 1/KVM', [3])];
  t.strictSame(mismatches(threads, { ...ids, iothreads: [] }, niced), ['vCPU 1 thread 12 (CPU 1/KVM) runs other 0 nice 0, not SCHED_OTHER nice -20']);
});

t.test('without a scheduler, policies are not checked', async (t) => {
  const { scheduler: _, ...noScheduler } = expected;
  t.strictSame(mismatches([thread(10, 'qemu', [0, 1], 'fifo', 1), thread(11, 'CPU 0/KVM', [2], 'rr', 1), thread(12, 'CPU 1/KVM', [3])], { ...ids, iothreads: [] }, noScheduler), []);
});

t.test('the pinner sets CPUs and schedulers in order, through perl or, elsewhere, taskset and chrt', async (t) => {
  for (const arch of ['x64', 'unknown-arch']) {
    const sleeper = spawn('sleep', ['30']);
    t.teardown(() => sleeper.kill());
    const tid = sleeper.pid!;
    const pinner = new Pinner({ PATH: process.env.PATH }, arch);
    const result = await pinner.run([[{ tid, cpus: [0] }], [{ tid, scheduler: { policy: 'batch', priority: 0, nice: -7 } }]]);
    t.strictSame(result, { finished: 2 }, arch);
    t.match(readThread(tid, tid), { allowed: [0], policy: 'batch', priority: 0, nice: -7 }, `${arch}: read back from /proc`);
    const failing = new Pinner({ PATH: process.env.PATH }, arch);
    const refused = await failing.run([[{ tid, cpus: [1] }], [{ tid: 999_999_999, cpus: [0] }], [{ tid, cpus: [0] }]]);
    t.equal(refused.finished, 1, `${arch}: stops at the first failure`);
    t.match(refused.error, /999999999/, `${arch}: and says which thread`);
  }
});
