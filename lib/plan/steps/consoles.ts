/** Frees the boot GPU from the host's consoles, as the blog's on-boot.sh does before binding it. */
import { readFramebuffers, readVtconsoles } from '../../host/consoles.js';
import { isBootVga } from '../../host/pci.js';
import { formatPciAddress, parsePciAddress } from '../../pci-address.js';
import type { StepContext } from './context.js';
import { setValue, type StepAction, type StepDraft } from '../step.js';

export function planConsoles({ profile, sysroot }: StepContext): StepDraft[] {
  const setting = profile.host.unbindConsoles;
  if (setting === false || (setting === 'auto' && profile.passthrough.length === 0)) return [];
  const bootGpu = profile.passthrough.map((device) => formatPciAddress(parsePciAddress(device.host)!)).find((address) => isBootVga(sysroot, address));
  const step: StepDraft = { id: 'unbind-consoles', phase: 'prepare', title: 'unbind the virtual consoles and framebuffers from the boot GPU', from: ['host.unbindConsoles'] };
  if (setting === 'auto' && !bootGpu) return [{ ...step, skip: 'no passed device is the boot GPU (boot_vga)' }];
  const actions: StepAction[] = [
    ...readVtconsoles(sysroot)
      .filter((console) => console.bound)
      .map((console) => setValue(`${console.dir}/bind`, '0')),
    ...readFramebuffers(sysroot).map(({ driver, device }) => ({
      do: { kind: 'trigger' as const, path: `/sys/bus/platform/drivers/${driver}/unbind`, value: device },
      undo: [{ kind: 'trigger' as const, path: `/sys/bus/platform/drivers/${driver}/bind`, value: device }],
    })),
  ];
  const notes = bootGpu ? [`${bootGpu} is the boot GPU: the host's text console is on it`] : [];
  if (actions.length === 0) return [{ ...step, notes, skip: 'no console or framebuffer is bound' }];
  return [{ ...step, notes, actions }];
}
