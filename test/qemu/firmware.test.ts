import t from 'tap';
import type { ResolvedFirmware } from '../../lib/qemu/arg.js';
import { buildFirmware } from '../../lib/qemu/firmware.js';
import { buildInput } from '../fixtures/build-input.js';

const ovmf: ResolvedFirmware = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  vars: '/var/lib/boot-vm/a,b_VARS.fd',
  varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
  secureBoot: false,
  smm: false,
  source: '/usr/share/qemu/firmware/50-edk2-ovmf-4m-secboot.json',
};

t.test('SeaBIOS (no resolved firmware) needs no option', async (t) => {
  t.strictSame(buildFirmware(buildInput({})), []);
});

t.test('OVMF: read-only code and this VM\'s variable store as pflash units 0 and 1', async (t) => {
  t.strictSame(buildFirmware(buildInput({ firmware: { type: 'ovmf' } }, { firmware: ovmf })), [
    {
      words: ['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'],
      from: ['firmware.type', 'firmware.code'],
      notes: ['code ← /usr/share/qemu/firmware/50-edk2-ovmf-4m-secboot.json'],
    },
    { words: ['-drive', 'if=pflash,format=raw,unit=1,file=/var/lib/boot-vm/a,,b_VARS.fd'], from: ['firmware.vars', 'firmware.varsTemplate'], notes: [] },
  ]);
});

t.test('Secure Boot locks the flash to SMM, only when the firmware uses SMM', async (t) => {
  const secure = buildFirmware(buildInput({ firmware: { type: 'ovmf', secureBoot: true } }, { firmware: { ...ovmf, secureBoot: true, smm: true } }));
  t.strictSame(secure.at(-1), { words: ['-global', 'driver=cfi.pflash01,property=secure,value=on'], from: ['firmware.secureBoot'], notes: [] });
  t.equal(secure.length, 3);
  t.equal(buildFirmware(buildInput({}, { firmware: { ...ovmf, secureBoot: true, smm: false } })).length, 2);
  t.equal(buildFirmware(buildInput({}, { firmware: { ...ovmf, secureBoot: false, smm: true } })).length, 2);
});
