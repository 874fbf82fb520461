// The libvirt export writes down a guest PCI address for every device boot-vm leaves to QEMU
// (lib/export/guest-slots.ts): here this machine's real QEMU runs boot-vm's own command line (with
// the stand-ins of fixtures/standin.ts) and its pcie.0 must hold devices at exactly the slots the
// XML names. REQUIRE_QEMU=1 (set by .ci/run) turns a missing QEMU into a failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { detectQemuVersion } from '../../lib/apply/probe-qemu.js';
import { libvirtDomain } from '../../lib/export/libvirt.js';
import { readUefiFirmwares } from '../../lib/host/firmware.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import type { QemuVersion } from '../../lib/qemu/version.js';
import { FIXTURES, planOn } from '../fixtures/helpers.js';
import { ROM, qemuUnavailable, withQemu } from '../fixtures/qemu-run.js';
import { standIn } from '../fixtures/standin.js';

/** Cases with devices QEMU places itself: a VGA, SCSI, virtio and NVMe disks, NICs, shared memory, a USB controller's root port. */
const CASES = ['looking-glass', 'disks-all-buses', 'network-backends', 'usb-devices'];

/** `slot.function` of every device the XML puts on pcie.0, in elements and in qemu:commandline -device values. */
function xmlSlots(xml: string): string[] {
  const elements = [...xml.matchAll(/<address type='pci' domain='0x0000' bus='0x00' slot='(0x[0-9a-f]+)' function='(0x[0-7])'/g)].map((match) => `${Number(match[1])}.${Number(match[2])}`);
  const commandline = [...xml.matchAll(/<qemu:arg value='[^']*,bus=pcie\.0,addr=(0x[0-9a-f]+)[,']/g)].map((match) => `${Number(match[1])}.0`);
  return [...elements, ...commandline].sort();
}

if (!qemuUnavailable(t, ROM)) {
  const version = (detectQemuVersion('qemu-system-x86_64', process.env) as { version: QemuVersion }).version;
  const firmwares = readUefiFirmwares(new Sysroot('/'), `pc-q35-${version.major}.${version.minor}`);
  for (const name of CASES) {
    t.test(`${name}: QEMU puts boot-vm's devices where the libvirt XML says`, async (t) => {
      const plan = planOn(join(FIXTURES, 'argv', `${name}.yaml`), 'lab', { qemuVersion: version });
      const dir = mkdtempSync(join(tmpdir(), 'boot-vm-slots-'));
      const memoryDir = mkdtempSync('/dev/shm/boot-vm-mem-');
      t.teardown(() => {
        rmSync(dir, { recursive: true, force: true });
        rmSync(memoryDir, { recursive: true, force: true });
      });
      const stand = standIn(plan.argv, { dir, memoryDir, firmwares, rom: ROM });
      const expected = xmlSlots(libvirtDomain(plan));
      await withQemu(t, stand.argv, stand.qmp, async (qmp) => {
        const buses = await qmp.execute<{ bus: number; devices: { slot: number; function: number }[] }[]>('query-pci');
        // Slot 0 is the host bridge, 0x1f the chipset's own functions: the machine's, in no XML.
        const actual = buses
          .find((bus) => bus.bus === 0)!
          .devices.filter((device) => device.slot !== 0 && device.slot !== 0x1f)
          .map((device) => `${device.slot}.${device.function}`)
          .sort();
        t.same(actual, expected, 'the same slots on pcie.0');
      });
    });
  }
}
