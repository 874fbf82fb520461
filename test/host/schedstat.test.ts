// lib/host/schedstat.ts: the sampler against a fake /proc whose counters the test moves (a wait per
// sample, several, a thread that exits, an id another thread takes over), and against this process.
import { mkdirSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { parseSchedstat, readSchedstats, SchedstatSampler } from '../../lib/host/schedstat.js';
import { writeTree } from '../fixtures/helpers.js';

const PID = 100;

/** A fake /proc with threads of PID; `set` rewrites a thread's counters in place (the open file sees them). */
function fakeProc(tids: number[]) {
  const proc = writeTree({});
  const file = (tid: number) => `${proc}/${PID}/task/${tid}/schedstat`;
  const set = (tid: number, onCpuMs: number, runDelayMs: number, slices: number) => writeFileSync(file(tid), `${onCpuMs * 1e6} ${runDelayMs * 1e6} ${slices}\n`);
  for (const tid of tids) {
    mkdirSync(`${proc}/${PID}/task/${tid}`, { recursive: true });
    set(tid, 0, 0, 0);
  }
  return { proc, set, exit: (tid: number) => writeFileSync(file(tid), '') };
}

const ms = (window: { onCpuNs: number; runDelayNs: number; longestWaitNs: number }) => ({ onCpu: window.onCpuNs / 1e6, runDelay: window.runDelayNs / 1e6, longestWait: window.longestWaitNs / 1e6 });

t.test('parseSchedstat: three counters, or nothing', async (t) => {
  t.strictSame(parseSchedstat('123 45 6\n'), { onCpuNs: 123, runDelayNs: 45, slices: 6 });
  t.equal(parseSchedstat(''), undefined);
  t.equal(parseSchedstat('1 2'), undefined);
  t.equal(parseSchedstat('1 x 3'), undefined);
});

t.test('one wait ending in a sample is its step; several share theirs, the mean standing for the longest', async (t) => {
  const { proc, set } = fakeProc([101]);
  const sampler = new SchedstatSampler(PID, [101], proc);
  set(101, 5, 0, 0);
  sampler.sample();
  set(101, 8, 12, 1); // a 12 ms wait, then 3 ms on the CPU
  sampler.sample();
  set(101, 10, 18, 4); // three waits, 6 ms together
  sampler.sample();
  const [window] = sampler.take();
  t.strictSame({ ...ms(window!), slices: window!.slices, exited: window!.exited }, { onCpu: 10, runDelay: 18, longestWait: 12, slices: 4, exited: false });
  t.notOk(sampler.exited);

  set(101, 11, 20, 5);
  sampler.sample();
  const [next] = sampler.take();
  t.strictSame(ms(next!), { onCpu: 1, runDelay: 2, longestWait: 2 }, 'take() started a new window');
  sampler.close();
});

t.test('a thread that exits mid-interval keeps what it did before, and is marked exited', async (t) => {
  const { proc, set, exit } = fakeProc([101, 102]);
  const sampler = new SchedstatSampler(PID, [101, 102], proc);
  set(101, 4, 1, 1);
  set(102, 4, 2, 1);
  sampler.sample();
  exit(102);
  set(101, 9, 1, 1);
  sampler.sample();
  t.ok(sampler.exited, 'a watched thread is gone');
  const [alive, gone] = sampler.take();
  t.strictSame({ ...ms(alive!), exited: alive!.exited }, { onCpu: 9, runDelay: 1, longestWait: 1, exited: false });
  t.strictSame({ ...ms(gone!), exited: gone!.exited }, { onCpu: 4, runDelay: 2, longestWait: 2, exited: true });
  sampler.sample();
  t.match(sampler.take()[1], { onCpuNs: 0, exited: true }, 'and stays so, with nothing more');
  sampler.close();
});

t.test('counters going back: the id names another thread now; what it counts is not the watched one', async (t) => {
  const { proc, set } = fakeProc([101]);
  const sampler = new SchedstatSampler(PID, [101], proc);
  set(101, 50, 10, 4);
  sampler.sample();
  set(101, 1, 0, 1); // reused id, a young thread
  sampler.sample();
  set(101, 30, 0, 2);
  sampler.sample();
  const [window] = sampler.take();
  t.strictSame({ ...ms(window!), exited: window!.exited }, { onCpu: 50, runDelay: 10, longestWait: 2.5, exited: true });
});

t.test('a thread not there at the start is exited at once', async (t) => {
  const { proc } = fakeProc([101]);
  const sampler = new SchedstatSampler(PID, [101, 999], proc);
  t.ok(sampler.exited);
  t.match(sampler.take(), [{ tid: 101, exited: false }, { tid: 999, exited: true }]);
});

t.test('this process: readSchedstats lists its threads, the sampler sees its main thread run', async (t) => {
  const threads = readSchedstats(process.pid);
  t.ok(threads.get(process.pid)!.onCpuNs > 0, 'the main thread has run');
  t.equal(readSchedstats(2 ** 22 + 1).size, 0, 'no such process: none');
  const sampler = new SchedstatSampler(process.pid, [process.pid]);
  const until = performance.now() + 20;
  while (performance.now() < until); // 20 ms on the CPU
  sampler.sample();
  const [window] = sampler.take();
  t.ok(window!.onCpuNs >= 1e6, `on the CPU ${window!.onCpuNs / 1e6} ms`);
  sampler.close();
});
