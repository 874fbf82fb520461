import t from 'tap';
import { Collector } from '../../lib/plan/diagnostics.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { checkHostCpus, checkHostDevices, checkHostFiles, checkHostHugepages, checkRomFiles } from '../../lib/plan/host-checks.js';
import { host, hostRoot } from '../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf } from '../fixtures/trees.js';

const MEMORY = { size: '1G' };

t.test('strict or lenient is the reporter’s choice: the checks only report', async (t) => {
  const profile = profileOf({ memory: MEMORY, passthrough: [{ host: '09:00.0' }] });
  const strict = new Collector((key) => ({ key }));
  checkHostDevices(profile, host('lab'), strict.hostReporter(true));
  t.strictSame([strict.errors, strict.warnings], [[{ key: 'passthrough[0].host', message: 'no PCI device 0000:09:00.0 on this host' }], []]);
  const lenient = new Collector((key) => ({ key }));
  checkHostDevices(profile, host('lab'), lenient.hostReporter(false));
  t.strictSame([lenient.errors, lenient.warnings], [[], [{ key: 'passthrough[0].host', message: 'no PCI device 0000:09:00.0 on this host' }]]);
});

t.test('CPUs the host lacks are listed compactly with what it has', async (t) => {
  const { report, reports } = recorder();
  checkHostCpus(profileOf({ memory: MEMORY, pinning: { vcpus: [2, 3, 4, 5, 7], emulator: '6' } }), host('z77-i5-2500'), report);
  t.strictSame(reports, [
    'pinning.vcpus: host CPUs 4-5,7 do not exist here (this host has 0-3)',
    'pinning.emulator: host CPU 6 does not exist here (this host has 0-3)',
  ]);
});

t.test('CPUs the host has pass', async (t) => {
  const { report, reports } = recorder();
  checkHostCpus(profileOf({ memory: MEMORY, pinning: { vcpus: '2-3', emulator: [0] } }), host('z77-i5-2500'), report);
  checkHostCpus(profileOf({ memory: MEMORY }), host('z77-i5-2500'), report);
  checkHostCpus(profileOf({ memory: MEMORY }), sysrootOf(t, {}), report);
  t.strictSame(reports, [], 'nothing to check without pinning, even on a host without CPU information');
});

t.test('pinning on a host whose CPUs cannot be read', async (t) => {
  const { report, reports } = recorder();
  const root = sysrootOf(t, {});
  checkHostCpus(profileOf({ memory: MEMORY, pinning: { vcpus: [0] } }), root, report);
  t.strictSame(reports, [`pinning: cannot tell which CPUs the host has (${root.root}/sys/devices/system/cpu/present is unreadable)`]);
});

t.test('a PCI device the host lacks', async (t) => {
  const { report, reports } = recorder();
  checkHostDevices(profileOf({ memory: MEMORY, passthrough: [{ host: '01:00.0' }, { host: '0000:65:00.0' }, { host: '01:00.1' }] }), host('z77-i5-2500'), report);
  t.strictSame(reports, ['passthrough[1].host: no PCI device 0000:65:00.0 on this host']);
});

t.test('vga on a device that is not a display controller', async (t) => {
  const { report, reports } = recorder();
  checkHostDevices(profileOf({ memory: MEMORY, passthrough: [{ host: '01:00.0', vga: true }, { host: '01:00.1', vga: true }, { host: '00:14.0' }] }), host('z77-i5-2500'), report);
  t.strictSame(reports, ["passthrough[1].vga: 0000:01:00.1 is not a display controller (class 0x040300); only a GPU can be the guest's VGA"]);
});

t.test('vga on a device whose class cannot be read is not second-guessed', async (t) => {
  const { report, reports } = recorder();
  checkHostDevices(profileOf({ memory: MEMORY, passthrough: [{ host: '01:00.0', vga: true }] }), sysrootOf(t, { 'sys/bus/pci/devices/0000:01:00.0/vendor': '0x10de\n' }), report);
  t.strictSame(reports, []);
});

t.test('files the profile names that the host lacks', async (t) => {
  const { report, reports } = recorder();
  const profile = profileOf({
    memory: MEMORY,
    passthrough: [{ host: '01:00.0', romfile: '/vm/gpu.rom' }, { host: '02:00.0', romfile: '/vm/missing.rom' }, { host: '02:00.1' }],
    disks: [{ path: '/vm/disk0.img' }, { path: '/vm/gone.img' }],
    cdroms: [{ path: '/vm/gone.iso' }, { path: '/vm/install.iso' }],
    network: [
      { tap: { script: '/etc/qemu-ifup', downscript: '/etc/gone-down' } },
      { tap: { script: '/etc/gone-up', downscript: false } },
      { bridge: { name: 'br0' } },
    ],
  });
  checkHostFiles(profile, host('lab'), report);
  t.strictSame(reports, [
    'passthrough[1].romfile: /vm/missing.rom does not exist on this host',
    'disks[1].path: /vm/gone.img does not exist on this host',
    'cdroms[0].path: /vm/gone.iso does not exist on this host',
    'network[0].tap.downscript: /etc/gone-down does not exist on this host',
    'network[1].tap.script: /etc/gone-up does not exist on this host',
  ]);
});

t.test('a hugepage size the host does not offer', async (t) => {
  const { report, reports } = recorder();
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '1G' } }), sysrootOf(t, { 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages': '0\n' }), report);
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '1G' } }), sysrootOf(t, { 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages': '0\n', 'sys/kernel/mm/hugepages/hugepages-64kB/nr_hugepages': '0\n' }), report);
  t.strictSame(reports, ['memory.hugepages: this host offers huge pages of 2M only', 'memory.hugepages: this host offers huge pages of 64K and 2M only']);
});

t.test('a host with no huge pages at all', async (t) => {
  const { report, reports } = recorder();
  const root = sysrootOf(t, {});
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '2M' } }), root, report);
  t.strictSame(reports, [`memory.hugepages: this host offers no huge pages (${root.root}/sys/kernel/mm/hugepages is empty)`]);
});

t.test('a pool whose counts cannot be read is reported, not planned without its reservation', async (t) => {
  const { report, reports } = recorder();
  const root = sysrootOf(t, { 'sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages': '0\n' });
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '2M' } }), root, report);
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '2M' }, host: { hugepages: false } }), root, report);
  t.strictSame(reports, [`host.hugepages: cannot plan the reservation of 2M pages: ${root.root}/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages is unreadable`]);
});

t.test('hugepages the host offers, or none asked for', async (t) => {
  const { report, reports } = recorder();
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '1G' } }), host('lab'), report);
  checkHostHugepages(profileOf({ memory: { size: '2G', hugepages: '2M' } }), host('lab'), report);
  checkHostHugepages(profileOf({ memory: { size: '2G' } }), sysrootOf(t, {}), report);
  t.strictSame(reports, []);
});

t.test('romfile: parsed and checked against the passed device and the firmware', async (t) => {
  // The lab host's RTX 4090 ROM (a legacy VGA image and an EFI x64 one), and iPXE's legacy-only e1000 ROM.
  const gpu = readFileSync(`${hostRoot('lab')}/vm/gpu.rom`);
  const pxe = readFileSync('/usr/lib/ipxe/qemu/pxe-e1000.rom');
  const root = sysrootOf(t, { 'sys/bus/pci/devices/0000:01:00.0/vendor': '0x10de\n', 'sys/bus/pci/devices/0000:01:00.0/device': '0x2684\n', 'sys/bus/pci/devices/0000:02:00.0/vendor': '0x8086\n', 'sys/bus/pci/devices/0000:02:00.0/device': '0x100e\n' });
  const files = { 'gpu.rom': gpu, 'headered.rom': Buffer.concat([Buffer.alloc(64), gpu]), 'pxe.rom': pxe, 'empty.rom': Buffer.alloc(0) };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(`${root.root}/${name}`, bytes);
  const check = (device: string, romfile: string, firmware: string) => {
    const { report, reports } = recorder();
    checkRomFiles(profileOf({ memory: MEMORY, firmware: { type: firmware }, passthrough: [{ host: device, romfile }] }), root, report);
    return reports;
  };
  t.strictSame(check('01:00.0', '/gpu.rom', 'ovmf'), [], 'the card\'s own ROM with its EFI image');
  t.strictSame(check('02:00.0', '/gpu.rom', 'seabios'), ['passthrough[0].romfile: /gpu.rom: it is for device 10de:2684, the passed device is 8086:100e: a ROM of another card']);
  t.strictSame(check('02:00.0', '/pxe.rom', 'seabios'), [], 'a legacy ROM is enough for SeaBIOS');
  t.strictSame(check('02:00.0', '/pxe.rom', 'ovmf'), ['passthrough[0].romfile: /pxe.rom: it has no EFI x64 image: under OVMF the card shows nothing until the guest driver loads (dump the ROM of a UEFI-capable card, or update its firmware)']);
  t.strictSame(check('01:00.0', '/headered.rom', 'ovmf'), ['passthrough[0].romfile: /headered.rom: a vendor header of 64 bytes before the first image: cut it off with vfio-rom.mjs strip'], 'the header, not a missing EFI image too');
  t.strictSame(check('01:00.0', '/empty.rom', 'ovmf'), ['passthrough[0].romfile: /empty.rom: the file is empty']);
  t.strictSame(check('01:00.0', '/missing.rom', 'ovmf'), [], 'a missing file is checkHostFiles\' to report');
});
