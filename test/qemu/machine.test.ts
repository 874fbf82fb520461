import t from 'tap';
import type { ResolvedFirmware } from '../../lib/qemu/arg.js';
import { buildMachine } from '../../lib/qemu/machine.js';
import { chooseMemoryBackend } from '../../lib/qemu/memory.js';
import { buildInput, type InputOptions, type ProfileData } from '../fixtures/build-input.js';

const machineOf = (data: ProfileData, options: InputOptions = {}) => {
  const input = buildInput(data, options);
  return buildMachine(input, chooseMemoryBackend(input));
};

const ovmf: ResolvedFirmware = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  vars: '/var/lib/boot-vm/vm_VARS.fd',
  varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
  secureBoot: true,
  smm: true,
  source: '/usr/share/qemu/firmware/50-edk2-ovmf-4m-secboot.json',
};

t.test('the defaults', async (t) => {
  t.strictSame(machineOf({}), [{ words: ['-machine', 'q35,accel=kvm,vmport=off,dump-guest-core=off'], from: ['machine.type', 'machine.accel', 'machine.vmport', 'machine.dumpGuestCore'], notes: [] }]);
});

t.test('every property, in order', async (t) => {
  const [machine] = machineOf(
    { machine: { type: 'pc-q35-7.2', accel: 'tcg', vmport: true, dumpGuestCore: true, kernelIrqchip: 'split' }, clock: { hpet: false }, memory: { size: '4G', backend: 'memfd' } },
    { version: '7.2', firmware: ovmf },
  );
  t.equal(machine!.words[1], 'pc-q35-7.2,accel=tcg,vmport=on,dump-guest-core=on,kernel-irqchip=split,hpet=off,smm=on,memory-backend=mem');
  t.strictSame(machine!.from, ['machine.type', 'machine.accel', 'machine.vmport', 'machine.dumpGuestCore', 'clock.hpet', 'firmware', 'memory', 'machine.kernelIrqchip']);
  t.strictSame(machine!.notes, [
    '-machine hpet=off ← rule: QEMU 7.2 ≥ 5.2 (-no-hpet was removed in 9.0)',
    'smm=on ← /usr/share/qemu/firmware/50-edk2-ovmf-4m-secboot.json requires SMM',
    '-machine memory-backend= ← rule: QEMU 7.2 ≥ 5.0',
  ]);
});

t.test('hpet is a machine property only from 5.2', async (t) => {
  t.equal(machineOf({ clock: { hpet: false } }, { version: '5.1' })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off');
  t.equal(machineOf({ clock: { hpet: false } }, { version: '5.2' })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off,hpet=off');
  t.equal(machineOf({ clock: { hpet: true } }, { version: '9.0' })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off,hpet=on');
});

t.test('the hpet note shows the value actually set', async (t) => {
  const [machine] = machineOf({ clock: { hpet: true } }, { version: '9.0' });
  t.equal(machine!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off,hpet=on');
  t.notMatch(machine!.notes.join('\n'), /hpet=off/);
});

t.test('smm follows the firmware', async (t) => {
  t.equal(machineOf({}, { firmware: { ...ovmf, secureBoot: false, smm: false } })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off', 'no smm prop when the firmware does not need it');
});

t.test('memory-backend only from 5.0 and only with a backend', async (t) => {
  t.equal(machineOf({ memory: { size: '4G', prealloc: true } }, { version: '4.2' })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off');
  t.equal(machineOf({ memory: { size: '4G', prealloc: true } }, { version: '5.0' })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off,memory-backend=mem');
  t.equal(machineOf({ memory: { size: '4G' } }, { version: '5.0' })[0]!.words[1], 'q35,accel=kvm,vmport=off,dump-guest-core=off');
});
