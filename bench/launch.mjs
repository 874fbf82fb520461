#!/usr/bin/env node
// npm run bench:launch: what threads-mode pinning costs a launch. The same TCG guest (2 vCPUs,
// 64M) is launched with pinning.mode process (chrt … taskset prefix) and threads (-S, per-thread
// pinning over QMP, read back from /proc, cont), interleaved, as root on this machine's real QEMU.
// Measured: from starting boot-vm to the guest running, seen from outside QEMU: SeaBIOS's first
// byte on the debug console (isa-debugcon, written to a file), so nothing competes with boot-vm
// for QMP; and, in threads mode, boot-vm's own part (from its "QEMU started" line to its "start
// the guest: done" line, which includes QEMU's start-up to QMP). Target: threads mode not
// noticeably slower (median within 10 % or 50 ms).
// Usage: node bench/launch.mjs [--runs N]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import minimist from 'minimist';
import { median, startBootVm, stop, writeProfile } from './helpers.mjs';

const runs = Number(minimist(process.argv.slice(2), { default: { runs: 9 } }).runs);

const dir = mkdtempSync(join(tmpdir(), 'boot-vm-bench-launch-'));
const MODES = ['process', 'threads'];
for (const mode of MODES) {
  writeProfile(dir, `bench-${mode}`, [
    'machine: { accel: tcg }',
    'cpu: { model: max, cores: 2 }',
    'memory: { size: 64M }',
    // No real-time scheduler: with both of a 2-CPU machine's CPUs running SCHED_FIFO vCPUs, QEMU's
    // main loop (SCHED_OTHER in threads mode) waits for RT throttling before it answers `cont`.
    `pinning: { vcpus: [0, 1], emulator: "0-1", mode: ${mode} }`,
    `extraArgs: [-chardev, "file,id=dbg,path=${join(dir, `${mode}.debugcon`)}", -device, "isa-debugcon,iobase=0x402,chardev=dbg"]`,
  ]);
}

async function launchOnce(mode) {
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  const run = startBootVm(join(dir, `bench-${mode}.yaml`));
  const marks = {};
  run.child.stderr.on('data', () => {
    if (marks.qemu === undefined && /QEMU started/.test(run.stderr())) marks.qemu = ms();
    if (marks.pinned === undefined && /start the guest: done/.test(run.stderr())) marks.pinned = ms();
  });
  const debugcon = join(dir, `${mode}.debugcon`);
  rmSync(debugcon, { force: true });
  const size = () => {
    try {
      return statSync(debugcon).size;
    } catch {
      return 0;
    }
  };
  // A 1 ms poll: the figure is the time the guest's first instruction writes, to about a millisecond.
  while (size() === 0) {
    if (run.child.exitCode !== null) throw new Error(`boot-vm (${mode}) exited ${run.child.exitCode}:\n${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const running = ms();
  await stop(run, `boot-vm (${mode})`);
  return { running, pinning: marks.pinned === undefined ? undefined : marks.pinned - marks.qemu };
}

try {
  for (const mode of MODES) await launchOnce(mode); // warm caches: QEMU's version, the page cache
  const results = Object.fromEntries(MODES.map((mode) => [mode, []]));
  for (let i = 0; i < runs; i++) for (const mode of MODES) results[mode].push(await launchOnce(mode));
  const process_ = median(results.process.map((r) => r.running));
  const threads = median(results.threads.map((r) => r.running));
  const pinning = median(results.threads.map((r) => r.pinning));
  console.log(`${runs} launches each (TCG, 2 vCPUs, 64M), median wall time from starting boot-vm to the guest running:`);
  console.log(`  pinning.mode: process   ${process_.toFixed(1).padStart(7)} ms`);
  console.log(`  pinning.mode: threads   ${threads.toFixed(1).padStart(7)} ms  (${(threads - process_ >= 0 ? '+' : '') + (threads - process_).toFixed(1)} ms)`);
  console.log(`  … of which QEMU's start-up to QMP, pinning, reading back and cont: ${pinning.toFixed(1)} ms`);
  const ok = threads <= Math.max(process_ * 1.1, process_ + 50);
  console.log(ok ? 'ok: threads mode is not noticeably slower' : 'NOT OK: threads mode is noticeably slower');
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
