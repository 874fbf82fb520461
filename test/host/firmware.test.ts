import t from 'tap';
import { readUefiFirmwares } from '../../lib/host/firmware.js';
import { host } from '../fixtures/helpers.js';
import { descriptor, sysrootOf } from '../fixtures/trees.js';

const USR = 'usr/share/qemu/firmware';
const ETC = 'etc/qemu/firmware';

/** The code files of the firmwares found, in order. */
const codes = (files: Record<string, string>, machine = 'pc-q35-8.2') => (t: Parameters<typeof sysrootOf>[0]) =>
  readUefiFirmwares(sysrootOf(t, files), machine).map((fw) => fw.code);

t.test('a descriptor gives its files, features and its own path', async (t) => {
  const root = sysrootOf(t, { [`${USR}/60-ovmf.json`]: descriptor({ code: '/fw/A_CODE.fd', vars: '/fw/A_VARS.fd', features: ['acpi-s3', 'verbose-dynamic'] }) });
  t.strictSame(readUefiFirmwares(root, 'pc-q35-8.2'), [
    { descriptor: '/usr/share/qemu/firmware/60-ovmf.json', code: '/fw/A_CODE.fd', varsTemplate: '/fw/A_VARS.fd', features: ['acpi-s3', 'verbose-dynamic'] },
  ]);
});

t.test("the fixture hosts' Debian descriptors come in file-name order", async (t) => {
  t.strictSame(
    readUefiFirmwares(host('lab'), 'pc-q35-7.2').map((fw) => [fw.descriptor, fw.code]),
    [
      ['/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json', '/usr/share/OVMF/OVMF_CODE_4M.ms.fd'],
      ['/usr/share/qemu/firmware/50-edk2-x86_64-secure.json', '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'],
      ['/usr/share/qemu/firmware/60-edk2-x86_64.json', '/usr/share/OVMF/OVMF_CODE_4M.fd'],
    ],
  );
  t.strictSame(readUefiFirmwares(host('z77-i5-2500'), 'pc-q35-7.2'), [], 'a host without descriptors');
});

t.test('sorted by file name across /usr/share and /etc', async (t) => {
  t.strictSame(
    codes({
      [`${USR}/30-b.json`]: descriptor({ code: '/fw/30' }),
      [`${ETC}/20-a.json`]: descriptor({ code: '/fw/20' }),
      [`${ETC}/40-c.json`]: descriptor({ code: '/fw/40' }),
      [`${USR}/10-z.json`]: descriptor({ code: '/fw/10' }),
    })(t),
    ['/fw/10', '/fw/20', '/fw/30', '/fw/40'],
  );
});

t.test('a file in /etc overrides the same name in /usr/share, in its place', async (t) => {
  const root = sysrootOf(t, {
    [`${USR}/10-first.json`]: descriptor({ code: '/fw/10' }),
    [`${USR}/50-ovmf.json`]: descriptor({ code: '/fw/vendor' }),
    [`${ETC}/50-ovmf.json`]: descriptor({ code: '/fw/local' }),
  });
  t.strictSame(
    readUefiFirmwares(root, 'pc-q35-8.2').map((fw) => [fw.descriptor, fw.code]),
    [
      ['/usr/share/qemu/firmware/10-first.json', '/fw/10'],
      ['/etc/qemu/firmware/50-ovmf.json', '/fw/local'],
    ],
  );
});

t.test('an empty file in /etc hides the same name', async (t) => {
  t.strictSame(codes({ [`${USR}/50-ovmf.json`]: descriptor({ code: '/fw/vendor' }), [`${USR}/60-other.json`]: descriptor({ code: '/fw/60' }), [`${ETC}/50-ovmf.json`]: '' })(t), ['/fw/60']);
  t.strictSame(codes({ [`${USR}/50-ovmf.json`]: descriptor({ code: '/fw/vendor' }), [`${ETC}/50-ovmf.json`]: ' \n' })(t), [], 'whitespace only counts as empty');
});

t.test('only *.json files are descriptors', async (t) => {
  t.strictSame(codes({ [`${USR}/50-ovmf.json.bak`]: descriptor({ code: '/fw/bak' }), [`${USR}/README`]: descriptor({ code: '/fw/readme' }) })(t), []);
});

t.test('descriptors that do not fit are skipped', async (t) => {
  const cases: [string, string][] = [
    ['not UEFI', descriptor({ code: '/fw/bios', interfaceTypes: ['bios'] })],
    ['another architecture', descriptor({ code: '/fw/aa64', architecture: 'aarch64' })],
    ['i440fx machines only', descriptor({ code: '/fw/i440fx', machines: ['pc-i440fx-*'] })],
    ['a kernel, not flash', descriptor({ code: '/fw/kernel', device: 'kernel' })],
    ['one combined flash image', descriptor({ code: '/fw/combined', mode: 'combined' })],
    ['stateless flash', descriptor({ code: '/fw/stateless', mode: 'stateless' })],
    ['qcow2 images', descriptor({ code: '/fw/qcow2', format: 'qcow2' })],
    ['malformed JSON', '{ "interface-types": ["uefi"], '],
  ];
  for (const [why, text] of cases) t.strictSame(codes({ [`${USR}/50-x.json`]: text })(t), [], why);
  t.strictSame(
    codes(Object.fromEntries([...cases.map(([, text], i) => [`${USR}/${10 + i}-skip.json`, text]), [`${USR}/99-good.json`, descriptor({ code: '/fw/good' })]]))(t),
    ['/fw/good'],
    'a skipped descriptor does not hide the ones after it',
  );
});

t.test('explicit split mode and raw format are accepted', async (t) => {
  t.strictSame(codes({ [`${USR}/50-x.json`]: descriptor({ code: '/fw/explicit', mode: 'split', format: 'raw' }) })(t), ['/fw/explicit']);
});

t.test('machine globs match the versioned machine name', async (t) => {
  const files = {
    [`${USR}/10.json`]: descriptor({ code: '/fw/any-q35', machines: ['pc-q35-*'] }),
    [`${USR}/20.json`]: descriptor({ code: '/fw/q35-8', machines: ['pc-i440fx-*', 'pc-q35-8.?'] }),
    [`${USR}/30.json`]: descriptor({ code: '/fw/q35-7', machines: ['pc-q35-7.*'] }),
    [`${USR}/40.json`]: descriptor({ code: '/fw/dot', machines: ['pc-q35-8x2'] }),
  };
  t.strictSame(codes(files, 'pc-q35-8.2')(t), ['/fw/any-q35', '/fw/q35-8'], 'a dot in the glob is literal');
  t.strictSame(codes(files, 'pc-q35-7.2')(t), ['/fw/any-q35', '/fw/q35-7']);
  t.strictSame(codes(files, 'pc-q35-10.1')(t), ['/fw/any-q35'], '? is one character');
});
