import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseDeviceHelp, probeDeviceProperties } from '../../lib/apply/probe-device-props.js';
import { findExecutable } from '../../lib/apply/probe-qemu.js';
import { FIXTURES } from '../fixtures/helpers.js';
import { tree, writeScript } from '../fixtures/trees.js';

const HELP = readFileSync(join(FIXTURES, 'inspect/vfio-pci-help-7.2.txt'), 'utf8');

t.test('parseDeviceHelp reads the property names of QEMU 7.2 vfio-pci help', async (t) => {
  const names = parseDeviceHelp(HELP);
  for (const name of ['host', 'x-vga', 'romfile', 'rombar', 'multifunction', 'addr', 'x-pci-sub-vendor-id', 'x-pci-sub-device-id']) t.ok(names.includes(name), name);
  t.notOk(names.includes('vfio-pci options:'), 'not the heading');
  t.strictSame(parseDeviceHelp('nothing here\n'), []);
});

/** A fake QEMU printing `output` for `-device X,help`, counting its runs. */
function fakeQemu(t: Parameters<typeof tree>[0], output: string, status = 0) {
  const dir = tree(t, { runs: '', 'help.txt': output });
  const binary = writeScript(dir, 'qemu-system-x86_64', `echo "$*" >> '${dir}/runs'\ncat '${dir}/help.txt'\nexit ${status}`);
  const env = { PATH: dir, HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache') };
  return { dir, binary, env, runs: () => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean) };
}

t.test('asks once per binary and device, then reads the cache', async (t) => {
  const qemu = fakeQemu(t, HELP);
  const first = probeDeviceProperties('qemu-system-x86_64', 'vfio-pci', qemu.env);
  t.match(first, { path: qemu.binary });
  t.ok('properties' in first && first.properties.includes('x-vga'));
  t.strictSame(probeDeviceProperties('qemu-system-x86_64', 'vfio-pci', qemu.env), first);
  t.strictSame(qemu.runs(), ['-nodefaults -machine none -device vfio-pci,help'], 'QEMU ran once');
  writeFileSync(qemu.binary, readFileSync(qemu.binary, 'utf8') + '# rebuilt\n');
  probeDeviceProperties('qemu-system-x86_64', 'vfio-pci', qemu.env);
  t.equal(qemu.runs().length, 2, 'a changed binary is asked again');
  const cache = JSON.parse(readFileSync(join(qemu.dir, 'cache/boot-vm/qemu-device-properties.json'), 'utf8'));
  t.equal(Object.keys(cache).length, 1, "the old build's entry is dropped");
});

t.test('a missing binary, a failing one, and one that lists nothing are problems', async (t) => {
  t.strictSame(probeDeviceProperties('qemu-system-x86_64', 'vfio-pci', { PATH: '' }), { problem: 'qemu-system-x86_64 was not found on PATH' });
  t.match(probeDeviceProperties(fakeQemu(t, "Device 'vfio-pci' not found\n", 1).binary, 'vfio-pci', { PATH: '' }), { problem: /-device vfio-pci,help failed/ });
  t.match(probeDeviceProperties(fakeQemu(t, 'vfio-pci options:\n').binary, 'vfio-pci', { PATH: '' }), { problem: /lists no properties: vfio-pci options:/ });
});

const realQemu = findExecutable('qemu-system-x86_64', process.env);

t.test('the real QEMU knows vfio-pci (required under REQUIRE_QEMU=1)', { skip: !realQemu && process.env.REQUIRE_QEMU !== '1' ? 'no qemu-system-x86_64 here' : false }, async (t) => {
  if (!realQemu) {
    t.fail('REQUIRE_QEMU=1 but qemu-system-x86_64 is not on PATH');
    return;
  }
  const result = probeDeviceProperties(realQemu, 'vfio-pci', { PATH: '', HOME: tree(t, {}) });
  t.ok('properties' in result && result.properties.includes('host') && result.properties.includes('x-vga'), JSON.stringify(result).slice(0, 200));
});
