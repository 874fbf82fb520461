import { arg, type Arg, type BuildInput } from './arg.js';
import { ruleNote, supports } from './features.js';
import { MEMORY_BACKEND_ID, type MemoryBackend } from './memory.js';
import { formatProps, onOff, type PropValue } from './props.js';

/** `-machine q35,accel=kvm,vmport=off,…`, collecting the machine properties other concerns need. */
export function buildMachine({ profile, version, firmware }: BuildInput, memoryBackend: MemoryBackend | undefined): Arg[] {
  const { machine, clock } = profile;
  const from = ['machine.type', 'machine.accel', 'machine.vmport', 'machine.dumpGuestCore'];
  const notes: string[] = [];
  let hpet: PropValue;
  if (clock.hpet !== undefined && supports(version, 'machineHpet')) {
    hpet = onOff(clock.hpet);
    from.push('clock.hpet');
    // Turning the HPET off is what used to be -no-hpet; say why it is spelled this way.
    if (!clock.hpet) notes.push(ruleNote(version, 'machineHpet', 'noHpet'));
  }
  const smm = firmware?.smm ? 'on' : undefined;
  if (smm) {
    from.push('firmware');
    notes.push(`smm=on ← ${firmware!.source} requires SMM`);
  }
  let memoryBackendId: string | undefined;
  // Per-node backends (memory.numa: mirror) are attached by -numa node,memdev= instead.
  if (memoryBackend && !memoryBackend.nodes && supports(version, 'machineMemoryBackend')) {
    memoryBackendId = MEMORY_BACKEND_ID;
    from.push('memory');
    notes.push(ruleNote(version, 'machineMemoryBackend'));
  }
  if (machine.kernelIrqchip) from.push('machine.kernelIrqchip');
  const props = formatProps(machine.type, [
    ['accel', machine.accel],
    ['vmport', onOff(machine.vmport)],
    ['dump-guest-core', onOff(machine.dumpGuestCore)],
    ['kernel-irqchip', machine.kernelIrqchip],
    ['hpet', hpet],
    ['smm', smm],
    ['memory-backend', memoryBackendId],
  ]);
  return [arg(['-machine', props], from, notes)];
}
