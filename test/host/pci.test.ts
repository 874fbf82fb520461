import t from 'tap';
import { formatPciIds, isDisplayClass, readPciDetails, readPciDevice } from '../../lib/host/pci.js';
import { parsePciAddress } from '../../lib/pci-address.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

const at = (text: string) => parsePciAddress(text)!;

t.test('reads the class of a device at its full sysfs address', async (t) => {
  t.strictSame(readPciDevice(host('z77-i5-2500'), at('01:00.0')), { class: 0x030000 });
  t.strictSame(readPciDevice(host('z77-i5-2500'), at('0000:00:14.0')), { class: 0x0c0330 });
  t.strictSame(readPciDevice(host('inspur-nf5212m5'), at('b3:00.0')), { class: 0x010802 }, 'hex bus numbers');
});

t.test('a device without a class file is still a device', async (t) => {
  t.strictSame(readPciDevice(sysrootOf(t, { 'sys/bus/pci/devices/0000:01:00.0/vendor': '0x10de\n' }), at('01:00.0')), {});
});

t.test('undefined when there is no device at the address', async (t) => {
  t.equal(readPciDevice(host('z77-i5-2500'), at('02:00.0')), undefined);
  t.equal(readPciDevice(host('z77-i5-2500'), at('0001:01:00.0')), undefined, 'another domain');
});

t.test('isDisplayClass: base class 0x03 only', async (t) => {
  t.equal(isDisplayClass(0x030000), true, 'VGA-compatible');
  t.equal(isDisplayClass(0x030200), true, '3D controller');
  t.equal(isDisplayClass(0x038000), true, 'other display controller');
  t.equal(isDisplayClass(0x040300), false, 'HD audio');
  t.equal(isDisplayClass(0x0c0330), false, 'USB xHCI');
  t.equal(isDisplayClass(0x000300), false, 'only the base class counts');
});

t.test('readPciDetails: ids, driver, reset methods and NUMA node', async (t) => {
  t.strictSame(readPciDetails(host('epyc-2s'), '0000:c1:00.0'), { address: '0000:c1:00.0', class: 0x030000, vendor: 0x10de, device: 0x24b0, driver: 'vfio-pci', resetMethods: ['bus'], numaNode: 1 });
  t.strictSame(readPciDetails(host('i7-12700k'), '0000:04:00.0').resetMethods, ['flr', 'bus']);
  t.strictSame(readPciDetails(host('z77-i5-2500'), '0000:00:00.0'), { address: '0000:00:00.0', class: 0x060000, vendor: 0x8086, device: 0x0100, resetMethods: [] }, 'no driver, no reset methods, numa_node -1');
  t.strictSame(readPciDetails(sysrootOf(t, { 'sys/bus/pci/devices/0000:01:00.0/vendor': 'junk\n' }), '0000:01:00.0'), { address: '0000:01:00.0', resetMethods: [] });
  t.equal(formatPciIds({ vendor: 0x10de, device: 0x1b81 }), '10de:1b81');
  t.equal(formatPciIds({}), '????:????');
});
