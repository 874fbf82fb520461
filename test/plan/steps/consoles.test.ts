// planConsoles (lib/plan/steps/consoles.ts): the bound virtual consoles and framebuffers let go
// of the boot GPU before it is bound to vfio-pci; `auto` does it only when a passed device is
// the boot GPU, `true` always, `false` never.
import t from 'tap';
import type { Sysroot } from '../../../lib/host/sysroot.js';
import { planConsoles } from '../../../lib/plan/steps/consoles.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

function contextOf(data: Record<string, unknown>, sysroot: Sysroot): StepContext {
  return { name: 'vm', profile: profileOf({ memory: { size: '4G' }, ...data }), sysroot, report: recorder().report };
}

const BASE = { id: 'unbind-consoles', phase: 'prepare', title: 'unbind the virtual consoles and framebuffers from the boot GPU', from: ['host.unbindConsoles'] };

const FREE_Z77 = [
  { do: { kind: 'set', path: '/sys/class/vtconsole/vtcon1/bind', value: '0' }, undo: [{ kind: 'restore', path: '/sys/class/vtconsole/vtcon1/bind' }] },
  {
    do: { kind: 'trigger', path: '/sys/bus/platform/drivers/efi-framebuffer/unbind', value: 'efi-framebuffer.0' },
    undo: [{ kind: 'trigger', path: '/sys/bus/platform/drivers/efi-framebuffer/bind', value: 'efi-framebuffer.0' }],
  },
];

t.test('auto, passing the boot GPU: the bound console (not the unbound dummy) and the EFI framebuffer', async (t) => {
  t.strictSame(planConsoles(contextOf({ passthrough: [{ host: '01:00.1' }, { host: '01:00.0', vga: true }] }, host('z77-i5-2500'))), [
    { ...BASE, notes: ['0000:01:00.0 is the boot GPU: the host\'s text console is on it'], actions: FREE_Z77 },
  ]);
});

t.test('auto, passing another GPU: skipped', async (t) => {
  t.strictSame(planConsoles(contextOf({ passthrough: [{ host: '02:00.0' }, { host: '02:00.1' }] }, host('lab'))), [{ ...BASE, skip: 'no passed device is the boot GPU (boot_vga)' }]);
  t.strictSame(planConsoles(contextOf({ passthrough: [{ host: '65:00.0' }] }, host('inspur-nf5212m5'))), [{ ...BASE, skip: 'no passed device is the boot GPU (boot_vga)' }], 'the BMC’s GPU is the boot GPU there');
});

t.test('auto without passthrough, or false: no step', async (t) => {
  t.strictSame(planConsoles(contextOf({}, host('z77-i5-2500'))), []);
  t.strictSame(planConsoles(contextOf({ passthrough: [{ host: '01:00.0' }], host: { unbindConsoles: false } }, host('z77-i5-2500'))), []);
});

t.test('true: unbinds even when no passed device is the boot GPU, and without passthrough', async (t) => {
  t.strictSame(planConsoles(contextOf({ passthrough: [{ host: '02:00.0' }], host: { unbindConsoles: true } }, host('lab'))), [{ ...BASE, notes: [], actions: FREE_Z77 }]);
  t.strictSame(planConsoles(contextOf({ host: { unbindConsoles: true } }, host('lab'))), [{ ...BASE, notes: [], actions: FREE_Z77 }]);
});

t.test('the boot GPU is found by its full address, whatever the profile’s spelling', async (t) => {
  const [step] = planConsoles(contextOf({ passthrough: [{ host: '0000:01:00.0' }] }, host('lab')));
  t.strictSame(step!.notes, ['0000:01:00.0 is the boot GPU: the host\'s text console is on it']);
});

t.test('nothing bound: skipped, with the note about the boot GPU', async (t) => {
  const sysroot = sysrootOf(t, {
    'sys/bus/pci/devices/0000:01:00.0/boot_vga': '1\n',
    'sys/class/vtconsole/vtcon0/bind': '0\n',
    'sys/class/vtconsole/vtcon1/bind': '0\n',
    'sys/bus/platform/drivers/efi-framebuffer/unbind': '',
  });
  t.strictSame(planConsoles(contextOf({ passthrough: [{ host: '01:00.0' }] }, sysroot)), [
    { ...BASE, notes: ['0000:01:00.0 is the boot GPU: the host\'s text console is on it'], skip: 'no console or framebuffer is bound' },
  ]);
  t.strictSame(planConsoles(contextOf({ host: { unbindConsoles: true } }, sysrootOf(t, {}))), [{ ...BASE, notes: [], skip: 'no console or framebuffer is bound' }]);
});

t.test('every bound console, then every framebuffer (simplefb on this one)', async (t) => {
  const sysroot = sysrootOf(t, {
    'sys/bus/pci/devices/0000:01:00.0/boot_vga': '1\n',
    'sys/class/vtconsole/vtcon0/bind': '1\n',
    'sys/class/vtconsole/vtcon1/bind': '1\n',
    'sys/bus/platform/drivers/simple-framebuffer/simple-framebuffer.0/uevent': '',
  });
  const [step] = planConsoles(contextOf({ passthrough: [{ host: '01:00.0' }] }, sysroot));
  t.strictSame(
    step!.actions!.map(({ do: action }) => (action.kind === 'set' || action.kind === 'trigger' ? `${action.path} ${action.value}` : action.kind)),
    ['/sys/class/vtconsole/vtcon0/bind 0', '/sys/class/vtconsole/vtcon1/bind 0', '/sys/bus/platform/drivers/simple-framebuffer/unbind simple-framebuffer.0'],
  );
});
