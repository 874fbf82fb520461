import t from 'tap';
import { buildDisks } from '../../lib/qemu/disk.js';
import { buildIothreads } from '../../lib/qemu/iothreads.js';
import { buildInput, type ProfileData } from '../fixtures/build-input.js';

const build = (data: ProfileData) => {
  const input = buildInput(data);
  const iothreads = buildIothreads(input);
  const devices = buildDisks(input).filter((arg) => arg.words[0] === '-device');
  return { iothreads, devices, errors: input.diagnostics.errors };
};

t.test('iothreads: N makes iothread0 … iothread<N-1>, each naming the disks it serves', async (t) => {
  const { iothreads, devices, errors } = build({ iothreads: 3, disks: [{ path: '/vm/a.img', iothread: 2 }, { path: '/vm/b.img', iothread: 0 }, { path: '/vm/c.img', iothread: 2 }] });
  t.strictSame(errors, []);
  t.strictSame(iothreads, [
    { words: ['-object', 'iothread,id=iothread0'], from: ['iothreads'], notes: ['IO of disks[1]'] },
    { words: ['-object', 'iothread,id=iothread1'], from: ['iothreads'], notes: ['no disk names it (disks[].iothread)'] },
    { words: ['-object', 'iothread,id=iothread2'], from: ['iothreads'], notes: ['IO of disks[0], disks[2]'] },
  ]);
  t.strictSame(
    devices.map((arg) => [arg.words[1], arg.from]),
    [
      ['virtio-blk-pci,drive=drive-disk0,id=disk0,iothread=iothread2', ['disks[0].bus', 'disks[0].iothread']],
      ['virtio-blk-pci,drive=drive-disk1,id=disk1,iothread=iothread0', ['disks[1].bus', 'disks[1].iothread']],
      ['virtio-blk-pci,drive=drive-disk2,id=disk2,iothread=iothread2', ['disks[2].bus', 'disks[2].iothread']],
    ],
  );
});

t.test('no IO threads by default, and a disk without one has no iothread=', async (t) => {
  const { iothreads, devices } = build({ disks: [{ path: '/vm/a.img' }] });
  t.strictSame(iothreads, []);
  t.equal(devices[0]!.words[1], 'virtio-blk-pci,drive=drive-disk0,id=disk0');
});

t.test('an IO thread that does not exist, or a disk that is not virtio: errors keyed at the disk', async (t) => {
  t.strictSame(build({ disks: [{ path: '/vm/a.img', iothread: 0 }] }).errors, [{ key: 'disks[0].iothread', message: 'there are only 0 IO threads (iothreads: 0)' }]);
  t.strictSame(build({ iothreads: 2, disks: [{ path: '/vm/a.img', iothread: 2 }] }).errors, [{ key: 'disks[0].iothread', message: 'there are only 2 IO threads (iothreads: 2)' }]);
  for (const bus of ['sata', 'scsi', 'nvme'] as const) {
    t.strictSame(build({ iothreads: 1, disks: [{ path: '/vm/a.img', bus, iothread: 0 }] }).errors, [{ key: 'disks[0].iothread', message: `only virtio disks take an IO thread (this one is on ${bus})` }], bus);
  }
});
