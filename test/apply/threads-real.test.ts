// A real QEMU (TCG, 2 vCPUs, one thread each) launched by boot-vm in threads mode: each vCPU thread
// on its one CPU with SCHED_FIFO, every other thread on the emulator's CPUs and not real-time, read
// back from /proc by the test itself; `vm.mjs status --json` reports the same map; `vm.mjs stop`
// ends it, as Ctrl-C to the launcher ends a process-mode launch (a guest with no OS ignores the
// ACPI power button, so QMP `quit` does, after the timeout), and the host is put back once.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import t, { type Test } from 'tap';
import { readThreads } from '../../lib/host/threads.js';
import { writeTree } from '../fixtures/helpers.js';
import { alive, start, waitForLine, type Launcher } from '../fixtures/launch.js';
import { qemuUnavailable } from '../fixtures/qemu-run.js';

const NAME = `boot-vm-threads-${process.pid}`;
const JOURNAL = `/run/boot-vm/${NAME}.journal`;

/** Whether this machine lets a thread be SCHED_FIFO (a container may not): then the test asserts it. */
const fifoAllowed = spawnSync('chrt', ['-f', '1', 'true']).status === 0;

function profileDir(mode: 'threads' | 'process'): string {
  const scheduler = fifoAllowed ? ', scheduler: { policy: fifo, priority: 1 }' : '';
  return writeTree({
    [`${NAME}.yaml`]: ['machine: { accel: tcg }', 'cpu: { model: max, cores: 2 }', 'memory: { size: 64M }', `pinning: { vcpus: [1, 0], emulator: "0-1"${scheduler}, mode: ${mode} }`, ''].join('\n'),
  });
}

/** Runs scripts/vm.mjs without blocking: the launcher it waits for is this process's child, reaped only while the loop runs. */
const vm = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['scripts/vm.mjs', ...args], { env: { PATH: process.env.PATH } }, (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }));
  });

async function launch(t: Test, mode: 'threads' | 'process', extra: string[] = []): Promise<{ launcher: Launcher; pid: number; file: string }> {
  const file = `${profileDir(mode)}/${NAME}.yaml`;
  t.teardown(() => rmSync(JOURNAL, { force: true }));
  // detached: the launcher leads a process group, as a shell's foreground job does, so the test can Ctrl-C the group.
  const launcher = start('boot-vm.mjs', [file, ...extra], { PATH: process.env.PATH }, { detached: true });
  t.teardown(() => {
    if (launcher.child.exitCode === null) launcher.child.kill('SIGKILL');
  });
  await waitForLine(launcher, mode === 'threads' ? /start the guest: done/ : /QEMU started/);
  const pid = Number(/QEMU started \(pid (\d+)\)/.exec(launcher.stderr())![1]);
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited, as it should have
    }
  });
  return { launcher, pid, file };
}


if (!qemuUnavailable(t)) {
  if (!fifoAllowed) t.comment('chrt -f is refused on this machine: the vCPU policy is not asserted');

  t.test('each thread as pinned, read from /proc; vm status reports it; vm stop quits the guest that ignores ACPI', async (t) => {
    const { launcher, pid, file } = await launch(t, 'threads');
    const threads = readThreads(pid);
    const vcpus = threads.filter((thread) => /^CPU \d+\/TCG$/.test(thread.name));
    t.equal(vcpus.length, 2, 'two vCPU threads (MTTCG)');
    const byIndex = new Map(vcpus.map((thread) => [Number(/\d+/.exec(thread.name)![0]), thread]));
    t.strictSame(byIndex.get(0)!.allowed, [1], 'vCPU 0 on CPU 1');
    t.strictSame(byIndex.get(1)!.allowed, [0], 'vCPU 1 on CPU 0');
    for (const thread of threads.filter((thread) => !vcpus.includes(thread))) {
      t.strictSame(thread.allowed, [0, 1], `${thread.name} (${thread.tid}) on the emulator's CPUs`);
      t.not(thread.policy, 'fifo', `${thread.name} is not real-time`);
    }
    if (fifoAllowed) for (const thread of vcpus) t.match(thread, { policy: 'fifo', priority: 1 }, `${thread.name} is SCHED_FIFO 1`);

    const status = await vm('status', file, '--json');
    t.equal(status.status, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    t.match(report, { vm: NAME, state: 'running', qemu: { pid }, runState: 'running' });
    t.strictSame(
      report.threads.filter((thread: { kind: string }) => thread.kind === 'vcpu').map((thread: { index: number; tid: number; allowed: string }) => [thread.index, thread.tid, thread.allowed]),
      [...byIndex].sort(([a], [b]) => a - b).map(([index, thread]) => [index, thread.tid, String(thread.allowed[0])]),
      'status --json maps each vCPU to its thread and CPU',
    );
    t.ok(report.threads.filter((thread: { kind: string }) => thread.kind === 'emulator').every((thread: { allowed: string }) => thread.allowed === '0-1'), 'and every other thread to the emulator set');

    const stop = await vm('stop', NAME, '--timeout', '1');
    t.equal(stop.status, 0, stop.stderr);
    t.match(stop.stdout, /stopped in [\d.]+s: QEMU quit \(QMP quit\); its launcher \(pid \d+\) put the host back/);
    t.match(stop.stderr, /pressed the guest's power button \(ACPI\); waiting up to 1s/);
    const result = await launcher.done;
    t.equal(result.status, 0, result.stderr);
    t.equal(result.stderr.match(/putting the host back/g)?.length, 1, 'the launcher tore down once');
    t.notOk(existsSync(JOURNAL), 'the journal is gone');
    t.equal((await vm('status', file)).status, 1, 'status: not running');
  });

  t.test('process mode, Ctrl-C to the launcher: the power button, then quit after --stop-timeout', async (t) => {
    const { launcher } = await launch(t, 'process', ['--stop-timeout', '0.5']);
    t.match(launcher.stderr(), /QEMU started \(pid \d+\): qemu-system-x86_64$/m, 'the log names QEMU, not the chrt before it');
    process.kill(-launcher.child.pid!, 'SIGINT');
    const result = await launcher.done;
    t.equal(result.status, 0, result.stderr);
    t.match(result.stderr, /SIGINT: stopping the VM/);
    t.match(result.stderr, /pressed the guest's power button \(ACPI\); waiting up to 0\.5s for it to shut down/);
    t.match(result.stderr, /QEMU exited with status 0 \(stopped by QMP quit\); putting the host back/);
    t.notOk(existsSync(JOURNAL), 'the journal is gone');
  });

  t.test('pinning that cannot be done stops the paused QEMU and undoes the launch', async (t) => {
    // A PATH with QEMU and the shell tools but no perl, which does the pinning.
    const bin = writeTree({});
    for (const name of ['qemu-system-x86_64', 'sh', 'taskset', 'chrt', 'prlimit']) symlinkSync(`/usr/bin/${name}`, `${bin}/${name}`);
    const file = `${profileDir('threads')}/${NAME}.yaml`;
    t.teardown(() => rmSync(JOURNAL, { force: true }));
    const launcher = start('boot-vm.mjs', [file], { PATH: bin });
    const result = await launcher.done;
    t.equal(result.status, 1, result.stderr);
    t.match(result.stderr, /pin QEMU's other threads .*: failed \(perl is not installed; pinning\.mode: process needs only taskset and chrt\)/);
    t.match(result.stderr, /failed: perl is not installed; .*; QEMU was stopped, everything done before it was undone$/m);
    const pid = Number(/QEMU started \(pid (\d+)\)/.exec(result.stderr)![1]);
    t.notOk(alive(pid), 'QEMU is gone');
    t.notOk(existsSync(JOURNAL), 'the journal is gone');
  });
}
