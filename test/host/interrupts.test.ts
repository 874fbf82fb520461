// lib/host/interrupts.ts: the numbered lines of /proc/interrupts, the PCI device a vfio IRQ
// belongs to, from the names vfio-pci gives its IRQs, and every per-CPU line's counts.
import t from 'tap';
import { parseInterruptCounts, readInterruptCounts, readInterrupts, vfioDeviceOf } from '../../lib/host/interrupts.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('the fake z77 host: legacy IRQs and one MSI per device with a host driver; NMI is not numbered', async (t) => {
  t.strictSame(readInterrupts(host('z77-i5-2500')), [
    { irq: 0, description: 'IR-IO-APIC    2-edge      timer' },
    { irq: 1, description: 'IR-IO-APIC    1-edge      i8042' },
    { irq: 8, description: 'IR-IO-APIC    8-edge      rtc0' },
    { irq: 9, description: 'IR-IO-APIC    9-fasteoi   acpi' },
    { irq: 120, description: 'IR-PCI-MSI 0-edge      xhci_hcd' },
    { irq: 121, description: 'IR-PCI-MSI 0-edge      mei_me' },
    { irq: 122, description: 'IR-PCI-MSI 0-edge      ehci-pci' },
    { irq: 123, description: 'IR-PCI-MSI 0-edge      snd_hda_intel' },
    { irq: 124, description: 'IR-PCI-MSI 0-edge      ehci-pci' },
    { irq: 125, description: 'IR-PCI-MSI 0-edge      lpc_ich' },
    { irq: 126, description: 'IR-PCI-MSI 0-edge      ahci' },
    { irq: 127, description: 'IR-PCI-MSI 0-edge      i801_smbus' },
    { irq: 128, description: 'IR-PCI-MSI 1572864-edge      atl1c' },
  ]);
});

t.test('64 CPU columns (lab)', async (t) => {
  const interrupts = readInterrupts(host('lab'));
  t.equal(interrupts.length, 19);
  t.strictSame(interrupts.at(-1), { irq: 134, description: 'IR-PCI-MSI 2097152-edge      nvme' });
});

t.test('real formats: counts of any width, vfio names, lines without a number left out', async (t) => {
  const sysroot = sysrootOf(t, {
    'proc/interrupts': [
      '            CPU0       CPU1       CPU2       CPU3',
      '   0:         46          0          0          0   IO-APIC   2-edge      timer',
      ' 137:   12345678          0          3          0  IR-PCI-MSI 524288-edge      vfio-msi[0](0000:01:00.0)',
      ' 138:          0          0          0          0  IR-PCI-MSIX-0000:01:00.1    0-edge      vfio-msix[0](0000:01:00.1)',
      '  16:          0          0          0          0  IR-IO-APIC   16-fasteoi   vfio-intx(0000:05:00.0)',
      ' NMI:          1          2          3          4   Non-maskable interrupts',
      ' LOC:    9999999    8888888    7777777    6666666   Local timer interrupts',
      ' ERR:          0',
      ' MIS:          0',
      '',
    ].join('\n'),
  });
  t.strictSame(readInterrupts(sysroot), [
    { irq: 0, description: 'IO-APIC   2-edge      timer' },
    { irq: 137, description: 'IR-PCI-MSI 524288-edge      vfio-msi[0](0000:01:00.0)' },
    { irq: 138, description: 'IR-PCI-MSIX-0000:01:00.1    0-edge      vfio-msix[0](0000:01:00.1)' },
    { irq: 16, description: 'IR-IO-APIC   16-fasteoi   vfio-intx(0000:05:00.0)' },
  ], 'in file order');
});

t.test('no /proc/interrupts: none', async (t) => {
  t.strictSame(readInterrupts(sysrootOf(t, {})), []);
});

t.test('vfioDeviceOf: the device in vfio-msi, vfio-msix and vfio-intx names', async (t) => {
  const of = (description: string) => vfioDeviceOf({ irq: 1, description });
  t.equal(of('IR-PCI-MSI 524288-edge      vfio-msi[0](0000:01:00.0)'), '0000:01:00.0');
  t.equal(of('IR-PCI-MSIX-0000:01:00.1    3-edge      vfio-msix[3](0000:01:00.1)'), '0000:01:00.1');
  t.equal(of('PCI-MSIX-0000:65:00.0  12-edge      vfio-msix[12](0000:65:00.0)'), '0000:65:00.0', 'two-digit vector');
  t.equal(of('IR-IO-APIC   16-fasteoi   vfio-intx(0000:05:00.0)'), '0000:05:00.0');
  t.equal(of('IO-APIC   16-fasteoi   ehci_hcd:usb1, vfio-intx(0000:00:1a.0)'), '0000:00:1a.0', 'a shared line');
});

t.test('vfioDeviceOf: undefined for other holders', async (t) => {
  const of = (description: string) => vfioDeviceOf({ irq: 1, description });
  t.equal(of('PCI-MSI 524288-edge      nvidia'), undefined);
  t.equal(of('IR-PCI-MSIX-0000:01:00.1    0-edge      snd_hda_intel:card0'), undefined, 'the address in the chip name is not a vfio IRQ');
  t.equal(of('PCI-MSI 0-edge      vfio-msi(0000:01:00.0)'), undefined, 'no vector index');
  t.equal(of('PCI-MSI 0-edge      novfio-msi[0](0000:01:00.0)'), undefined, 'vfio- starts a word');
});

t.test('parseInterruptCounts: every line counted per CPU, by the header\'s CPU numbers; one-count lines left out', async (t) => {
  const counts = parseInterruptCounts(
    [
      '           CPU0       CPU2       CPU3',
      '   0:         46          0          7   IO-APIC   2-edge      timer',
      ' 137: 4294967295          1          3  IR-PCI-MSI 524288-edge      vfio-msi[0](0000:01:00.0)',
      ' LOC:    9999999    8888888    7777777   Local timer interrupts',
      ' RES:         12         34         56   Rescheduling interrupts',
      ' ERR:          0',
      ' MIS:          0',
      '',
    ].join('\n'),
  );
  t.strictSame(counts?.cpus, [0, 2, 3], 'CPU 1 is offline: it has no column');
  t.strictSame([...counts!.lines], [
    ['0', [46, 0, 7]],
    ['137', [4294967295, 1, 3]],
    ['LOC', [9999999, 8888888, 7777777]],
    ['RES', [12, 34, 56]],
  ]);
  t.equal(parseInterruptCounts(''), undefined, 'no header: nothing');
});

t.test('readInterruptCounts: the fake lab host, 64 columns; this machine', async (t) => {
  t.equal(readInterruptCounts(host('lab'))?.cpus.length, 64);
  const live = readInterruptCounts(new Sysroot('/'));
  t.ok(live && live.cpus.length > 0 && live.lines.has('LOC') === (process.arch === 'x64'), 'this machine\'s, LOC among them on x86');
});
