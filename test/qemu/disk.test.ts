import t from 'tap';
import { buildDisks } from '../../lib/qemu/disk.js';
import { buildInput, words, type ProfileData } from '../fixtures/build-input.js';

const disksOf = (data: ProfileData, at = '10.1') => {
  const input = buildInput(data, { version: at });
  const args = buildDisks(input);
  return { args, lines: args.map((arg) => arg.words.join(' ')), errors: input.diagnostics.errors };
};

t.test('a virtio disk: a -drive backend and a -device front end', async (t) => {
  const { args, errors } = disksOf({ disks: [{ path: '/vm/win.img', bootIndex: 1 }] });
  t.strictSame(errors, []);
  t.strictSame(args, [
    { words: ['-drive', 'file=/vm/win.img,if=none,id=drive-disk0,format=raw'], from: ['disks[0].path', 'disks[0].format'], notes: [] },
    { words: ['-device', 'virtio-blk-pci,drive=drive-disk0,id=disk0,bootindex=1'], from: ['disks[0].bus', 'disks[0].bootIndex'], notes: [] },
  ]);
});

t.test('every drive option, in order', async (t) => {
  const { args } = disksOf({ disks: [{ path: '/vm/a,b.qcow2', format: 'qcow2', cache: 'none', aio: 'native', discard: true, readonly: true }] });
  t.strictSame(args[0], {
    words: ['-drive', 'file=/vm/a,,b.qcow2,if=none,id=drive-disk0,format=qcow2,cache=none,aio=native,discard=unmap,readonly=on'],
    from: ['disks[0].path', 'disks[0].format', 'disks[0].cache', 'disks[0].aio', 'disks[0].discard', 'disks[0].readonly'],
    notes: [],
  });
  t.equal(disksOf({ disks: [{ path: '/vm/a.img', discard: false }] }).lines[0], '-drive file=/vm/a.img,if=none,id=drive-disk0,format=raw,discard=ignore');
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', discard: false }] }).args[0]!.from, ['disks[0].path', 'disks[0].format'], 'discard: false is not listed as a source');
});

t.test('one front end per bus; the virtio-scsi controller comes once, first', async (t) => {
  const { lines, args, errors } = disksOf({
    disks: [
      { path: '/vm/0.img', bus: 'scsi' },
      { path: '/vm/1.img', bus: 'sata' },
      { path: '/vm/2.img', bus: 'nvme' },
      { path: '/vm/3.img', bus: 'scsi', serial: 'S3' },
      { path: '/vm/4.img', bus: 'nvme', serial: 'WD-123' },
    ],
  });
  t.strictSame(errors, []);
  t.strictSame(lines.filter((line) => line.startsWith('-device')), [
    '-device virtio-scsi-pci,id=scsi0',
    '-device scsi-hd,bus=scsi0.0,drive=drive-disk0,id=disk0',
    '-device ide-hd,bus=ide.0,drive=drive-disk1,id=disk1',
    '-device nvme,drive=drive-disk2,id=disk2,serial=disk2',
    '-device scsi-hd,bus=scsi0.0,drive=drive-disk3,id=disk3,serial=S3',
    '-device nvme,drive=drive-disk4,id=disk4,serial=WD-123',
  ]);
  t.strictSame(args[0]!.from, ['disks[0].bus', 'disks[3].bus'], 'the controller names the disks on it');
  const nvme = args.find((arg) => arg.words[1]!.startsWith('nvme,drive=drive-disk2'))!;
  t.strictSame(nvme.notes, ['serial=disk2 ← added: nvme needs a serial number']);
  t.strictSame(nvme.from, ['disks[2].bus']);
  const given = args.find((arg) => arg.words[1]!.startsWith('nvme,drive=drive-disk4'))!;
  t.strictSame([given.from, given.notes], [['disks[4].bus', 'disks[4].serial'], []]);
  t.notOk(disksOf({ disks: [{ path: '/vm/a.img', bus: 'sata' }] }).lines.some((line) => line.includes('virtio-scsi-pci')), 'no controller without a SCSI disk');
});

t.test('CD-ROMs come after disks and share the SATA ports with them', async (t) => {
  const { args, errors } = disksOf({ disks: [{ path: '/vm/a.img', bus: 'sata' }, { path: '/vm/b.img' }], cdroms: [{ path: '/iso/win.iso', bootIndex: 2 }, { path: '/iso/virtio.iso' }] });
  t.strictSame(errors, []);
  t.strictSame(args.slice(4), [
    { words: ['-drive', 'file=/iso/win.iso,if=none,id=drive-cd0,media=cdrom,format=raw,readonly=on'], from: ['cdroms[0].path'], notes: [] },
    { words: ['-device', 'ide-cd,bus=ide.1,drive=drive-cd0,id=cd0,bootindex=2'], from: ['cdroms[0]', 'cdroms[0].bootIndex'], notes: [] },
    { words: ['-drive', 'file=/iso/virtio.iso,if=none,id=drive-cd1,media=cdrom,format=raw,readonly=on'], from: ['cdroms[1].path'], notes: [] },
    { words: ['-device', 'ide-cd,bus=ide.2,drive=drive-cd1,id=cd1'], from: ['cdroms[1]'], notes: [] },
  ]);
});

t.test('more than six SATA devices is an error', async (t) => {
  const disks = Array.from({ length: 5 }, (_, i) => ({ path: `/vm/${i}.img`, bus: 'sata' as const }));
  t.strictSame(disksOf({ disks, cdroms: [{ path: '/iso/a.iso' }] }).errors, [], 'six fit');
  const { errors, lines } = disksOf({ disks, cdroms: [{ path: '/iso/a.iso' }, { path: '/iso/b.iso' }] });
  t.strictSame(errors, [{ key: 'cdroms[1]', message: 'the Q35 chipset has 6 SATA ports and they are all taken' }]);
  t.strictSame(lines.filter((line) => line.startsWith('-device')).map((line) => /bus=(ide\.\d)/.exec(line)?.[1]), ['ide.0', 'ide.1', 'ide.2', 'ide.3', 'ide.4', 'ide.5', 'ide.6']);
  const seven = Array.from({ length: 7 }, (_, i) => ({ path: `/vm/${i}.img`, bus: 'sata' as const }));
  t.strictSame(disksOf({ disks: seven }).errors, [{ key: 'disks[6].bus', message: 'the Q35 chipset has 6 SATA ports and they are all taken' }]);
});

t.test('every SATA device beyond the sixth is an error', async (t) => {
  const eight = Array.from({ length: 8 }, (_, i) => ({ path: `/vm/${i}.img`, bus: 'sata' as const }));
  t.strictSame(disksOf({ disks: eight }).errors, [
    { key: 'disks[6].bus', message: 'the Q35 chipset has 6 SATA ports and they are all taken' },
    { key: 'disks[7].bus', message: 'the Q35 chipset has 6 SATA ports and they are all taken' },
  ]);
});

t.test('aio=native needs cache none or directsync', async (t) => {
  const message = 'native AIO needs O_DIRECT: set cache to none or directsync';
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', aio: 'native' }] }).errors, [{ key: 'disks[0].aio', message }], 'no cache given');
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', aio: 'native', cache: 'writeback' }] }).errors, [{ key: 'disks[0].aio', message }]);
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', aio: 'native', cache: 'directsync' }] }).errors, []);
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', aio: 'threads', cache: 'writeback' }] }).errors, []);
});

t.test('aio=io_uring needs QEMU 5.0', async (t) => {
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', aio: 'io_uring' }] }, '4.2').errors, [{ key: 'disks[0].aio', message: 'QEMU 4.2 lacks aio=io_uring (added in 5.0)' }]);
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img', aio: 'io_uring' }] }, '5.0').errors, []);
});

t.test('the same path twice is an error, across disks and CD-ROMs', async (t) => {
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img' }, { path: '/vm/a.img', bus: 'sata' }] }).errors, [{ key: 'disks[1].path', message: 'duplicate device: disks[0].path already uses /vm/a.img' }]);
  t.strictSame(disksOf({ disks: [{ path: '/iso/a.iso' }], cdroms: [{ path: '/iso/a.iso' }] }).errors, [{ key: 'cdroms[0].path', message: 'duplicate device: disks[0].path already uses /iso/a.iso' }]);
  t.strictSame(disksOf({ disks: [{ path: '/vm/a.img' }, { path: '/vm/b.img' }] }).errors, []);
});

t.test('no disks, no args', async (t) => {
  t.strictSame(words(disksOf({}).args), []);
});
