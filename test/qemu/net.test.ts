import t from 'tap';
import { buildNetwork, deriveMac } from '../../lib/qemu/net.js';
import { buildInput, type ProfileData } from '../fixtures/build-input.js';

const networkOf = (network: ProfileData['network'], name = 'vm') => {
  const input = buildInput({ network }, { name });
  const args = buildNetwork(input);
  return { args, lines: args.map((arg) => arg.words.join(' ')), errors: input.diagnostics.errors };
};

t.test('deriveMac: stable, in 52:54:00, different per VM and per card', async (t) => {
  // Expected values computed independently (FNV-1a of "name/index" in Python): a guest keeps its MAC across versions.
  t.equal(deriveMac('mediapc', 0), '52:54:00:a3:0f:a9');
  t.equal(deriveMac('mediapc', 1), '52:54:00:a3:0e:16');
  t.equal(deriveMac('workstation', 0), '52:54:00:ea:84:cb');
  t.equal(deriveMac('mediapc', 0), deriveMac('mediapc', 0), 'the same on every call');
  const macs = ['a', 'b', 'vm', 'vm2'].flatMap((name) => [0, 1, 2, 3].map((index) => deriveMac(name, index)));
  for (const mac of macs) t.match(mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  t.equal(new Set(macs).size, macs.length, 'no two names or indexes share a MAC');
});

t.test('no backend given: user networking, a derived MAC, and notes saying so', async (t) => {
  const { args, errors } = networkOf([{}]);
  t.strictSame(errors, []);
  t.strictSame(args, [
    { words: ['-netdev', 'user,id=net0'], from: [], notes: ['user ← no tap or bridge given: user-mode networking'] },
    { words: ['-device', 'virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:bb:b5:ab'], from: ['network[0].model'], notes: ['mac=52:54:00:bb:b5:ab ← derived from the VM name, stable across runs'] },
  ]);
});

t.test('tap, bridge and user backends', async (t) => {
  const { args, lines, errors } = networkOf([
    { model: 'e1000e', mac: '52:54:00:AB:CD:EF', bootIndex: 3, tap: { ifname: 'tap-vm0', script: false, downscript: '/etc/qemu-ifdown', vhost: true } },
    { model: 'rtl8139', bridge: { name: 'br0' } },
    { model: 'e1000', user: {} },
    { tap: {} },
  ]);
  t.strictSame(errors, []);
  t.strictSame(lines, [
    '-netdev tap,id=net0,ifname=tap-vm0,script=no,downscript=/etc/qemu-ifdown,vhost=on',
    '-device e1000e,netdev=net0,id=nic0,mac=52:54:00:ab:cd:ef,bootindex=3',
    '-netdev bridge,id=net1,br=br0',
    '-device rtl8139,netdev=net1,id=nic1,mac=52:54:00:bb:b4:18',
    '-netdev user,id=net2',
    `-device e1000,netdev=net2,id=nic2,mac=${deriveMac('vm', 2)}`,
    '-netdev tap,id=net3',
    `-device virtio-net-pci,netdev=net3,id=nic3,mac=${deriveMac('vm', 3)}`,
  ]);
  t.strictSame(args.map((arg) => arg.from), [
    ['network[0].tap.ifname', 'network[0].tap.script', 'network[0].tap.downscript', 'network[0].tap.vhost'],
    ['network[0].model', 'network[0].mac', 'network[0].bootIndex'],
    ['network[1].bridge.name'],
    ['network[1].model'],
    ['network[2].user'],
    ['network[2].model'],
    ['network[3].tap'],
    ['network[3].model'],
  ]);
  t.strictSame(args[1]!.notes, [], 'no note for a MAC the profile gives');
  t.strictSame(args[4]!.notes, [], 'no note when user is asked for');
  t.equal(networkOf([{ tap: { script: false, downscript: false, vhost: false } }]).lines[0], '-netdev tap,id=net0,script=no,downscript=no,vhost=off');
});

t.test('two backends for one card is an error', async (t) => {
  t.strictSame(networkOf([{ tap: {}, bridge: { name: 'br0' } }]).errors, [{ key: 'network[0]', message: 'choose one of tap, bridge or user, not tap and bridge' }]);
  t.strictSame(networkOf([{ tap: {}, bridge: { name: 'br0' }, user: {} }]).errors, [{ key: 'network[0]', message: 'choose one of tap, bridge or user, not tap and bridge and user' }]);
});

t.test('a multicast MAC is an error', async (t) => {
  const message = "a multicast address (odd first byte) cannot be a card's address";
  t.strictSame(networkOf([{ mac: '01:00:5e:00:00:01' }]).errors, [{ key: 'network[0].mac', message }]);
  t.strictSame(networkOf([{ mac: '53:54:00:00:00:01' }]).errors, [{ key: 'network[0].mac', message }]);
  t.strictSame(networkOf([{ mac: '02:00:00:00:00:01' }]).errors, [], 'a locally administered unicast address is fine');
});

t.test('the same MAC twice is an error, whatever its case', async (t) => {
  t.strictSame(networkOf([{ mac: '52:54:00:ab:cd:ef' }, { mac: '52:54:00:12:34:56' }, { mac: '52:54:00:AB:CD:EF' }]).errors, [
    { key: 'network[2].mac', message: 'duplicate device: network[0] already uses 52:54:00:ab:cd:ef' },
  ]);
  t.strictSame(networkOf([{}, { mac: deriveMac('vm', 0) }]).errors, [{ key: 'network[1].mac', message: `duplicate device: network[0] already uses ${deriveMac('vm', 0)}` }], 'a given MAC can clash with a derived one');
});

t.test('no cards, no args', async (t) => {
  t.strictSame(networkOf([]).args, []);
});
