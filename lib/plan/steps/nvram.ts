/**
 * The VM's own UEFI variable store (firmware.vars), made from the firmware's template when it is
 * missing, or again on --reset-nvram. It is the guest's UEFI state (boot entries, Secure Boot
 * keys), so nothing undoes it.
 */
import type { StepDraft } from '../step.js';
import type { StepContext } from './context.js';

export function planNvram({ sysroot, firmware, runAs, resetNvram }: StepContext): StepDraft[] {
  // No template known is an error of the firmware's own (firmware.varsTemplate).
  if (!firmware || firmware.varsTemplate === '') return [];
  const { vars, varsTemplate } = firmware;
  const exists = sysroot.exists(vars);
  const step = { id: 'nvram', phase: 'prepare' as const, from: ['firmware.vars', 'firmware.varsTemplate', ...(runAs ? ['host.runAs'] : [])] };
  if (exists && !resetNvram) return [{ ...step, title: `create the UEFI variable store ${vars}`, skip: 'it exists; --reset-nvram makes it again from the template' }];
  return [
    {
      ...step,
      title: `${exists ? 're-create (--reset-nvram)' : 'create'} the UEFI variable store ${vars} from ${varsTemplate}, mode 0600${runAs ? `, owned by ${runAs.user}` : ''}`,
      notes: ["kept afterwards: it holds the guest's UEFI settings"],
      actions: [{ do: { kind: 'copy-file', from: varsTemplate, to: vars, mode: 0o600, ...(runAs ? { owner: runAs } : {}) }, undo: [] }],
    },
  ];
}
