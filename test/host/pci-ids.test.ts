import t from 'tap';
import { readPciNames } from '../../lib/host/pci-ids.js';
import { sysrootOf } from '../fixtures/trees.js';

const PCI_IDS = [
  '# comment',
  '10de  NVIDIA Corporation',
  '\t1b81  GP104 [GeForce GTX 1070]',
  '\t\t1043 8599  ROG STRIX GTX 1070',
  '\t1b82  GP104 [GeForce GTX 1070 Ti]',
  '8086  Intel Corporation',
  '\t1b81  Not the NVIDIA one',
  'C 03  Display controller',
  '\t00  VGA compatible controller',
  '\t\t00  VGA controller',
  'C 0c  Serial bus controller',
  '\t03  USB controller',
  '\t\t30  XHCI',
  '',
].join('\n');

t.test('names of the ids asked for, from /usr/share/misc/pci.ids', async (t) => {
  const names = readPciNames(sysrootOf(t, { 'usr/share/misc/pci.ids': PCI_IDS }), [[0x10de, 0x1b81]], [0x030000, 0x0c0330, 0x0c8000]);
  t.equal(names.file, '/usr/share/misc/pci.ids');
  t.equal(names.vendor(0x10de), 'NVIDIA Corporation');
  t.equal(names.device(0x10de, 0x1b81), 'GP104 [GeForce GTX 1070]', 'not the subsystem line below it');
  t.equal(names.device(0x10de, 0x1b82), undefined, 'only what was asked for');
  t.equal(names.device(0x8086, 0x1b81), undefined, 'another vendor with the same device id');
  t.equal(names.className(0x030000), 'VGA compatible controller');
  t.equal(names.className(0x0c0330), 'USB controller', 'the subclass, as lspci shows it');
  t.equal(names.className(0x0c8000), 'Serial bus controller', 'the base class when the subclass is unnamed');
});

t.test('/usr/share/hwdata/pci.ids, and ids alone when neither exists', async (t) => {
  t.equal(readPciNames(sysrootOf(t, { 'usr/share/hwdata/pci.ids': PCI_IDS }), [], []).file, '/usr/share/hwdata/pci.ids');
  const none = readPciNames(sysrootOf(t, {}), [[0x10de, 0x1b81]], [0x030000], sysrootOf(t, {}));
  t.equal(none.file, undefined);
  t.equal(none.vendor(0x10de), undefined);
  t.equal(none.className(0x030000), undefined);
});

t.test('a captured tree without pci.ids takes the names from the machine boot-vm runs on; its own file wins when it has one', async (t) => {
  const running = sysrootOf(t, { 'usr/share/misc/pci.ids': PCI_IDS });
  const borrowed = readPciNames(sysrootOf(t, {}), [[0x10de, 0x1b81]], [0x030000], running);
  t.equal(borrowed.file, running.path('/usr/share/misc/pci.ids'), 'the file named where it really is');
  t.equal(borrowed.device(0x10de, 0x1b81), 'GP104 [GeForce GTX 1070]');
  const own = readPciNames(sysrootOf(t, { 'usr/share/hwdata/pci.ids': '10de  NVIDIA (the capture’s)\n' }), [[0x10de, 0x1b81]], [], running);
  t.equal(own.file, '/usr/share/hwdata/pci.ids');
  t.equal(own.vendor(0x10de), 'NVIDIA (the capture’s)');
});
