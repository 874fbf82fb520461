// lib/inspect/vcpu-stats.ts and render-vcpu-stats.ts: rates from two snapshots, 32-bit interrupt
// counters that wrap, threads that come, go or reuse an id, the warnings' thresholds, the output.
import t from 'tap';
import type { InterruptCounts } from '../../lib/host/interrupts.js';
import type { Schedstat } from '../../lib/host/schedstat.js';
import type { ThreadState } from '../../lib/host/threads.js';
import { renderStatsJson, renderStatsText } from '../../lib/inspect/render-vcpu-stats.js';
import { interruptsBetween, intervalStats, nextSamplePeriod, runDelayBetween, warningsOf, wrappedDelta, type StatsSnapshot, type VcpuStats } from '../../lib/inspect/vcpu-stats.js';

const MS = 1e6;
const DEFAULT_RT = { runtimeUs: 950_000, periodUs: 1_000_000 };

const thread = (tid: number, allowed: number[], voluntary: number, involuntary: number, policy: ThreadState['policy'] = 'other', priority = 0): ThreadState => ({
  tid,
  name: 'CPU 0/KVM',
  allowed,
  policy,
  priority,
  nice: 0,
  cpu: allowed[0]!,
  switches: { voluntary, involuntary },
});
const schedstat = (runDelayMs: number, onCpuMs = 1): Schedstat => ({ onCpuNs: onCpuMs * MS, runDelayNs: runDelayMs * MS, slices: 1 });
const interrupts = (cpus: number[], lines: Record<string, number[]>): InterruptCounts => ({ cpus, lines: new Map(Object.entries(lines)) });

function snapshot(atMs: number, fields: Partial<StatsSnapshot> = {}): StatsSnapshot {
  return {
    atMs,
    wallMs: Date.UTC(2026, 11, 2, 15, 0, 0) + atMs,
    vcpus: [],
    emulator: new Map(),
    interrupts: undefined,
    periodMs: 5,
    runnable: [],
    samples: 0,
    scans: 0,
    cpuUsageUs: 0,
    rtLimits: DEFAULT_RT,
    ...fields,
  };
}

const window = (tid: number, onCpuMs: number, runDelayMs: number, longestWaitMs: number) => ({ tid, onCpuNs: onCpuMs * MS, runDelayNs: runDelayMs * MS, slices: 3, longestWaitNs: longestWaitMs * MS, exited: false });

t.test('rates per second from two snapshots 2 s apart', async (t) => {
  const before = snapshot(1000, {
    vcpus: [{ index: 0, thread: thread(11, [2], 100, 10), window: window(11, 0, 0, 0) }],
    emulator: new Map([
      [20, schedstat(10)],
      [21, schedstat(4)],
    ]),
    interrupts: interrupts([0, 2], { LOC: [5, 4294967290], '137': [0, 100] }),
    cpuUsageUs: 1_000_000,
  });
  const after = snapshot(3000, {
    vcpus: [{ index: 0, thread: thread(11, [2], 150, 12, 'fifo', 5), window: window(11, 1900, 100, 50) }],
    // 20 waited 6 ms more, 21 exited (its last part is lost), 22 came and waited 2 ms.
    emulator: new Map([
      [20, schedstat(16)],
      [22, schedstat(2)],
    ]),
    interrupts: interrupts([0, 2], { LOC: [9, 10], '137': [0, 200] }),
    runnable: [
      { pid: 500, tid: 500, name: 'sh', cpu: 2 },
      { pid: 500, tid: 500, name: 'sh', cpu: 2 },
      { pid: 600, tid: 601, name: 'kworker/2:1', cpu: 2 },
      { pid: 700, tid: 700, name: 'far', cpu: 0 },
    ],
    samples: 400,
    scans: 4,
    cpuUsageUs: 1_020_000,
  });
  const stats = intervalStats('gaming', before, after);
  t.strictSame(stats.vcpus, [
    { index: 0, tid: 11, cpu: 2, allowed: [2], policy: 'fifo', priority: 5, nice: 0, onCpuMsPerS: 950, runDelayMsPerS: 50, longestWaitMs: 50, voluntarySwitchesPerS: 25, involuntarySwitchesPerS: 1 },
  ]);
  t.strictSame(stats.emulator, { threads: 2, runDelayMsPerS: 4 });
  t.strictSame(stats.cpus, [
    {
      cpu: 2,
      interruptsPerS: 58, // LOC wrapped: 16, and 100 on 137, over 2 s
      runnable: [
        { pid: 500, tid: 500, name: 'sh' },
        { pid: 600, tid: 601, name: 'kworker/2:1' },
      ],
    },
  ], "only the vCPUs' CPUs, each task once");
  t.strictSame(stats.sampling, { periodMs: 5, samples: 400, scans: 4, cpuPercent: 1 });
  t.match(stats, { vm: 'gaming', time: '2026-12-02T15:00:03.000Z', seconds: 2 });
  t.equal(stats.warnings.length, 2, 'RT-throttled and not alone');
});

t.test('counter wrap: /proc/interrupts counts in 32 bits', async (t) => {
  t.equal(wrappedDelta(10, 25), 15);
  t.equal(wrappedDelta(4294967295, 0), 1);
  t.equal(wrappedDelta(4294967000, 700), 996);
  const perCpu = interruptsBetween(interrupts([0, 1], { LOC: [4294967295, 7], RES: [1, 1] }), interrupts([0, 1, 2], { LOC: [3, 9], RES: [2, 1], NEW: [50, 50, 50] }));
  t.strictSame([...perCpu], [
    [0, 5],
    [1, 2],
  ], 'a line or a CPU with no count before is not counted');
});

t.test('run delay of threads that come, go or reuse an id', async (t) => {
  const before = new Map([
    [1, schedstat(10, 100)],
    [2, schedstat(20, 100)],
  ]);
  t.equal(runDelayBetween(before, new Map([[1, schedstat(13, 120)]])) / MS, 3, 'a gone thread adds nothing');
  t.equal(runDelayBetween(before, new Map([[3, schedstat(4)]])) / MS, 4, 'a new thread counts whole');
  t.equal(runDelayBetween(before, new Map([[2, schedstat(5, 2)]])) / MS, 5, 'counters back: a new thread under the old id');
});

const vcpu = (fields: Partial<VcpuStats>): VcpuStats => ({
  index: 0,
  tid: 11,
  cpu: 2,
  allowed: [2],
  policy: 'fifo',
  priority: 1,
  nice: 0,
  onCpuMsPerS: 500,
  runDelayMsPerS: 0,
  longestWaitMs: 0,
  voluntarySwitchesPerS: 0,
  involuntarySwitchesPerS: 0,
  ...fields,
});
const alone = [{ cpu: 2, interruptsPerS: 100, runnable: [] }];

t.test('RT-throttled: 95 % of the real-time budget, or one wait of half the stall, for fifo and rr only', async (t) => {
  const warn = (fields: Partial<VcpuStats>, limits: typeof DEFAULT_RT | undefined = DEFAULT_RT) => warningsOf({ vcpus: [vcpu(fields)], cpus: alone }, limits);
  t.match(warn({ onCpuMsPerS: 902.5 }), [/^vCPU 0 \(fifo 1\) RT-throttled: on its CPU 903 ms\/s of the 950 real-time tasks get; kernel\.sched_rt_runtime_us is 950000 of 1000000 µs/]);
  t.strictSame(warn({ onCpuMsPerS: 902 }), [], 'under 95 % of 950 ms');
  t.match(warn({ longestWaitMs: 25 }), [/RT-throttled: waited 25\.0 ms at once \(throttling stalls 50 ms\)/]);
  t.strictSame(warn({ longestWaitMs: 24.9 }), [], 'under half of the 50 ms stall');
  t.match(warn({ policy: 'rr', onCpuMsPerS: 950, longestWaitMs: 50 }), [/\(rr 1\) RT-throttled: on its CPU 950 ms\/s .*, waited 50\.0 ms at once/]);
  t.strictSame(warn({ policy: 'other', priority: 0, onCpuMsPerS: 1000, longestWaitMs: 60 }), [], 'not real-time: not throttled');
  t.strictSame(warn({ onCpuMsPerS: 1000, longestWaitMs: 60 }, { runtimeUs: -1, periodUs: 1_000_000 }), [], 'throttling off (-1)');
  t.strictSame(warningsOf({ vcpus: [vcpu({ onCpuMsPerS: 1000 })], cpus: alone }, undefined), [], 'limits unknown');
  t.match(warn({ onCpuMsPerS: 500 * 0.95 }, { runtimeUs: 500_000, periodUs: 1_000_000 }), [/of the 500 real-time tasks get.*500000 of 1000000/], 'another budget');
});

t.test('not alone: the tasks found runnable on a CPU the vCPU may run on', async (t) => {
  const cpus = [
    { cpu: 2, interruptsPerS: 10, runnable: [{ pid: 500, tid: 500, name: 'sh' }] },
    { cpu: 3, interruptsPerS: 10, runnable: [{ pid: 600, tid: 601, name: 'kworker/3:1' }] },
  ];
  t.strictSame(warningsOf({ vcpus: [vcpu({ policy: 'other' }), vcpu({ index: 1, allowed: [3], policy: 'other' }), vcpu({ index: 2, allowed: [4], policy: 'other' })], cpus }, DEFAULT_RT), [
    'vCPU 0 not alone on CPU 2: sh (pid 500) found runnable there',
    'vCPU 1 not alone on CPU 3: kworker/3:1 (pid 600, thread 601) found runnable there',
  ]);
  t.strictSame(warningsOf({ vcpus: [vcpu({ allowed: [2, 3], policy: 'other' })], cpus }, DEFAULT_RT), ['vCPU 0 not alone on CPU 2, 3: sh (pid 500), kworker/3:1 (pid 600, thread 601) found runnable there']);
});

t.test('nextSamplePeriod: stretches when an interval cost over 1 % of a CPU, back to the shortest when less', async (t) => {
  t.equal(nextSamplePeriod(5, 0.4, 5), 5);
  t.equal(nextSamplePeriod(5, 3, 5), 15);
  t.equal(nextSamplePeriod(10, 8, 5), 50, 'at most 50 ms');
  t.equal(nextSamplePeriod(25, 0.4, 5), 10);
});

t.test('the text block and the JSON line', async (t) => {
  const stats = intervalStats(
    'gaming',
    snapshot(0, { vcpus: [{ index: 0, thread: thread(11, [2], 0, 0, 'fifo', 1), window: window(11, 0, 0, 0) }], interrupts: interrupts([2], { LOC: [0] }) }),
    snapshot(1000, {
      vcpus: [{ index: 0, thread: thread(11, [2], 3, 7, 'fifo', 1), window: window(11, 950, 50, 50) }],
      interrupts: interrupts([2], { LOC: [250] }),
      runnable: [{ pid: 500, tid: 500, name: 'sh', cpu: 2 }],
      samples: 200,
      scans: 2,
      cpuUsageUs: 6000,
    }),
  );
  t.equal(
    renderStatsText(stats),
    [
      'gaming at 15:00:01 UTC, 1.00 s: 200 samples every 5 ms, 2 scans for other tasks, 0.60 % of a CPU',
      '  vCPU  tid  on-CPU ms/s  run delay ms/s  longest wait ms  vol. sw/s  invol. sw/s  CPU  allowed  policy',
      '     0   11        950.0            50.0             50.0          3            7    2        2  fifo 1',
      '  emulator: 0 threads, run delay 0.0 ms/s together',
      '  CPU  irq/s  other tasks runnable',
      '    2    250  sh (500)',
      'warning: vCPU 0 (fifo 1) RT-throttled: on its CPU 950 ms/s of the 950 real-time tasks get, waited 50.0 ms at once (throttling stalls 50 ms); kernel.sched_rt_runtime_us is 950000 of 1000000 µs (-1 lifts the limit)',
      'warning: vCPU 0 not alone on CPU 2: sh (pid 500) found runnable there',
      '',
    ].join('\n'),
  );
  const json = renderStatsJson(stats);
  t.equal(json.split('\n').length, 2, 'one line');
  t.strictSame(JSON.parse(json), stats);
});
