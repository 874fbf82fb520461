import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Sysroot } from '../../lib/host/sysroot.js';
import { tree } from '../fixtures/trees.js';

t.test("the live root maps host paths to themselves", async (t) => {
  const live = new Sysroot('/');
  t.equal(live.isLive, true);
  t.equal(live.path('/sys/devices/system/cpu/present'), '/sys/devices/system/cpu/present');
  t.equal(new Sysroot().root, '/', 'the default root');
});

t.test('another root prefixes host paths with it', async (t) => {
  const root = new Sysroot('/srv/hosts/x/');
  t.equal(root.isLive, false);
  t.equal(root.root, '/srv/hosts/x', 'resolved, without the trailing slash');
  t.equal(root.path('/sys/bus/pci'), '/srv/hosts/x/sys/bus/pci');
});

t.test('a relative root is resolved against the working directory', async (t) => {
  t.equal(new Sysroot('hosts/x').root, join(process.cwd(), 'hosts/x'));
});

t.test('readText and exists read under the root', async (t) => {
  const dir = tree(t, { 'proc/meminfo': 'MemTotal: 1 kB\n' });
  const root = new Sysroot(dir);
  t.equal(root.readText('/proc/meminfo'), 'MemTotal: 1 kB\n');
  t.equal(root.readText('/proc/missing'), undefined, 'undefined when missing');
  t.equal(root.readText('/proc'), undefined, 'undefined for a directory');
  t.equal(root.exists('/proc'), true);
  t.equal(root.exists('/proc/missing'), false);
});

t.test('list is sorted and empty for a missing directory', async (t) => {
  const dir = tree(t, { 'd/b': '', 'd/a': '', 'd/c10': '', 'd/c2': '' });
  mkdirSync(join(dir, 'd/sub'));
  const root = new Sysroot(dir);
  t.strictSame(root.list('/d'), ['a', 'b', 'c10', 'c2', 'sub']);
  t.strictSame(root.list('/nope'), []);
  t.strictSame(root.list('/d/a'), [], 'a file is not a directory');
});

t.test('readLink gives the target as written; canRead says whether the file opens', async (t) => {
  const dir = tree(t, { 'sys/bus/pci/drivers/vfio-pci/bind': '', 'root/gpu.rom': 'rom', 'root/secret.rom': 'rom' });
  mkdirSync(join(dir, 'sys/bus/pci/devices/0000:01:00.0'), { recursive: true });
  symlinkSync('../../../bus/pci/drivers/vfio-pci', join(dir, 'sys/bus/pci/devices/0000:01:00.0/driver'));
  const root = new Sysroot(dir);
  t.equal(root.readLink('/sys/bus/pci/devices/0000:01:00.0/driver'), '../../../bus/pci/drivers/vfio-pci');
  t.equal(root.readLink('/root/gpu.rom'), undefined, 'not a link');
  t.equal(root.readLink('/missing'), undefined);
  t.equal(root.canRead('/root/gpu.rom'), true);
  t.equal(root.canRead('/root/missing.rom'), false);
  chmodSync(join(dir, 'root/secret.rom'), 0o000);
  // root reads anything; everyone else is refused.
  t.equal(root.canRead('/root/secret.rom'), process.getuid?.() === 0);
});

t.test('path: plain host paths are appended, others normalized as join does', async (t) => {
  const root = new Sysroot('/captured/host/');
  t.equal(root.path('/sys/bus/pci/devices'), '/captured/host/sys/bus/pci/devices');
  t.equal(root.path('/vm/../etc//qemu'), '/captured/host/etc/qemu');
  t.equal(root.path('/vm/./disk.img'), '/captured/host/vm/disk.img');
});

t.test('stat: what is at a path and its size, a device as a device', async (t) => {
  const root = new Sysroot(tree(t, { 'dev/shm/looking-glass': '12345' }));
  t.strictSame(root.stat('/dev/shm/looking-glass'), { kind: 'file', size: 5 });
  t.equal(root.stat('/dev/shm')?.kind, 'directory');
  t.equal(root.stat('/dev/kvmfr0'), undefined);
  t.equal(new Sysroot('/').stat('/dev/null')?.kind, 'char-device');
});
