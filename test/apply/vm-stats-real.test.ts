// `vm.mjs stats` on a real QEMU (TCG) launched by boot-vm, its one vCPU pinned to CPU 1 and kept
// busy by a boot sector that spins: the fields are there and add up (a vCPU that never sleeps is on
// its CPU or waiting for it), the sampling costs under 2 % of a CPU, a busy loop pinned to CPU 1
// makes it "not alone", and as SCHED_FIFO it is RT-throttled (50 ms of each second by default).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import t, { type Test } from 'tap';
import { isThrottling, readRtLimits } from '../../lib/host/rt-throttling.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import type { IntervalStats } from '../../lib/inspect/vcpu-stats.js';
import { writeTree } from '../fixtures/helpers.js';
import { start, waitForLine } from '../fixtures/launch.js';
import { qemuUnavailable } from '../fixtures/qemu-run.js';
import { writeSpinDisk } from '../fixtures/spin-disk.mjs';

const NAME = `boot-vm-stats-${process.pid}`;
const fifoAllowed = spawnSync('chrt', ['-f', '1', 'true']).status === 0;
const limits = readRtLimits(new Sysroot('/'));
const fifoSkip = !fifoAllowed ? 'chrt -f is refused on this machine' : !limits || !isThrottling(limits) ? `the kernel does not throttle real-time tasks here (kernel.sched_rt_runtime_us ${limits?.runtimeUs})` : false;

const vm = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['scripts/vm.mjs', ...args], { env: { PATH: process.env.PATH } }, (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }));
  });

/** Launches the spinning guest (one launch per test) and stops it when the test ends. */
async function launchSpinner(t: Test, scheduler = ''): Promise<string> {
  const dir = writeTree({});
  const disk = writeSpinDisk(`${dir}/spin.img`);
  const file = `${dir}/${NAME}.yaml`;
  writeFileSync(file, ['machine: { accel: tcg }', 'cpu: { model: max, cores: 1 }', 'memory: { size: 64M }', `disks: [{ path: ${disk}, bus: sata }]`, `pinning: { vcpus: [1], emulator: [0]${scheduler} }`, 'host: { irqAffinity: false }', ''].join('\n'));
  const launcher = start('boot-vm.mjs', [file, '--stop-timeout', '0'], { PATH: process.env.PATH });
  t.teardown(async () => {
    if (launcher.child.exitCode === null) await vm('stop', file, '--timeout', '0');
    await launcher.done;
  });
  await waitForLine(launcher, /start the guest: done/);
  return file;
}

const statsOf = (stdout: string): IntervalStats[] => stdout.trim().split('\n').map((line) => JSON.parse(line));

if (cpus().length < 2) t.plan(0, 'needs 2 CPUs: the vCPU on CPU 1, the emulator on CPU 0');
else if (!qemuUnavailable(t)) {
  t.test('a busy vCPU: the fields add up, the sampling is cheap; a busy loop on its CPU makes it not alone', async (t) => {
    const file = await launchSpinner(t);
    const run = await vm('stats', file, '--json', '--interval', '1', '--count', '4');
    t.equal(run.status, 0, run.stderr);
    const intervals = statsOf(run.stdout);
    t.equal(intervals.length, 4);
    for (const interval of intervals) {
      const [vcpu, ...more] = interval.vcpus;
      t.equal(more.length, 0, 'one vCPU');
      t.match(vcpu, { index: 0, cpu: 1, allowed: [1], policy: 'other', priority: 0, nice: -20, voluntarySwitchesPerS: Number, involuntarySwitchesPerS: Number });
      const busy = vcpu!.onCpuMsPerS + vcpu!.runDelayMsPerS;
      // A wait is counted whole in the interval it ends in, and on-CPU time is brought up to date at each tick: a few ms either way.
      t.ok(busy <= 1000 + 30, `on its CPU ${vcpu!.onCpuMsPerS} + waiting ${vcpu!.runDelayMsPerS} ms/s: no more than a second each second`);
      t.ok(busy >= 900, `${busy} ms/s: a vCPU that never sleeps is on its CPU or waiting for it`);
      t.ok(vcpu!.longestWaitMs >= 0 && vcpu!.longestWaitMs <= vcpu!.runDelayMsPerS * interval.seconds + 0.01, `longest wait ${vcpu!.longestWaitMs} ms, within the run delay`);
      t.match(interval.emulator, { threads: Number, runDelayMsPerS: Number });
      t.ok(interval.emulator.threads >= 1, "QEMU's main thread at least");
      t.match(interval.cpus, [{ cpu: 1, interruptsPerS: Number, runnable: Array }]);
      t.ok(interval.cpus[0]!.interruptsPerS! > 0, 'the local timer ticks on a busy CPU');
      t.notMatch(interval.warnings.join('\n'), /RT-throttled/, 'not real-time: never throttled');
    }
    // The first interval pays for the JIT and starts at the shortest period; the period then settles.
    const cost = intervals.slice(1).map((interval) => interval.sampling.cpuPercent);
    t.ok(cost.reduce((a, b) => a + b) / cost.length < 2, `sampling cost ${cost.join(', ')} % of a CPU (periods ${intervals.map((interval) => interval.sampling.periodMs).join(', ')} ms)`);

    const loop = spawn('taskset', ['-c', '1', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
    t.teardown(() => loop.kill('SIGKILL'));
    const crowded = await vm('stats', file, '--json', '--interval', '0.5', '--count', '2');
    loop.kill('SIGKILL');
    t.equal(crowded.status, 0, crowded.stderr);
    const warnings = statsOf(crowded.stdout).flatMap((interval) => interval.warnings);
    t.ok(warnings.some((warning) => warning.startsWith('vCPU 0 not alone on CPU 1: ') && warning.includes(`sh (pid ${loop.pid})`)), `the busy loop (pid ${loop.pid}) is named: ${warnings.join(' / ')}`);
  });

  t.test('a busy SCHED_FIFO vCPU is RT-throttled', { skip: fifoSkip }, async (t) => {
    const file = await launchSpinner(t, ', scheduler: { policy: fifo, priority: 1 }');
    const run = await vm('stats', file, '--json', '--interval', '1', '--count', '2');
    t.equal(run.status, 0, run.stderr);
    const intervals = statsOf(run.stdout);
    for (const interval of intervals) t.match(interval.vcpus, [{ policy: 'fifo', priority: 1 }]);
    const warnings = intervals.flatMap((interval) => interval.warnings);
    t.ok(warnings.some((warning) => /^vCPU 0 \(fifo 1\) RT-throttled: /.test(warning)), `warned: ${warnings.join(' / ')}`);
  });
}
