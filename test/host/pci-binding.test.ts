// What the vfio binding step reads about a PCI device (lib/host/pci.ts): its driver, its
// `vendor device` ids, whether it is the boot GPU, its IOMMU group's other members, whether a
// class is a bridge; and Sysroot.readLink, which the driver and group links go through.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { isBootVga, isBridgeClass, readIommuGroupPeers, readPciDriver, readPciIds } from '../../lib/host/pci.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf, tree } from '../fixtures/trees.js';

t.test('readPciDriver: the last part of the driver link', async (t) => {
  t.equal(readPciDriver(host('lab'), '0000:01:00.0'), 'nvidia');
  t.equal(readPciDriver(host('lab'), '0000:01:00.1'), 'snd_hda_intel');
  t.equal(readPciDriver(host('lab'), '0000:02:00.0'), 'vfio-pci');
  t.equal(readPciDriver(host('z77-i5-2500'), '0000:00:01.0'), 'pcieport');
  t.equal(readPciDriver(host('z77-i5-2500'), '0000:00:1f.0'), 'lpc_ich');
});

t.test('readPciDriver: undefined without a driver or a device', async (t) => {
  t.equal(readPciDriver(host('z77-i5-2500'), '0000:00:00.0'), undefined, 'the host bridge has no driver');
  t.equal(readPciDriver(host('lab'), '0000:09:00.0'), undefined, 'no such device');
  t.equal(readPciDriver(host('lab'), '01:00.0'), undefined, 'only the full sysfs address is looked up');
});

t.test('readPciIds: vendor and device without 0x, space-separated as new_id takes them', async (t) => {
  t.equal(readPciIds(host('lab'), '0000:01:00.0'), '10de 2684');
  t.equal(readPciIds(host('z77-i5-2500'), '0000:03:00.0'), '1969 1083');
  const dir = 'sys/bus/pci/devices/0000:05:00.0';
  t.equal(readPciIds(sysrootOf(t, { [`${dir}/vendor`]: '8086', [`${dir}/device`]: '  0x1e31  \n' }), '0000:05:00.0'), '8086 1e31', 'no prefix, or blanks around it');
});

t.test('readPciIds: undefined when either id is missing or empty', async (t) => {
  const dir = 'sys/bus/pci/devices/0000:05:00.0';
  t.equal(readPciIds(sysrootOf(t, { [`${dir}/vendor`]: '0x8086\n' }), '0000:05:00.0'), undefined);
  t.equal(readPciIds(sysrootOf(t, { [`${dir}/device`]: '0x1e31\n' }), '0000:05:00.0'), undefined);
  t.equal(readPciIds(sysrootOf(t, { [`${dir}/vendor`]: '0x\n', [`${dir}/device`]: '0x1e31\n' }), '0000:05:00.0'), undefined);
  t.equal(readPciIds(host('lab'), '0000:09:00.0'), undefined);
});

t.test('isBootVga: boot_vga reads 1', async (t) => {
  t.equal(isBootVga(host('lab'), '0000:01:00.0'), true);
  t.equal(isBootVga(host('lab'), '0000:02:00.0'), false, 'boot_vga is 0');
  t.equal(isBootVga(host('lab'), '0000:01:00.1'), false, 'no boot_vga file (not a display device)');
  t.equal(isBootVga(host('inspur-nf5212m5'), '0000:02:00.0'), true, 'the BMC’s ASPEED');
  t.equal(isBootVga(host('inspur-nf5212m5'), '0000:65:00.0'), false);
  t.equal(isBootVga(host('lab'), '0000:09:00.0'), false, 'no device');
});

t.test('readIommuGroupPeers: the group’s other members, sorted, the device itself left out', async (t) => {
  t.strictSame(readIommuGroupPeers(host('lab'), '0000:01:00.0'), ['0000:01:00.1']);
  t.strictSame(readIommuGroupPeers(host('lab'), '0000:03:00.2'), ['0000:03:00.1']);
  t.strictSame(readIommuGroupPeers(host('lab'), '0000:04:00.0'), [], 'alone in its group');
  t.strictSame(readIommuGroupPeers(host('z77-i5-2500'), '0000:00:1f.2'), ['0000:00:1f.0', '0000:00:1f.3']);
  t.strictSame(readIommuGroupPeers(host('z77-i5-2500'), '0000:01:00.1'), ['0000:00:01.0', '0000:01:00.0'], 'the root port is in the GPU’s group');
});

t.test('readIommuGroupPeers: undefined without an iommu_group link (IOMMU off)', async (t) => {
  t.equal(readIommuGroupPeers(sysrootOf(t, { 'sys/bus/pci/devices/0000:05:00.0/vendor': '0x8086\n' }), '0000:05:00.0'), undefined);
  t.equal(readIommuGroupPeers(host('lab'), '0000:09:00.0'), undefined);
});

t.test('readIommuGroupPeers: a group whose devices directory is missing has no peers', async (t) => {
  const root = tree(t, { 'sys/bus/pci/devices/0000:05:00.0/vendor': '0x8086\n' });
  symlinkSync('../../../../kernel/iommu_groups/42', join(root, 'sys/bus/pci/devices/0000:05:00.0/iommu_group'));
  t.strictSame(readIommuGroupPeers(new Sysroot(root), '0000:05:00.0'), []);
});

t.test('isBridgeClass: the bridges with a non-normal header (PCI-to-PCI, CardBus, semi-transparent)', async (t) => {
  t.equal(isBridgeClass(0x060000), false, 'a host bridge has a normal header');
  t.equal(isBridgeClass(0x060100), false, 'so has an ISA/LPC bridge');
  t.equal(isBridgeClass(0x060700), true, 'CardBus bridge');
  t.equal(isBridgeClass(0x060940), true, 'semi-transparent PCI-to-PCI bridge');
  t.equal(isBridgeClass(0x060400), true, 'PCI bridge');
  t.equal(isBridgeClass(0x060401), true, 'subtractive decode PCI bridge');
  t.equal(isBridgeClass(0x030000), false, 'VGA');
  t.equal(isBridgeClass(0x0c0330), false, 'USB');
  t.equal(isBridgeClass(0x000604), false, 'only the base class counts');
});

t.test('Sysroot.readLink: the target as written, under the root', async (t) => {
  const root = tree(t, { 'sys/file': 'x\n' });
  mkdirSync(join(root, 'sys/dir'));
  symlinkSync('../../drivers/nvidia', join(root, 'sys/relative'));
  symlinkSync('/dev/null', join(root, 'sys/absolute'));
  symlinkSync('nowhere', join(root, 'sys/dangling'));
  const sysroot = new Sysroot(root);
  t.equal(sysroot.readLink('/sys/relative'), '../../drivers/nvidia', 'not resolved');
  t.equal(sysroot.readLink('/sys/absolute'), '/dev/null', 'not put under the root');
  t.equal(sysroot.readLink('/sys/dangling'), 'nowhere', 'a link to nothing is still a link');
  t.equal(sysroot.readLink('/sys/file'), undefined, 'a file');
  t.equal(sysroot.readLink('/sys/dir'), undefined, 'a directory');
  t.equal(sysroot.readLink('/sys/missing'), undefined, 'nothing there');
  t.equal(host('lab').readLink('/sys/bus/pci/devices/0000:01:00.0/iommu_group'), '../../../../kernel/iommu_groups/1', 'a fixture link');
});
