// planVfioBinding and planRescan (lib/plan/steps/vfio.ts): the bind-to-vfio-pci step of each
// passed device (driver_override or new_id, with their undo in the right order), its skip reasons,
// and the IOMMU group check that names the group's other members that would block VFIO.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Sysroot } from '../../../lib/host/sysroot.js';
import type { Action } from '../../../lib/plan/step.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planRescan, planVfioBinding } from '../../../lib/plan/steps/vfio.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder, tree } from '../../fixtures/trees.js';

const MEMORY = { size: '4G' };

function contextOf(data: Record<string, unknown>, sysroot: Sysroot): { context: StepContext; reports: string[] } {
  const { report, reports } = recorder();
  return { context: { name: 'vm', profile: profileOf({ memory: MEMORY, ...data }), sysroot, report }, reports };
}

interface Device {
  address: string;
  class?: number;
  driver?: string;
  group?: number;
}

/** A small sysfs with PCI devices, their driver links and IOMMU groups, laid out as the kernel does. */
function pciHost(t: Test, devices: Device[]): Sysroot {
  const files: Record<string, string> = {};
  for (const device of devices) {
    const dir = `sys/bus/pci/devices/${device.address}`;
    files[`${dir}/vendor`] = '0x8086\n';
    files[`${dir}/device`] = '0x1234\n';
    if (device.class !== undefined) files[`${dir}/class`] = `0x${device.class.toString(16).padStart(6, '0')}\n`;
  }
  const root = tree(t, files);
  for (const device of devices) {
    const dir = join(root, `sys/bus/pci/devices/${device.address}`);
    if (device.driver) {
      mkdirSync(join(root, `sys/bus/pci/drivers/${device.driver}`), { recursive: true });
      symlinkSync(`../../../../bus/pci/drivers/${device.driver}`, join(dir, 'driver'));
    }
    if (device.group !== undefined) {
      const groupDir = join(root, `sys/kernel/iommu_groups/${device.group}/devices`);
      mkdirSync(groupDir, { recursive: true });
      symlinkSync(`../../../../bus/pci/devices/${device.address}`, join(groupDir, device.address));
      symlinkSync(`../../../../kernel/iommu_groups/${device.group}`, join(dir, 'iommu_group'));
    }
  }
  return new Sysroot(root);
}

const trigger = (path: string, value: string): Action => ({ kind: 'trigger', path, value });
const restore = (path: string): Action => ({ kind: 'restore', path });
const wait = (device: string): Action => ({ kind: 'wait-driver', device, driver: 'vfio-pci', timeoutMs: 10_000 });

t.test('driver_override: set the override, unbind the old driver, probe, wait for vfio-pci', async (t) => {
  const { context, reports } = contextOf({ passthrough: [{ host: '01:00.0' }, { host: '01:00.1' }] }, host('lab'));
  const steps = planVfioBinding(context);
  t.strictSame(reports, [], 'the whole group is passed');
  t.equal(steps.length, 2);
  t.strictSame(steps[0], {
    id: 'bind-vfio 0000:01:00.0',
    phase: 'prepare',
    title: 'bind 0000:01:00.0 [10de:2684] to vfio-pci',
    from: ['passthrough[0].host', 'host.bindVfio'],
    notes: ['now on nvidia, which gets it back afterwards'],
    actions: [
      { do: { kind: 'set', path: '/sys/bus/pci/devices/0000:01:00.0/driver_override', value: 'vfio-pci' }, undo: [restore('/sys/bus/pci/devices/0000:01:00.0/driver_override')] },
      { do: trigger('/sys/bus/pci/drivers/nvidia/unbind', '0000:01:00.0'), undo: [trigger('/sys/bus/pci/drivers/nvidia/bind', '0000:01:00.0')] },
      {
        do: trigger('/sys/bus/pci/drivers_probe', '0000:01:00.0'),
        undo: [trigger('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:01:00.0'), restore('/sys/bus/pci/devices/0000:01:00.0/driver_override')],
      },
      { do: wait('0000:01:00.0'), undo: [] },
    ],
  });
  t.equal(steps[1]!.title, 'bind 0000:01:00.1 [10de:22ba] to vfio-pci');
  t.strictSame(steps[1]!.notes, ['now on snd_hda_intel, which gets it back afterwards']);
  t.strictSame(steps[1]!.from, ['passthrough[1].host', 'host.bindVfio']);
});

t.test('driver_override undo, in the order it runs: leave vfio-pci, clear the override, rebind the old driver', async (t) => {
  const { context } = contextOf({ passthrough: [{ host: '01:00.0' }, { host: '01:00.1' }] }, host('lab'));
  const undo = [...planVfioBinding(context)[0]!.actions!].reverse().flatMap((action) => action.undo);
  t.strictSame(undo, [
    trigger('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:01:00.0'),
    restore('/sys/bus/pci/devices/0000:01:00.0/driver_override'),
    trigger('/sys/bus/pci/drivers/nvidia/bind', '0000:01:00.0'),
    restore('/sys/bus/pci/devices/0000:01:00.0/driver_override'),
  ]);
});

t.test('new_id: unbind the old driver, give vfio-pci the ids; undo removes the id, leaves vfio-pci, rebinds', async (t) => {
  const { context, reports } = contextOf({ passthrough: [{ host: '01:00.0' }, { host: '01:00.1' }], host: { bindMethod: 'new-id' } }, host('lab'));
  const steps = planVfioBinding(context);
  t.strictSame(reports, []);
  t.strictSame(steps[1], {
    id: 'bind-vfio 0000:01:00.1',
    phase: 'prepare',
    title: 'bind 0000:01:00.1 [10de:22ba] to vfio-pci',
    from: ['passthrough[1].host', 'host.bindVfio', 'host.bindMethod'],
    notes: ['now on snd_hda_intel, which gets it back afterwards', 'new_id binds every unbound device with ids 10de:22ba, not only this one'],
    actions: [
      { do: trigger('/sys/bus/pci/drivers/snd_hda_intel/unbind', '0000:01:00.1'), undo: [trigger('/sys/bus/pci/drivers/snd_hda_intel/bind', '0000:01:00.1')] },
      {
        do: trigger('/sys/bus/pci/drivers/vfio-pci/new_id', '10de 22ba'),
        undo: [trigger('/sys/bus/pci/drivers/vfio-pci/remove_id', '10de 22ba'), trigger('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:01:00.1')],
      },
      { do: wait('0000:01:00.1'), undo: [] },
    ],
  });
  const undo = [...steps[1]!.actions!].reverse().flatMap((action) => action.undo);
  t.strictSame(
    undo.map((action) => (action.kind === 'trigger' ? action.path.split('/').slice(-2).join('/') : action.kind)),
    ['vfio-pci/remove_id', 'vfio-pci/unbind', 'snd_hda_intel/bind'],
  );
});

t.test('a device no driver has: nothing to unbind, and nothing to rebind afterwards', async (t) => {
  const sysroot = pciHost(t, [{ address: '0000:05:00.0', class: 0x0c0330, group: 5 }]);
  const override = '/sys/bus/pci/devices/0000:05:00.0/driver_override';
  const { context: byOverride } = contextOf({ passthrough: [{ host: '05:00.0' }] }, sysroot);
  const [step] = planVfioBinding(byOverride);
  t.strictSame(step!.notes, ['no driver has it now']);
  t.strictSame(step!.actions!.map((action) => action.do), [{ kind: 'set', path: override, value: 'vfio-pci' }, trigger('/sys/bus/pci/drivers_probe', '0000:05:00.0'), wait('0000:05:00.0')]);
  const { context: byNewId } = contextOf({ passthrough: [{ host: '05:00.0' }], host: { bindMethod: 'new-id' } }, sysroot);
  const [newId] = planVfioBinding(byNewId);
  t.strictSame(newId!.notes, ['no driver has it now', 'new_id binds every unbound device with ids 8086:1234, not only this one']);
  t.strictSame(newId!.actions!.map((action) => action.do), [trigger('/sys/bus/pci/drivers/vfio-pci/new_id', '8086 1234'), wait('0000:05:00.0')]);
});

t.test('skipped when the device is on vfio-pci already (the blog’s vfio.conf)', async (t) => {
  const { context, reports } = contextOf({ passthrough: [{ host: '01:00.0' }, { host: '0000:01:00.1' }] }, host('z77-i5-2500'));
  t.strictSame(planVfioBinding(context), [
    { id: 'bind-vfio 0000:01:00.0', phase: 'prepare', title: 'bind 0000:01:00.0 [10de:1b81] to vfio-pci', from: ['passthrough[0].host', 'host.bindVfio'], skip: 'already on vfio-pci' },
    { id: 'bind-vfio 0000:01:00.1', phase: 'prepare', title: 'bind 0000:01:00.1 [10de:10f0] to vfio-pci', from: ['passthrough[1].host', 'host.bindVfio'], skip: 'already on vfio-pci' },
  ]);
  t.strictSame(reports, [], 'the root port (pcieport) in group 1 does not block it');
});

t.test('host.bindVfio false: no step, but the IOMMU group is still checked', async (t) => {
  const ok = contextOf({ passthrough: [{ host: '04:00.0' }], host: { bindVfio: false } }, host('lab'));
  t.strictSame(planVfioBinding(ok.context), []);
  t.strictSame(ok.reports, []);
  const shared = contextOf({ passthrough: [{ host: '03:00.1' }], host: { bindVfio: false } }, host('lab'));
  t.strictSame(planVfioBinding(shared.context), []);
  t.equal(shared.reports.length, 1);
});

t.test('a device the host lacks: no step and no report here (the host checks report it)', async (t) => {
  const { context, reports } = contextOf({ passthrough: [{ host: '09:00.0' }] }, host('lab'));
  t.strictSame(planVfioBinding(context), []);
  t.strictSame(reports, []);
});

t.test('no passthrough: no steps', async (t) => {
  const { context, reports } = contextOf({}, host('lab'));
  t.strictSame(planVfioBinding(context), []);
  t.strictSame(reports, []);
});

t.test('a group member on a host driver is named, and the device is still planned', async (t) => {
  const { context, reports } = contextOf({ passthrough: [{ host: '03:00.1' }] }, host('lab'));
  const steps = planVfioBinding(context);
  t.strictSame(reports, [
    "passthrough[0].host: 0000:03:00.1's IOMMU group also holds 0000:03:00.2 (xhci_hcd), not in the profile; pass it too, or unbind it from its driver, or move the card to another slot",
  ]);
  t.strictSame(
    steps.map((step) => step.id),
    ['bind-vfio 0000:03:00.1'],
  );
});

t.test('several strangers are named in the plural; each passed member of the group reports them', async (t) => {
  const sysroot = pciHost(t, [
    { address: '0000:07:00.0', class: 0x030000, driver: 'nouveau', group: 7 },
    { address: '0000:07:00.1', class: 0x040300, driver: 'snd_hda_intel', group: 7 },
    { address: '0000:07:00.2', class: 0x0c0330, driver: 'xhci_hcd', group: 7 },
    { address: '0000:07:00.3', class: 0x0c8000, driver: 'nvidia-gpu', group: 7 },
  ]);
  const { context, reports } = contextOf({ passthrough: [{ host: '07:00.0' }, { host: '07:00.1' }], host: { bindVfio: false } }, sysroot);
  planVfioBinding(context);
  const tail = 'not in the profile; pass them too, or unbind them from their drivers, or move the card to another slot';
  t.strictSame(reports, [
    `passthrough[0].host: 0000:07:00.0's IOMMU group also holds 0000:07:00.2 (xhci_hcd), 0000:07:00.3 (nvidia-gpu), ${tail}`,
    `passthrough[1].host: 0000:07:00.1's IOMMU group also holds 0000:07:00.2 (xhci_hcd), 0000:07:00.3 (nvidia-gpu), ${tail}`,
  ]);
});

t.test('members on vfio-pci, pci-stub, pcieport or no driver, and bridges on any driver, do not block the group', async (t) => {
  const sysroot = pciHost(t, [
    { address: '0000:08:00.0', class: 0x030000, driver: 'amdgpu', group: 8 },
    { address: '0000:08:00.1', class: 0x040300, driver: 'vfio-pci', group: 8 },
    { address: '0000:08:00.2', class: 0x0c0330, driver: 'pci-stub', group: 8 },
    { address: '0000:08:00.3', class: 0x0c0330, group: 8 },
    { address: '0000:00:03.0', class: 0x060400, driver: 'pcieport', group: 8 },
    { address: '0000:00:03.1', class: 0x060400, driver: 'shpchp', group: 8 },
  ]);
  const { context, reports } = contextOf({ passthrough: [{ host: '08:00.0' }] }, sysroot);
  t.equal(planVfioBinding(context).length, 1);
  t.strictSame(reports, []);
});

t.test('a member without a class file is no bridge: on a host driver it blocks', async (t) => {
  const sysroot = pciHost(t, [
    { address: '0000:08:00.0', class: 0x030000, driver: 'amdgpu', group: 8 },
    { address: '0000:08:00.1', driver: 'mystery', group: 8 },
  ]);
  const { context, reports } = contextOf({ passthrough: [{ host: '08:00.0' }], host: { bindVfio: false } }, sysroot);
  planVfioBinding(context);
  t.strictSame(reports, [
    "passthrough[0].host: 0000:08:00.0's IOMMU group also holds 0000:08:00.1 (mystery), not in the profile; pass it too, or unbind it from its driver, or move the card to another slot",
  ]);
});

t.test('a device without an IOMMU group: the IOMMU is probably off', async (t) => {
  const sysroot = pciHost(t, [{ address: '0000:08:00.0', class: 0x030000, driver: 'amdgpu' }]);
  const { context, reports } = contextOf({ passthrough: [{ host: '08:00.0' }] }, sysroot);
  t.equal(planVfioBinding(context).length, 1, 'the bind step is still planned');
  t.strictSame(reports, ['passthrough[0].host: 0000:08:00.0 has no IOMMU group: is the IOMMU on (intel_iommu=on or amd_iommu=on)?']);
});

// The kernel (vfio_dev_driver_allowed) exempts group members whose PCI header type is not "normal"
// (PCI-to-PCI and CardBus bridges), not every base-class-0x06 device: an ISA/LPC bridge (0x0601)
// has a normal header, and bound to lpc_ich it makes the group unusable.
t.test('an LPC bridge on lpc_ich in the group is named', async (t) => {
  const { context, reports } = contextOf({ passthrough: [{ host: '00:1f.2' }, { host: '00:1f.3' }], host: { bindVfio: false } }, host('z77-i5-2500'));
  planVfioBinding(context);
  t.equal(reports.length, 2, 'both passed members report it');
  t.match(reports.join('\n'), /0000:00:1f\.0 \(lpc_ich\)/, 'the LPC bridge is named');
});

t.test('planRescan: only with host.rescan, a trigger with nothing to undo', async (t) => {
  t.strictSame(planRescan(contextOf({}, host('lab')).context), []);
  t.strictSame(planRescan(contextOf({ host: { rescan: true } }, host('lab')).context), [
    { id: 'pci-rescan', phase: 'prepare', title: 'rescan the PCI bus', from: ['host.rescan'], actions: [{ do: trigger('/sys/bus/pci/rescan', '1'), undo: [] }] },
  ]);
});
