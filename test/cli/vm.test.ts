// scripts/vm.mjs against launches on a copy of the blog's fake host, with the fake QEMU (which
// serves QMP with real threads): status while it runs, stop by each of its three steps (the guest
// shuts down, QMP quit, SIGKILL), stop after the launcher died, list, and bad input.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { alive, changes, copyHost, FAKE_QEMU, snapshot, start, waitForLine } from '../fixtures/launch.js';

t.setTimeout(120_000);

const RUNNING = /running: send the passed devices' IRQs .*: done/;

function launch(root: string, env: NodeJS.ProcessEnv = {}) {
  const record = `${root}.record.json`;
  const launcher = start('boot-vm.mjs', ['mediapc', '--sysroot', root, '--qemu-binary', FAKE_QEMU, '--qemu-version', '7.2'], { FAKE_QEMU_SYSROOT: root, FAKE_QEMU_RECORD: record, ...env });
  return { launcher, qemuPid: () => (JSON.parse(readFileSync(record, 'utf8')) as { pid: number }).pid };
}

/** vm.mjs, run without blocking this process: the launcher it waits for is this process's child. */
function vm(args: string[], onStart?: (child: ReturnType<typeof execFile>) => void) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['scripts/vm.mjs', ...args], { env: { PATH: process.env.PATH } }, (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }));
    onStart?.(child);
  });
}

t.test('status while mediapc runs, then stop: the guest shuts down on the power button; the launcher puts the host back once', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher, qemuPid } = launch(root);
  await waitForLine(launcher, RUNNING);
  const status = await vm(['status', 'profiles/mediapc.yaml', '--sysroot', root, '--json']);
  t.equal(status.status, 0, status.stderr);
  const report = JSON.parse(status.stdout);
  t.match(report, { vm: 'mediapc', state: 'running', qemu: { pid: qemuPid() }, launcher: { pid: launcher.child.pid }, runState: 'running' });
  t.strictSame(
    report.threads.filter((thread: { kind: string }) => thread.kind === 'vcpu').map((thread: { index: number; name: string }) => [thread.index, thread.name]),
    [
      [0, 'CPU 0/TCG'],
      [1, 'CPU 1/TCG'],
    ],
    'the vCPU threads, by the ids QMP gives',
  );
  t.ok(report.threads.some((thread: { kind: string; tid: number }) => thread.kind === 'emulator' && thread.tid === qemuPid()), 'the main thread is the emulator’s');
  // The fake kernel does not bind: each device keeps the driver link its tree has.
  t.strictSame(
    report.devices,
    [
      { address: '0000:01:00.0', driver: 'vfio-pci' },
      { address: '0000:01:00.1', driver: 'vfio-pci' },
      { address: '0000:00:1a.0', driver: 'ehci-pci' },
      { address: '0000:00:1d.0', driver: 'ehci-pci' },
      { address: '0000:00:14.0', driver: 'xhci_hcd' },
    ],
    'every passed device with its driver',
  );
  t.match(report.hugepages, [{ pageSize: '2048kB', total: 4096, addedByVm: 4096 }]);
  const text = await vm(['status', 'mediapc', '--sysroot', root]);
  t.match(text.stdout, /^mediapc: running\nQEMU: pid \d+, up \d+s; launcher: pid \d+\nguest: running\nthreads:\n  kind +tid +CPUs +policy +last CPU +name\n  vCPU 0 /);
  t.match(text.stdout, /huge pages 2048kB: \d+ of 4096 in use; 4096 reserved for this run/);

  const list = await vm(['list', '--sysroot', root, '--json']);
  t.match(JSON.parse(list.stdout), [{ vm: 'desktop-4790k', state: 'stopped' }, { vm: 'gaming-9900k' }, { vm: 'mediapc', state: 'running', qemuPid: qemuPid() }]);

  const stop = await vm(['stop', 'mediapc', '--sysroot', root]);
  t.equal(stop.status, 0, stop.stderr);
  t.match(stop.stdout, /^mediapc stopped in [\d.]+s: the guest shut down after the ACPI power button; its launcher \(pid \d+\) put the host back\n$/);
  const result = await launcher.done;
  t.equal(result.status, 0);
  t.equal(result.stderr.match(/putting the host back/g)?.length, 1, 'the launcher tore down once');
  t.strictSame(changes(before, snapshot(root)), [], 'the tree is as before');
  t.equal((await vm(['status', 'mediapc', '--sysroot', root])).status, 1, 'status: not running is exit 1');
});

t.test('a guest that ignores ACPI: quit after --timeout; a hung QEMU: SIGKILL after a Ctrl-C to stop', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const { launcher } = launch(root, { FAKE_QEMU_IGNORE_ACPI: '1' });
  await waitForLine(launcher, RUNNING);
  const stop = await vm(['stop', 'mediapc', '--sysroot', root, '--timeout', '0.3', '--json']);
  t.equal(stop.status, 0, stop.stderr);
  t.match(JSON.parse(stop.stdout), { vm: 'mediapc', outcome: 'quit' });
  t.match(stop.stderr, /"QEMU \(pid \d+\) has not exited after 0.3s"/);
  t.equal((await launcher.done).status, 0);

  const hung = launch(root, { FAKE_QEMU_HANG: '1' });
  await waitForLine(hung.launcher, RUNNING);
  const killed = await vm(['stop', 'mediapc', '--sysroot', root, '--timeout', '0.2'], (child) => {
    let said = '';
    const onData = (chunk: string) => {
      said += chunk;
      if (!/asked QEMU to quit; waiting up to 30s/.test(said)) return;
      child.stderr!.off('data', onData);
      child.kill('SIGINT');
    };
    child.stderr!.on('data', onData);
  });
  t.equal(killed.status, 0, killed.stderr);
  t.match(killed.stdout, /stopped in [\d.]+s: QEMU was killed \(SIGKILL\)/);
  t.notOk(alive(hung.qemuPid()), 'QEMU is gone');
  const result = await hung.launcher.done;
  t.match(result.stderr, /QEMU exited with status 137; putting the host back/);
});

t.test('stop after the launcher was killed: stop puts the host back itself', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher, qemuPid } = launch(root);
  await waitForLine(launcher, RUNNING);
  launcher.child.kill('SIGKILL');
  await launcher.done;
  t.ok(alive(qemuPid()), 'QEMU outlives its launcher');
  const stop = await vm(['stop', 'mediapc', '--sysroot', root]);
  t.equal(stop.status, 0, stop.stderr);
  t.match(stop.stdout, /the guest shut down after the ACPI power button; the host is back as it was \(\d+ changes undone\)/);
  t.strictSame(changes(before, snapshot(root)).filter((line) => !line.startsWith('-/run') && !/^\+\/run\/boot-vm(\/|:|$)/.test(line)), [], 'the tree is as before');
  const again = await vm(['stop', 'mediapc', '--sysroot', root]);
  t.match(again.stdout, /^mediapc was not running; nothing to put back\n$/, 'a second stop has nothing to do');
});

t.test('stats while mediapc runs: a JSON line or a text block per interval; QEMU exiting ends it with a line and exit 1', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const { launcher, qemuPid } = launch(root);
  await waitForLine(launcher, RUNNING);
  const json = await vm(['stats', 'mediapc', '--sysroot', root, '--json', '--interval', '0.2', '--count', '2']);
  t.equal(json.status, 0, json.stderr);
  const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.equal(lines.length, 2, 'one object per interval');
  for (const line of lines) {
    t.match(line, { vm: 'mediapc', seconds: Number, emulator: { threads: Number, runDelayMsPerS: Number }, sampling: { periodMs: Number, samples: Number }, warnings: Array });
    t.strictSame(line.vcpus.map((vcpu: { index: number }) => vcpu.index), [0, 1], "the fake's two vCPU threads, by the ids QMP gives");
    for (const vcpu of line.vcpus) t.ok(vcpu.onCpuMsPerS + vcpu.runDelayMsPerS <= 1000 + 50, `vCPU ${vcpu.index}: idle worker, ${vcpu.onCpuMsPerS} + ${vcpu.runDelayMsPerS} ms/s`);
  }
  const text = await vm(['stats', 'mediapc', '--sysroot', root, '--interval', '0.1', '--count', '2']);
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /^mediapc at [\d:]+ UTC, 0\.1\d s: \d+ samples every \d+ ms, .*\n  vCPU  tid +on-CPU ms\/s  run delay ms\/s .*\n +0 +\d+ /);
  t.equal(text.stdout.match(/^mediapc at /gm)?.length, 2, 'a block per interval, no terminal codes on a pipe');
  t.notMatch(text.stdout, /\x1b/);

  // QEMU is killed once stats has printed its first interval: it is watching by then.
  const ended = await vm(['stats', 'mediapc', '--sysroot', root, '--interval', '0.2'], (child) => {
    const onData = (chunk: string) => {
      if (!chunk.includes('mediapc at ')) return;
      child.stdout!.off('data', onData);
      process.kill(qemuPid(), 'SIGKILL');
    };
    child.stdout!.on('data', onData);
  });
  t.equal(ended.status, 1);
  t.match(ended.stderr, /^mediapc: (QEMU \(pid \d+\) exited|vCPU \d's thread \d+ exited); stopped watching\n$/);
  await launcher.done;
  const stopped = await vm(['stats', 'mediapc', '--sysroot', root]);
  t.equal(stopped.status, 1);
  t.equal(stopped.stderr, 'mediapc: not running\n');
});

t.test('bad input: exit 2, one line', async (t) => {
  for (const [args, message] of [
    [['frob', 'mediapc'], /unknown verb "frob": expected status, stats, stop or list/],
    [['status'], /status which profile\?/],
    [['list', 'mediapc'], /list takes no profile/],
    [['stop', 'mediapc', '--timeout', 'soon'], /--timeout: expected a number of seconds, got "soon"/],
    [['status', 'mediapc', '--timeout', '3'], /--timeout goes with stop/],
    [['status', 'no such/vm'], /is neither a profile name/],
    [['stats', 'mediapc', '--interval', '0'], /--interval: expected at least 0\.001 seconds, got "0"/],
    [['stats', 'mediapc', '--interval', 'soon'], /--interval: expected a number of seconds, got "soon"/],
    [['stats', 'mediapc', '--count', 'abc'], /--count: expected a whole number of intervals, 1 or more, got "abc"/],
    [['stats', 'mediapc', '--count', '0'], /--count: expected a whole number of intervals, 1 or more, got "0"/],
    [['status', 'mediapc', '--count', '2'], /--count goes with stats/],
  ] as const) {
    const result = await vm([...args]);
    t.equal(result.status, 2, args.join(' '));
    t.match(result.stderr, message);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  }
  const help = await vm(['--help']);
  t.match(help.stdout, /^Usage: vm status <profile>/);
});
