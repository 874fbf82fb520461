// teardownVm on a copy of the i9-9900k fake host prepared with the gaming-9900k plan: nothing to
// undo without a journal; refuses while the recorded launcher or QEMU (real `sleep` children) is
// alive, not when they are zombies; --stop sends QEMU SIGTERM and waits; undoes everything,
// removes the journal, and is idempotent; removes a SIGKILLed QEMU's pidfile and QMP socket and
// the exited launcher's device reservations; changes that cannot be undone are counted in the error.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { Journal, JournalError } from '../../lib/apply/journal.js';
import { createLogger } from '../../lib/apply/log.js';
import { readReservations, reserveDevices } from '../../lib/apply/locks.js';
import { pollUntil } from '../../lib/apply/poll.js';
import { prepareHost } from '../../lib/apply/prepare.js';
import { refOf } from '../../lib/apply/processes.js';
import { teardownVm, type TeardownOptions } from '../../lib/apply/teardown.js';
import { BootVmError, HostStateError } from '../../lib/errors.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { hostRoot, planOn } from '../fixtures/helpers.js';
import { FAKE_QEMU, snapshot } from '../fixtures/launch.js';
import { exitedRef, zombie } from '../fixtures/processes.js';
import { rejection, tree } from '../fixtures/trees.js';

const PROFILE = 'test/fixtures/argv/gaming-9900k.yaml';
const VTCON = 'sys/class/vtconsole/vtcon1/bind';


/** A copy of the fake host, as it was before (snapshot), then prepared with prepareHost. */
async function prepared(t: Test, io: HostIo = nodeHostIo) {
  const root = tree(t, {});
  cpSync(hostRoot('i9-9900k'), root, { recursive: true, verbatimSymlinks: true });
  const original = snapshot(root);
  const sysroot = new Sysroot(root);
  const plan = planOn(PROFILE, 'i9-9900k', { sysroot });
  const lines: string[] = [];
  const options: TeardownOptions = { sysroot, io, log: createLogger({ mode: 'text', total: plan.steps.length, write: (line) => lines.push(line), isTty: false }), env: { PATH: '' }, stop: false };
  await prepareHost(plan, { ...options, io: nodeHostIo });
  lines.length = 0;
  const journalFile = join(root, 'run/boot-vm/gaming-9900k.journal');
  // The UEFI variable store prepare-host made is the guest's state: teardown keeps it.
  const vars = '/var/lib/boot-vm/nvram/gaming-9900k_VARS.fd';
  const kept = { ...original, '/var': 'dir', '/var/lib': 'dir', '/var/lib/boot-vm': 'dir', '/var/lib/boot-vm/nvram': 'dir', [vars]: original['/usr/share/edk2/x64/OVMF_VARS.4m.fd']! };
  return { root, original, kept, options, lines, journalFile, text: (path: string) => readFileSync(join(root, path), 'utf8') };
}

/** A `sleep 30` child, killed when the test ends. */
async function child(t: Test): Promise<ChildProcess> {
  const process = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void process.kill('SIGKILL'));
  await once(process, 'spawn');
  return process;
}

function record(journalFile: string, change: (journal: Journal) => void) {
  const journal = Journal.load(journalFile, nodeHostIo)!;
  change(journal);
  journal.save();
}


t.test('no journal: nothing to undo', async (t) => {
  const root = tree(t, {});
  const options: TeardownOptions = { sysroot: new Sysroot(root), io: nodeHostIo, log: createLogger({ mode: 'quiet', total: 0, write: () => {} }), env: {}, stop: false };
  t.equal(await teardownVm('gaming-9900k', options), `gaming-9900k: nothing to undo (no journal at ${root}/run/boot-vm/gaming-9900k.journal)\n`);
  t.strictSame(readdirSync(root), []);
});

t.test('teardown undoes prepare-host, removes the journal, and is idempotent', async (t) => {
  const h = await prepared(t);
  t.equal(h.text(VTCON), '0\n');
  t.equal(await teardownVm('gaming-9900k', h.options), 'gaming-9900k: the host is back as it was (9 changes undone)\n');
  t.strictSame(snapshot(h.root), h.kept, 'every file as it was, the journal and run/boot-vm gone; the UEFI variable store kept');
  t.strictSame(h.lines, [
    'boot-vm: [5/13] prepare: undo reserve-hugepages 1G: undone (16 pages given back)',
    'boot-vm: [4/13] prepare: undo bind-vfio 0000:01:00.1: undone',
    'boot-vm: [3/13] prepare: undo bind-vfio 0000:01:00.0: undone',
    'boot-vm: [2/13] prepare: undo unbind-consoles: undone',
  ]);
  t.equal(await teardownVm('gaming-9900k', h.options), `gaming-9900k: nothing to undo (no journal at ${h.journalFile})\n`);
  t.strictSame(snapshot(h.root), h.kept);
});

t.test('one change: the message says change, not changes', async (t) => {
  const h = await prepared(t);
  record(h.journalFile, (journal) => void journal.state.entries.splice(1));
  t.equal(await teardownVm('gaming-9900k', h.options), 'gaming-9900k: the host is back as it was (1 change undone)\n');
  t.equal(h.text(VTCON), '1\n');
});

t.test('refuses while the recorded launcher runs', async (t) => {
  const h = await prepared(t);
  const launcher = await child(t);
  record(h.journalFile, (journal) => (journal.state.launcher = refOf(launcher.pid!)!));
  const error = await rejection(teardownVm('gaming-9900k', { ...h.options, stop: true }));
  t.type(error, HostStateError);
  t.equal(error.message, `gaming-9900k is running under boot-vm (pid ${launcher.pid}), which puts the host back when QEMU exits; stop the VM instead`);
  t.equal(launcher.exitCode, null, 'not stopped, even with --stop');
  t.equal(launcher.signalCode, null);
  t.equal(h.text(VTCON), '0\n', 'nothing undone');
  t.equal(nodeHostIo.exists(h.journalFile), true);
});

t.test('a launcher that is gone does not block', async (t) => {
  const h = await prepared(t);
  const launcher = await child(t);
  const ref = refOf(launcher.pid!)!;
  launcher.kill('SIGKILL');
  await once(launcher, 'exit');
  record(h.journalFile, (journal) => (journal.state.launcher = ref));
  t.equal(await teardownVm('gaming-9900k', h.options), 'gaming-9900k: the host is back as it was (9 changes undone)\n');
});

t.test('a launcher or QEMU that exited but is not reaped yet (a zombie) does not block', async (t) => {
  const h = await prepared(t);
  const launcher = await zombie(t);
  const qemu = await zombie(t);
  record(h.journalFile, (journal) => {
    journal.state.launcher = launcher;
    journal.state.qemu = qemu;
  });
  t.equal(await teardownVm('gaming-9900k', h.options), 'gaming-9900k: the host is back as it was (9 changes undone)\n', 'no --stop needed');
  t.strictSame(snapshot(h.root), h.kept, 'the host as before, but for the UEFI variable store, which is kept');
});

t.test('refuses while the recorded QEMU runs, without --stop', async (t) => {
  const h = await prepared(t);
  const qemu = await child(t);
  record(h.journalFile, (journal) => (journal.state.qemu = refOf(qemu.pid!)!));
  const error = await rejection(teardownVm('gaming-9900k', h.options));
  t.type(error, HostStateError);
  t.equal(error.message, `gaming-9900k's QEMU (pid ${qemu.pid}) is still running; stop it first, or pass --stop to send it SIGTERM and wait`);
  t.equal(qemu.exitCode, null);
  t.equal(qemu.signalCode, null);
  t.equal(h.text(VTCON), '0\n');
});

t.test('--stop sends QEMU SIGTERM, waits for it, then undoes', async (t) => {
  const h = await prepared(t);
  const qemu = await child(t);
  const exited = once(qemu, 'exit');
  record(h.journalFile, (journal) => (journal.state.qemu = refOf(qemu.pid!)!));
  t.equal(await teardownVm('gaming-9900k', { ...h.options, stop: true }), 'gaming-9900k: the host is back as it was (9 changes undone)\n');
  t.strictSame(await exited, [null, 'SIGTERM']);
  t.strictSame(snapshot(h.root), h.kept);
});

const CONTROL = { pidfile: '/run/boot-vm/gaming-9900k.pid', qmp: '/run/boot-vm/gaming-9900k.qmp' };

t.test("a QEMU killed by SIGKILL: teardown removes the pidfile and QMP socket it left", async (t) => {
  const h = await prepared(t);
  const qemu = spawn(process.execPath, [FAKE_QEMU, '-pidfile', CONTROL.pidfile], { stdio: 'ignore', env: { FAKE_QEMU_SYSROOT: h.root } });
  t.teardown(() => void qemu.kill('SIGKILL'));
  const pidfile = join(h.root, CONTROL.pidfile);
  await pollUntil(() => (nodeHostIo.exists(pidfile) ? true : undefined), { what: 'the fake QEMU to write its pidfile', timeoutMs: 10_000, intervalMs: 10 });
  writeFileSync(join(h.root, CONTROL.qmp), ''); // the fake QEMU makes no QMP socket: a stand-in
  record(h.journalFile, (journal) => {
    journal.state.qemu = refOf(qemu.pid!)!;
    journal.state.control = CONTROL;
  });
  qemu.kill('SIGKILL');
  await once(qemu, 'exit');
  t.equal(nodeHostIo.exists(pidfile), true, 'SIGKILL leaves the pidfile');
  t.equal(await teardownVm('gaming-9900k', h.options), 'gaming-9900k: the host is back as it was (9 changes undone)\n');
  t.strictSame(snapshot(h.root), h.kept, 'both gone, and run/boot-vm with them');
  t.equal(h.lines.at(-1), `boot-vm: removed what the exited QEMU left: ${pidfile}, ${join(h.root, CONTROL.qmp)}`);
});

t.test('a prepare-host journal records no QEMU: a pidfile at its place is not touched', async (t) => {
  const h = await prepared(t);
  writeFileSync(join(h.root, CONTROL.pidfile), '1234\n');
  record(h.journalFile, (journal) => (journal.state.control = CONTROL));
  await teardownVm('gaming-9900k', h.options);
  t.equal(h.text(CONTROL.pidfile), '1234\n', 'maybe a QEMU started by hand from the printed plan');
});

t.test("the exited launcher's device reservations are released", async (t) => {
  const h = await prepared(t);
  const launcher = await exitedRef();
  const running = await child(t);
  const devices = ['0000:01:00.0', '0000:01:00.1'];
  reserveDevices('gaming-9900k', devices, { sysroot: h.options.sysroot, io: nodeHostIo, owner: launcher });
  reserveDevices('other', ['0000:02:00.0'], { sysroot: h.options.sysroot, io: nodeHostIo, owner: refOf(running.pid!)! });
  record(h.journalFile, (journal) => (journal.state.launcher = launcher));
  await teardownVm('gaming-9900k', h.options);
  t.strictSame(readReservations(h.options).map((r) => `${r.device} ${r.vm}`), ['0000:02:00.0 other'], "another VM's stays");
  t.equal(h.lines.at(-1), "boot-vm: released 0000:01:00.0, 0000:01:00.1, reserved by gaming-9900k's launcher, which has exited");
});

t.test('changes that cannot be undone are counted; the journal is removed anyway', async (t) => {
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      if (path.endsWith('vtcon1/bind')) throw Object.assign(new Error('EBUSY: resource busy or locked, write'), { code: 'EBUSY' });
      nodeHostIo.write(path, text);
    },
  };
  const h = await prepared(t, io);
  const error = await rejection(teardownVm('gaming-9900k', h.options));
  t.type(error, BootVmError);
  t.equal(error.message, `gaming-9900k: 1 of 9 changes could not be undone (put them back by hand; the journal is gone): step 2 (unbind-consoles): writing "1" to ${join(h.root, VTCON)}: EBUSY (resource busy or locked)`);
  t.equal(h.text(VTCON), '0\n');
  t.equal(h.text('sys/bus/pci/devices/0000:01:00.0/driver_override'), '(null)\n', 'the rest was undone');
  t.equal(nodeHostIo.exists(h.journalFile), false);
  t.equal(h.lines.at(-1), `boot-vm: [2/13] prepare: undo unbind-consoles: undo-failed (writing "1" to ${join(h.root, VTCON)}: EBUSY (resource busy or locked))`);
});

t.test('a journal that is not one is reported, and left alone', async (t) => {
  const h = await prepared(t);
  writeFileSync(h.journalFile, 'garbage');
  const error = await rejection(teardownVm('gaming-9900k', h.options));
  t.type(error, JournalError);
  t.match(error.message, `${h.journalFile} is not a boot-vm journal (`);
  t.equal(readFileSync(h.journalFile, 'utf8'), 'garbage');
});
