import t from 'tap';
import { readDeviceGroup, readInterruptRemapping, readIommuGroups, readIommuUnits } from '../../lib/host/iommu.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('groups by number with their devices: the blog host', async (t) => {
  const groups = readIommuGroups(host('z77-i5-2500'));
  t.strictSame(groups.map((group) => group.group), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'numeric order, not 0, 1, 10, 11, 2');
  t.strictSame(groups[1], { group: 1, devices: ['0000:00:01.0', '0000:01:00.0', '0000:01:00.1'] });
  t.equal(readDeviceGroup(host('z77-i5-2500'), '0000:00:1f.3'), 10);
  t.equal(readDeviceGroup(host('z77-i5-2500'), '0000:09:00.0'), undefined);
  t.strictSame(readIommuUnits(host('z77-i5-2500')), ['dmar0', 'dmar1']);
  t.strictSame(readIommuUnits(host('epyc-2s')), ['ivhd0', 'ivhd1']);
});

t.test('no groups when the IOMMU is off', async (t) => {
  t.strictSame(readIommuGroups(sysrootOf(t, { 'sys/kernel/README': '' })), []);
});

t.test('interrupt remapping from the chip names in /proc/interrupts', async (t) => {
  t.equal(readInterruptRemapping(host('inspur-nf5212m5')), true);
  const header = '           CPU0       CPU1\n';
  t.equal(readInterruptRemapping(sysrootOf(t, { 'proc/interrupts': `${header}  0:         10          0   IO-APIC   2-edge      timer\n` })), false);
  t.equal(readInterruptRemapping(sysrootOf(t, { 'proc/interrupts': `${header} 24:          0          0  IR-PCI-MSI 512000-edge      ahci\n` })), true);
  t.equal(readInterruptRemapping(sysrootOf(t, { 'proc/interrupts': `${header}NMI:          0          0   Non-maskable interrupts\n` })), false, 'no chips named: no remapping');
  t.equal(readInterruptRemapping(sysrootOf(t, {})), undefined);
});
