import t from 'tap';
import type { Sysroot } from '../../lib/host/sysroot.js';
import { defaultVarsPath, resolveFirmware } from '../../lib/plan/firmware.js';
import type { QemuVersion } from '../../lib/qemu/version.js';
import { host } from '../fixtures/helpers.js';
import { descriptor, profileOf, recorder, sysrootOf } from '../fixtures/trees.js';

const V72: QemuVersion = { major: 7, minor: 2 };
const DESCRIPTORS = '/usr/share/qemu/firmware';

/** Resolves the firmware of a profile with `firmware` (and other keys), recording what is said. */
function resolve(sysroot: Sysroot, firmware: Record<string, unknown>, extra: Record<string, unknown> = {}, version = V72) {
  const { report, reports, diagnostics } = recorder();
  const resolved = resolveFirmware('vm', profileOf({ memory: { size: '4G' }, firmware, ...extra }), version, sysroot, report, diagnostics);
  return { resolved, reports, errors: diagnostics.errors, warnings: diagnostics.warnings };
}

t.test('the default variable store path', async (t) => {
  t.equal(defaultVarsPath('gaming'), '/var/lib/boot-vm/nvram/gaming_VARS.fd');
});

t.test('SeaBIOS needs no firmware files', async (t) => {
  t.strictSame(resolve(host('lab'), { type: 'seabios' }), { resolved: undefined, reports: [], errors: [], warnings: [] });
});

t.test('plain UEFI: the first descriptor without Secure Boot; a missing store is no warning (the nvram step makes it)', async (t) => {
  t.strictSame(resolve(host('lab'), { type: 'ovmf' }), {
    resolved: {
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/var/lib/boot-vm/nvram/vm_VARS.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      secureBoot: false,
      smm: false,
      source: `${DESCRIPTORS}/60-edk2-x86_64.json`,
    },
    reports: [],
    errors: [],
    warnings: [],
  });
});

t.test('Secure Boot: enrolled keys preferred, SMM on', async (t) => {
  const { resolved } = resolve(host('lab'), { type: 'ovmf', secureBoot: true });
  t.strictSame(resolved, {
    code: '/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
    vars: '/var/lib/boot-vm/nvram/vm_VARS.fd',
    varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
    secureBoot: true,
    smm: true,
    source: `${DESCRIPTORS}/40-edk2-x86_64-secure-enrolled.json`,
  });
});

t.test('Secure Boot prefers enrolled keys whatever the file order, and takes one without them otherwise', async (t) => {
  const enrolledLast = sysrootOf(t, {
    [`${DESCRIPTORS}/10-plain.json`]: descriptor({ code: '/fw/plain' }),
    [`${DESCRIPTORS}/20-secure.json`]: descriptor({ code: '/fw/secure', features: ['secure-boot'] }),
    [`${DESCRIPTORS}/90-enrolled.json`]: descriptor({ code: '/fw/enrolled', features: ['enrolled-keys', 'secure-boot'] }),
  });
  t.equal(resolve(enrolledLast, { type: 'ovmf', secureBoot: true }).resolved?.code, '/fw/enrolled');
  const arch = resolve(host('i9-9900k'), { type: 'ovmf', secureBoot: true });
  t.equal(arch.resolved?.code, '/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd', "Arch's edk2 has no enrolled build");
  t.match(arch.warnings, [/^firmware.secureBoot: .*has Secure Boot but no keys enrolled \(no enrolled-keys feature\): Windows will not boot until Microsoft's keys are enrolled/]);
  t.strictSame(resolve(host('i9-9900k'), { type: 'ovmf', secureBoot: true, varsTemplate: '/vm/VARS.ms.fd' }).warnings, [], 'a template of its own is taken to have the keys');
});

t.test('plain UEFI never picks a Secure Boot or enrolled-keys build', async (t) => {
  const onlySecure = sysrootOf(t, {
    [`${DESCRIPTORS}/10-secure.json`]: descriptor({ code: '/fw/secure', features: ['secure-boot'] }),
    [`${DESCRIPTORS}/20-keys.json`]: descriptor({ code: '/fw/keys', features: ['enrolled-keys'] }),
    [`${DESCRIPTORS}/30-plain.json`]: descriptor({ code: '/fw/plain' }),
  });
  t.equal(resolve(onlySecure, { type: 'ovmf' }).resolved?.code, '/fw/plain');
});

t.test('SMM follows requires-smm without Secure Boot', async (t) => {
  const root = sysrootOf(t, { [`${DESCRIPTORS}/10-smm.json`]: descriptor({ code: '/fw/smm', features: ['requires-smm'] }), 'fw/smm': '', 'fw/VARS.fd': '' });
  t.strictSame(resolve(root, { type: 'ovmf' }).resolved, { code: '/fw/smm', vars: '/var/lib/boot-vm/nvram/vm_VARS.fd', varsTemplate: '/fw/VARS.fd', secureBoot: false, smm: true, source: `${DESCRIPTORS}/10-smm.json` });
});

t.test('firmware.code a descriptor lists: the descriptor supplies the template and its SMM need', async (t) => {
  t.strictSame(resolve(host('lab'), { type: 'ovmf', code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd' }), {
    resolved: {
      code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
      vars: '/var/lib/boot-vm/nvram/vm_VARS.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      secureBoot: false,
      smm: true,
      source: 'firmware.code',
    },
    reports: [],
    errors: [],
    warnings: [],
  });
});

t.test('firmware.code no descriptor lists, without varsTemplate: an error', async (t) => {
  const root = sysrootOf(t, { 'opt/fw/CODE.fd': '' });
  t.strictSame(resolve(root, { type: 'ovmf', code: '/opt/fw/CODE.fd' }), {
    resolved: { code: '/opt/fw/CODE.fd', vars: '/var/lib/boot-vm/nvram/vm_VARS.fd', varsTemplate: '', secureBoot: false, smm: false, source: 'firmware.code' },
    reports: [],
    errors: ['firmware.varsTemplate: no firmware descriptor lists /opt/fw/CODE.fd; say which variable store template goes with it'],
    warnings: [],
  });
});

t.test("the profile's own code, template and store", async (t) => {
  const root = sysrootOf(t, { 'opt/fw/CODE.fd': '', 'opt/fw/VARS.fd': '', 'vm/my_VARS.fd': '' });
  t.strictSame(resolve(root, { type: 'ovmf', code: '/opt/fw/CODE.fd', varsTemplate: '/opt/fw/VARS.fd', vars: '/vm/my_VARS.fd', secureBoot: true }), {
    resolved: { code: '/opt/fw/CODE.fd', vars: '/vm/my_VARS.fd', varsTemplate: '/opt/fw/VARS.fd', secureBoot: true, smm: true, source: 'firmware.code' },
    reports: [],
    errors: [],
    warnings: [],
  });
});

t.test('firmware.varsTemplate overrides the descriptor’s template', async (t) => {
  const { resolved, reports } = resolve(host('lab'), { type: 'ovmf', varsTemplate: '/vm/gpu.rom' });
  t.strictSame([resolved?.code, resolved?.varsTemplate, resolved?.source, reports], ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/vm/gpu.rom', `${DESCRIPTORS}/60-edk2-x86_64.json`, []]);
});

t.test("no descriptors: Debian's OVMF is assumed and the host is reported", async (t) => {
  const root = host('z77-i5-2500');
  t.strictSame(resolve(root, { type: 'ovmf' }), {
    resolved: {
      code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
      vars: '/var/lib/boot-vm/nvram/vm_VARS.fd',
      varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd',
      secureBoot: false,
      smm: false,
      source: "assumed Debian's /usr/share/OVMF/OVMF_CODE_4M.fd",
    },
    reports: [
      `firmware: no UEFI firmware for pc-q35-7.2 in ${root.root}${DESCRIPTORS}; install ovmf or set firmware.code and firmware.varsTemplate`,
      'firmware.code: /usr/share/OVMF/OVMF_CODE_4M.fd does not exist on this host',
      'firmware.varsTemplate: /usr/share/OVMF/OVMF_VARS_4M.fd does not exist on this host',
    ],
    errors: [],
    warnings: [],
  });
  const secure = resolve(root, { type: 'ovmf', secureBoot: true });
  t.strictSame(
    [secure.resolved?.code, secure.resolved?.varsTemplate, secure.reports[0]],
    [
      '/usr/share/OVMF/OVMF_CODE_4M.ms.fd',
      '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
      `firmware: no UEFI firmware with Secure Boot (a descriptor with the features secure-boot and enrolled-keys) for pc-q35-7.2 in ${root.root}${DESCRIPTORS}; install ovmf or set firmware.code and firmware.varsTemplate`,
    ],
    "Debian's Secure Boot build with Microsoft's keys is assumed, and what is missing is named",
  );
});

t.test('files a descriptor names but the host lacks are reported', async (t) => {
  const root = sysrootOf(t, { [`${DESCRIPTORS}/10.json`]: descriptor({ code: '/fw/CODE.fd', vars: '/fw/VARS.fd' }), 'fw/VARS.fd': '' });
  t.strictSame(resolve(root, { type: 'ovmf', vars: '/fw/VARS.fd' }).reports, ['firmware.code: /fw/CODE.fd does not exist on this host']);
  const noTemplate = sysrootOf(t, { [`${DESCRIPTORS}/10.json`]: descriptor({ code: '/fw/CODE.fd', vars: '/fw/VARS.fd' }), 'fw/CODE.fd': '' });
  t.strictSame(resolve(noTemplate, { type: 'ovmf', vars: '/fw/CODE.fd' }).reports, ['firmware.varsTemplate: /fw/VARS.fd does not exist on this host']);
});

t.test('descriptors are matched against the machine QEMU will run', async (t) => {
  const root = sysrootOf(t, {
    [`${DESCRIPTORS}/10-new.json`]: descriptor({ code: '/fw/new', machines: ['pc-q35-8.*'] }),
    [`${DESCRIPTORS}/20-old.json`]: descriptor({ code: '/fw/old', machines: ['pc-q35-5.*'] }),
  });
  t.equal(resolve(root, { type: 'ovmf' }, {}, { major: 8, minor: 2 }).resolved?.code, '/fw/new', 'q35 is pc-q35-<QEMU version>');
  t.equal(resolve(root, { type: 'ovmf' }, { machine: { type: 'pc-q35-5.1' } }, { major: 8, minor: 2 }).resolved?.code, '/fw/old', 'a pinned machine version');
  t.match(resolve(root, { type: 'ovmf' }, {}, V72).reports[0], /^firmware: no UEFI firmware for pc-q35-7\.2 in /);
});
