// Device reservations on temporary trees, with real processes as holders: a second VM refused while
// the first one's launcher runs (naming it, nothing written), a stale reservation of an exited or
// zombie launcher taken over, all or nothing when one of two devices is busy, release idempotent
// and removing only its own files, readReservations, and teardown's removal of a dead VM's ones.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { DeviceBusyError, readReservations, releaseStaleReservations, reserveDevices } from '../../lib/apply/locks.js';
import { refOf, type ProcessRef } from '../../lib/apply/processes.js';
import { HostStateError } from '../../lib/errors.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { snapshot } from '../fixtures/launch.js';
import { exitedRef, zombie } from '../fixtures/processes.js';
import { tree } from '../fixtures/trees.js';

const GPU = '0000:01:00.0';
const AUDIO = '0000:01:00.1';
const DIR = 'run/boot-vm/devices';

/** A launcher stand-in: a `sleep 30` child, killed when the test ends. */
async function launcher(t: Test): Promise<ProcessRef> {
  const child: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  await once(child, 'spawn');
  return refOf(child.pid!)!;
}

function setup(t: Test, files: Record<string, string> = { 'run/.keep': '' }, io: HostIo = nodeHostIo) {
  const root = tree(t, files);
  const options = { sysroot: new Sysroot(root), io };
  const held = (device: string) => JSON.parse(readFileSync(join(root, DIR, device), 'utf8')) as { vm: string; launcher: ProcessRef };
  const reserve = (vm: string, devices: string[], owner: ProcessRef) => reserveDevices(vm, devices, { ...options, owner });
  return { root, options, held, reserve };
}

t.test('reserving writes one file per device naming the VM and its launcher; release removes them and the directories made', async (t) => {
  const h = setup(t);
  const before = snapshot(h.root);
  const owner = refOf(process.pid)!;
  const reservation = h.reserve('gaming', [GPU, AUDIO], owner);
  t.strictSame(readdirSync(join(h.root, DIR)), [GPU, AUDIO], 'no temporary file left beside them');
  t.strictSame(h.held(GPU), { vm: 'gaming', launcher: owner });
  t.strictSame(readReservations(h.options), [
    { device: GPU, vm: 'gaming', launcher: owner, alive: true },
    { device: AUDIO, vm: 'gaming', launcher: owner, alive: true },
  ]);
  reservation.release();
  t.strictSame(snapshot(h.root), before, 'run/boot-vm and its devices directory are gone again');
  reservation.release();
  t.strictSame(snapshot(h.root), before, 'a second release does nothing');
});

t.test('a second VM wanting a held device is refused, naming the first; nothing is written', async (t) => {
  const h = setup(t);
  const first = await launcher(t);
  h.reserve('gaming', [GPU], first);
  const before = snapshot(h.root);
  const error = t.throws(() => h.reserve('work', [GPU], refOf(process.pid)!)) as Error;
  t.type(error, DeviceBusyError);
  t.type(error, HostStateError);
  t.equal(error.message, `${GPU} is in use by VM gaming (boot-vm pid ${first.pid}); stop it first (scripts/vm.mjs stop gaming)`);
  t.strictSame(snapshot(h.root), before);
});

t.test('all or nothing: when the second of two devices is busy, the first is not kept', async (t) => {
  const h = setup(t);
  const first = await launcher(t);
  h.reserve('media', [AUDIO], first);
  const before = snapshot(h.root);
  t.throws(() => h.reserve('gaming', [GPU, AUDIO], refOf(process.pid)!), { name: 'DeviceBusyError', message: `${AUDIO} is in use by VM media (boot-vm pid ${first.pid}); stop it first (scripts/vm.mjs stop media)` });
  t.strictSame(snapshot(h.root), before, `${GPU} was given back`);
});

t.test('a reservation whose launcher has exited is stale: taken over', async (t) => {
  const h = setup(t);
  const dead = await exitedRef();
  h.reserve('gaming', [GPU], dead);
  t.strictSame(readReservations(h.options), [{ device: GPU, vm: 'gaming', launcher: dead, alive: false }], 'shown as stale');
  const owner = refOf(process.pid)!;
  h.reserve('work', [GPU], owner);
  t.strictSame(h.held(GPU), { vm: 'work', launcher: owner });
});

t.test('a launcher that is a zombie holds nothing either', async (t) => {
  const h = setup(t);
  h.reserve('gaming', [GPU], await zombie(t));
  const owner = refOf(process.pid)!;
  h.reserve('work', [GPU], owner);
  t.strictSame(h.held(GPU), { vm: 'work', launcher: owner });
});

t.test('a device this VM and launcher hold already is fine', async (t) => {
  const h = setup(t);
  const owner = await launcher(t);
  h.reserve('gaming', [GPU], owner);
  const again = h.reserve('gaming', [GPU, AUDIO], owner);
  t.strictSame(readdirSync(join(h.root, DIR)), [GPU, AUDIO]);
  again.release();
  t.strictSame(readReservations(h.options), []);
});

t.test('release removes only what is still its own', async (t) => {
  const h = setup(t);
  const reservation = h.reserve('gaming', [GPU], await exitedRef());
  const other = await launcher(t);
  h.reserve('work', [GPU], other);
  reservation.release();
  t.strictSame(h.held(GPU), { vm: 'work', launcher: other }, 'taken over since: left alone');
});

t.test('a file that is not a reservation is reported, not taken over', async (t) => {
  const h = setup(t, { [`${DIR}/${GPU}`]: 'garbage\n' });
  t.throws(() => h.reserve('gaming', [GPU], refOf(process.pid)!), { name: 'HostStateError', message: `${join(h.root, DIR, GPU)} is not a boot-vm device reservation; look at it, then remove it` });
  t.equal(readFileSync(join(h.root, DIR, GPU), 'utf8'), 'garbage\n');
  t.strictSame(readReservations(h.options), [], 'nor listed');
});

t.test('the directory removed by another VM releasing its last device just then: made again', async (t) => {
  let creates = 0;
  const io: HostIo = {
    ...nodeHostIo,
    createExclusive(path, text) {
      if (++creates === 2) nodeHostIo.rmdir(join(path, '..'));
      return nodeHostIo.createExclusive(path, text);
    },
  };
  const h = setup(t, { 'run/.keep': '' }, io);
  const before = snapshot(h.root);
  const reservation = h.reserve('gaming', [GPU], refOf(process.pid)!);
  t.equal(creates, 3, 'missing at first, removed after it was made, then made again');
  t.equal(h.held(GPU).vm, 'gaming');
  reservation.release();
  t.strictSame(snapshot(h.root), before, 'the directories made twice are removed once');
});

t.test('a reservation that keeps changing under it: gives up, naming the file', async (t) => {
  const io: HostIo = { ...nodeHostIo, createExclusive: () => false };
  const h = setup(t, { 'run/.keep': '' }, io);
  t.throws(() => h.reserve('gaming', [GPU], refOf(process.pid)!), { name: 'HostStateError', message: `cannot reserve ${GPU}: ${join(h.root, DIR, GPU)} changed 5 times while boot-vm read it; try again` });
});

t.test('a reservation that cannot be written: one line naming the file', async (t) => {
  const io: HostIo = {
    ...nodeHostIo,
    createExclusive: (path) => {
      throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
    },
  };
  const h = setup(t, { 'run/boot-vm/devices/.keep': '' }, io);
  t.throws(() => h.reserve('gaming', [GPU], refOf(process.pid)!), { name: 'HostStateError', message: `cannot reserve ${GPU} in ${join(h.root, DIR, GPU)}: EACCES (permission denied)` });
});

t.test('readReservations: none without the directory; temporary files left out', async (t) => {
  const h = setup(t);
  t.strictSame(readReservations(h.options), []);
  mkdirSync(join(h.root, DIR), { recursive: true });
  writeFileSync(join(h.root, DIR, `${GPU}.1234.tmp`), JSON.stringify({ vm: 'x', launcher: refOf(process.pid) }));
  t.strictSame(readReservations(h.options), []);
});

t.test("releaseStaleReservations: the VM's reservations whose launcher exited, and the directory once empty", async (t) => {
  const h = setup(t);
  const dead = await exitedRef();
  const alive = await launcher(t);
  h.reserve('gaming', [GPU, AUDIO], dead);
  h.reserve('work', ['0000:02:00.0'], dead);
  t.strictSame(releaseStaleReservations('gaming', h.options), [GPU, AUDIO]);
  t.strictSame(readReservations(h.options).map((r) => r.device), ['0000:02:00.0'], "another VM's stale one is left to be taken over");
  t.strictSame(releaseStaleReservations('work', h.options), ['0000:02:00.0']);
  t.equal(nodeHostIo.exists(join(h.root, DIR)), false);
  h.reserve('gaming', [GPU], alive);
  t.strictSame(releaseStaleReservations('gaming', h.options), [], 'a live one stays');
  t.strictSame(h.held(GPU), { vm: 'gaming', launcher: alive });
});
