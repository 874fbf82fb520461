// The fake QEMU of the launch tests speaks QMP as QEMU does, through lib/apply/qmp.ts: its vCPU and
// IO threads are real threads of its process, named as debug-threads=on names them; -S holds it in
// prelaunch until cont; it serves one client at a time; quit and a guest obeying system_powerdown
// end it, and it removes its socket and pidfile as it goes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { QmpClient, QmpCommandError } from '../../lib/apply/qmp.js';
import { FAKE_QEMU } from '../fixtures/launch.js';
import { rejection } from '../fixtures/trees.js';

const QMP = '/run/boot-vm/vm.qmp';

/** Starts the fake QEMU over a fresh sysroot with `args` and its QMP socket at QMP; connects to it. */
async function startFake(t: Test, args: string[], env: NodeJS.ProcessEnv = {}) {
  const root = mkdtempSync(join(tmpdir(), 'boot-vm-fake-qemu-'));
  const child = spawn(process.execPath, [FAKE_QEMU, ...args, '-pidfile', '/run/boot-vm/vm.pid', '-chardev', `socket,id=qmp,path=${QMP},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control'], {
    env: { PATH: process.env.PATH, FAKE_QEMU_SYSROOT: root, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  const path = join(root, QMP);
  const qmp = await QmpClient.connect(path, { timeoutMs: 20_000, isAlive: () => child.exitCode === null });
  t.teardown(() => qmp.close());
  return { root, child, exited, path, qmp };
}

const comm = (pid: number, tid: number) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trimEnd();

t.test('-smp 2 -S: real vCPU and IO threads, prelaunch until cont, one client at a time, quit removes the socket', async (t) => {
  const { root, child, exited, path, qmp } = await startFake(t, ['-smp', '2,sockets=1,cores=2,threads=1', '-S', '-object', 'iothread,id=iothread0']);
  const pid = child.pid!;
  t.equal(readFileSync(join(root, 'run/boot-vm/vm.pid'), 'utf8'), `${pid}\n`);
  t.same(qmp.greeting.QMP.version.qemu, { major: 7, minor: 2, micro: 0 });

  const cpus = await qmp.execute<{ 'cpu-index': number; 'thread-id': number; 'qom-path': string; target: string }[]>('query-cpus-fast');
  t.same(
    cpus.map(({ 'thread-id': _, ...rest }) => rest),
    [0, 1].map((n) => ({ 'cpu-index': n, 'qom-path': `/machine/unattached/device[${n}]`, target: 'x86_64' })),
  );
  const tids = cpus.map((cpu) => cpu['thread-id']);
  t.equal(new Set([pid, ...tids]).size, 3, 'two threads of their own');
  t.same(
    tids.map((tid) => comm(pid, tid)),
    ['CPU 0/TCG', 'CPU 1/TCG'],
    'threads of the fake, named as QEMU names them',
  );
  const [iothread] = await qmp.execute<{ id: string; 'thread-id': number }[]>('query-iothreads');
  t.same(iothread, { id: 'iothread0', 'thread-id': iothread!['thread-id'], 'poll-max-ns': 32768, 'poll-grow': 0, 'poll-shrink': 0, 'aio-max-batch': 0 });
  t.equal(comm(pid, iothread!['thread-id']), 'iothread0');

  t.same(await qmp.execute('query-status'), { status: 'prelaunch', singlestep: false, running: false });
  t.same(await qmp.execute('cont'), {});
  t.equal((await qmp.waitForEvent('RESUME', { timeoutMs: 1000 })).event, 'RESUME');
  t.same(await qmp.execute('query-status'), { status: 'running', singlestep: false, running: true });
  await qmp.execute('stop');
  t.match(await qmp.execute('query-status'), { status: 'paused', running: false });
  const error = (await rejection(qmp.execute('device_add'))) as QmpCommandError;
  t.equal(error.errorClass, 'CommandNotFound');
  t.equal(error.desc, 'The command device_add has not been found');

  let greeted = false;
  const second = QmpClient.connect(path, { timeoutMs: 5000 }).then((client) => ((greeted = true), client));
  await t.rejects(QmpClient.connect(path, { timeoutMs: 150 }), { message: /greeting .*is another one connected\?/ }, 'a third client waits too');
  t.notOk(greeted, 'the second client waits while the first is connected');
  await qmp.close();
  const next = await second;
  t.teardown(() => next.close());
  t.same(await next.execute('query-status'), { status: 'paused', singlestep: false, running: false }, 'then it is served, and sees the same VM');

  t.same(await next.execute('quit'), {});
  t.match(await next.waitForEvent('SHUTDOWN', { timeoutMs: 2000 }), { data: { guest: false, reason: 'host-qmp-quit' } });
  t.equal(await exited, 0, 'quit exits 0');
  t.notOk(existsSync(path), 'the socket is removed');
  t.notOk(existsSync(join(root, 'run/boot-vm/vm.pid')), 'so is the pidfile');
});

// Two fakes started together, to keep the test quick: one whose guest ignores ACPI, one whose guest obeys.
t.test('system_powerdown: the guest shuts down (SHUTDOWN, exit 0), unless FAKE_QEMU_IGNORE_ACPI=1; -smp cpus=N without -S', async (t) => {
  const [ignoring, obeying] = await Promise.all([startFake(t, ['-smp', 'cpus=3,sockets=1'], { FAKE_QEMU_IGNORE_ACPI: '1' }), startFake(t, [])]);
  t.equal((await ignoring.qmp.execute<unknown[]>('query-cpus-fast')).length, 3);
  t.same(await ignoring.qmp.execute('query-iothreads'), []);
  t.match(await ignoring.qmp.execute('query-status'), { status: 'running' }, 'running at once without -S');
  await Promise.all([ignoring.qmp.execute('system_powerdown'), obeying.qmp.execute('system_powerdown')]);
  await ignoring.qmp.waitForEvent('POWERDOWN', { timeoutMs: 1000 });
  await obeying.qmp.waitForEvent('POWERDOWN', { timeoutMs: 1000 });
  t.match(await obeying.qmp.waitForEvent('SHUTDOWN', { timeoutMs: 2000 }), { data: { guest: true, reason: 'guest-shutdown' } });
  t.equal(await obeying.exited, 0, 'the obeying guest shut down');
  t.notOk(existsSync(obeying.path), 'its socket is removed');
  t.match(await ignoring.qmp.execute('query-status'), { status: 'running' }, 'the other guest ignored it');
  t.equal(ignoring.child.exitCode, null);
  ignoring.child.kill('SIGTERM');
  t.equal(await ignoring.exited, 0, 'SIGTERM still ends it cleanly');
  t.notOk(existsSync(ignoring.path), 'and removes the socket');
});
