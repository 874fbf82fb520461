// What boot-vm adds to a launch: from spawning `boot-vm.mjs profile` to the guest's vCPU thread
// having run a few ms, against spawning the bare QEMU command (the plan's argv without -S, as
// nobody sends `cont`; no host steps), interleaved.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { BOOT_VM, median, start, startBootVm, stop } from '../helpers.mjs';
import { waitForGuest } from './guest.mjs';

/** The vCPU thread's CPU time that says the guest runs: more than its start-up, a fraction of SeaBIOS. */
const RUNNING_MS = 5;

/** The argv boot-vm would run for `profile`, as its dry-run prints it. */
export function planArgv(profile) {
  const result = spawnSync(process.execPath, [BOOT_VM, profile, '--dry-run', '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`boot-vm ${profile} --dry-run exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout).argv;
}

/** Milliseconds from spawning `argv` to the guest running; then stops it. */
async function timeOnce(launch, { pidfile, signal }) {
  rmSync(pidfile, { force: true });
  const started = process.hrtime.bigint();
  const run = launch();
  try {
    await waitForGuest({ pidfile, onCpuMs: RUNNING_MS, signal, failure: () => (run.child.exitCode !== null ? `it exited ${run.child.exitCode}:\n${run.stderr()}` : undefined) });
    return Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    await stop(run, 'the launch');
  }
}

/** Milliseconds from spawning `node -e 0` to its exit: Node's own start-up, which boot-vm's time includes. */
async function nodeStartup(wrap) {
  const started = process.hrtime.bigint();
  const status = await start([process.execPath, '-e', '0'], { wrap }).exited;
  if (status !== 0) throw new Error(`node -e 0 exited ${status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * Medians over `runs` interleaved launches each (after one warm-up each: page cache, boot-vm's
 * QEMU version cache) of boot-vm and of the bare QEMU command, both started through `wrap`; and
 * of `node -e 0`, for scale.
 */
export async function measureLaunchOverhead({ profile, pidfile, runs, wrap, signal, progress }) {
  const argv = planArgv(profile).filter((word) => word !== '-S');
  // detached: a Ctrl-C on the bench's terminal reaches the bench, which stops them in order.
  const launches = {
    bare: () => start(argv, { wrap, detached: true }),
    bootVm: () => startBootVm(profile, { wrap, detached: true }),
  };
  const times = { bare: [], bootVm: [], node: [] };
  for (let i = 0; i <= runs; i++) {
    for (const [name, launch] of Object.entries(launches)) {
      const ms = await timeOnce(launch, { pidfile, signal });
      if (i > 0) times[name].push(ms);
      progress(`launch ${i === 0 ? 'warm-up' : `${i}/${runs}`} ${name}: ${ms.toFixed(0)} ms`);
    }
    if (i > 0) times.node.push(await nodeStartup(wrap));
  }
  return { bare: median(times.bare), bootVm: median(times.bootVm), node: median(times.node), runs, runningMs: RUNNING_MS };
}
