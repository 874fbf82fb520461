// planNvram (lib/plan/steps/nvram.ts): the UEFI variable store is made from the template when it
// is missing, with mode 0600 and host.runAs's owner; kept as it is when it exists, unless
// --reset-nvram; no step without OVMF or without a known template.
import t, { type Test } from 'tap';
import type { ResolvedFirmware } from '../../../lib/qemu/arg.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planNvram } from '../../../lib/plan/steps/nvram.js';
import { profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

const FIRMWARE: ResolvedFirmware = { code: '/fw/CODE.fd', vars: '/var/lib/boot-vm/nvram/vm_VARS.fd', varsTemplate: '/fw/VARS.fd', secureBoot: false, smm: false, source: 'firmware.code' };

function contextOf(t: Test, files: Record<string, string>, extra: Partial<StepContext> = {}): StepContext {
  return { name: 'vm', profile: profileOf({ memory: { size: '4G' }, firmware: { type: 'ovmf' } }), sysroot: sysrootOf(t, files), report: recorder().report, firmware: FIRMWARE, ...extra };
}

t.test('a missing store is made from the template, mode 0600, owned by root', async (t) => {
  t.strictSame(planNvram(contextOf(t, { 'fw/VARS.fd': '' })), [
    {
      id: 'nvram',
      phase: 'prepare',
      from: ['firmware.vars', 'firmware.varsTemplate'],
      title: 'create the UEFI variable store /var/lib/boot-vm/nvram/vm_VARS.fd from /fw/VARS.fd, mode 0600',
      notes: ["kept afterwards: it holds the guest's UEFI settings"],
      actions: [{ do: { kind: 'copy-file', from: '/fw/VARS.fd', to: '/var/lib/boot-vm/nvram/vm_VARS.fd', mode: 0o600 }, undo: [] }],
    },
  ]);
});

t.test('with host.runAs the store is made for that user', async (t) => {
  const owner = { user: 'qemu', uid: 107, gid: 107 };
  const [step] = planNvram(contextOf(t, {}, { runAs: owner }));
  t.equal(step!.title, 'create the UEFI variable store /var/lib/boot-vm/nvram/vm_VARS.fd from /fw/VARS.fd, mode 0600, owned by qemu');
  t.strictSame(step!.from, ['firmware.vars', 'firmware.varsTemplate', 'host.runAs']);
  t.strictSame(step!.actions, [{ do: { kind: 'copy-file', from: '/fw/VARS.fd', to: '/var/lib/boot-vm/nvram/vm_VARS.fd', mode: 0o600, owner }, undo: [] }]);
});

t.test('an existing store is kept; --reset-nvram makes it again', async (t) => {
  const files = { 'var/lib/boot-vm/nvram/vm_VARS.fd': 'the guest wrote this' };
  const [kept] = planNvram(contextOf(t, files));
  t.equal(kept!.skip, 'it exists; --reset-nvram makes it again from the template');
  t.strictSame(kept!.actions, undefined);
  const [reset] = planNvram(contextOf(t, files, { resetNvram: true }));
  t.equal(reset!.skip, undefined);
  t.equal(reset!.title, 're-create (--reset-nvram) the UEFI variable store /var/lib/boot-vm/nvram/vm_VARS.fd from /fw/VARS.fd, mode 0600');
  t.strictSame(reset!.actions!.map((action) => action.do.kind), ['copy-file']);
});

t.test('no step for SeaBIOS, or when no template is known (the firmware reports that)', async (t) => {
  t.strictSame(planNvram(contextOf(t, {}, { firmware: undefined })), []);
  t.strictSame(planNvram(contextOf(t, {}, { firmware: { ...FIRMWARE, varsTemplate: '' } })), []);
});
