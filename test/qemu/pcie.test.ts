import t from 'tap';
import { buildPassthrough, placeCards } from '../../lib/qemu/pcie.js';
import { buildInput, valuesOf, type ProfileData } from '../fixtures/build-input.js';

const passthroughOf = (passthrough: ProfileData['passthrough']) => {
  const input = buildInput({ passthrough });
  const args = buildPassthrough(input);
  return { args, devices: valuesOf(args, '-device'), errors: input.diagnostics.errors };
};

t.test('a GPU and its audio function share one root port as one multifunction device', async (t) => {
  const { args, errors } = passthroughOf([{ host: '01:00.0', vga: true, romfile: '/vm/gtx1060.rom' }, { host: '01:00.1' }]);
  t.strictSame(errors, []);
  t.strictSame(args, [
    {
      words: ['-device', 'pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2'],
      from: ['passthrough[0].host', 'passthrough[1].host'],
      notes: ['one root port per card: 0000:01:00'],
    },
    {
      words: ['-device', 'vfio-pci,host=0000:01:00.0,id=hostdev0,bus=rp1,addr=0x0.0x0,multifunction=on,x-vga=on,romfile=/vm/gtx1060.rom'],
      from: ['passthrough[0].host', 'passthrough[0].vga', 'passthrough[0].romfile'],
      notes: ['multifunction=on ← 2 functions of 0000:01:00 share the port'],
    },
    {
      words: ['-device', 'vfio-pci,host=0000:01:00.1,id=hostdev1,bus=rp1,addr=0x0.0x1'],
      from: ['passthrough[1].host'],
      notes: [],
    },
  ]);
});

t.test('a single function gets no multifunction', async (t) => {
  t.strictSame(passthroughOf([{ host: '0000:03:00.0' }]).devices, ['pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2', 'vfio-pci,host=0000:03:00.0,id=hostdev0,bus=rp1,addr=0x0.0x0']);
});

t.test('functions of one card are grouped and sorted, cards keep profile order', async (t) => {
  const { devices, errors } = passthroughOf([{ host: '01:00.1' }, { host: '05:00.0' }, { host: '01:00.0' }]);
  t.strictSame(errors, []);
  t.strictSame(devices, [
    'pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2,multifunction=on',
    'vfio-pci,host=0000:01:00.0,id=hostdev2,bus=rp1,addr=0x0.0x0,multifunction=on',
    'vfio-pci,host=0000:01:00.1,id=hostdev0,bus=rp1,addr=0x0.0x1',
    'pcie-root-port,id=rp2,bus=pcie.0,chassis=2,port=0x11,addr=0x2.0x1',
    'vfio-pci,host=0000:05:00.0,id=hostdev1,bus=rp2,addr=0x0.0x0',
  ]);
});

t.test('without the host function 0 the functions are renumbered from 0', async (t) => {
  const { args, devices } = passthroughOf([{ host: '0a:00.3' }, { host: '0a:00.1' }]);
  t.strictSame(devices.slice(1), [
    'vfio-pci,host=0000:0a:00.1,id=hostdev1,bus=rp1,addr=0x0.0x0,multifunction=on',
    'vfio-pci,host=0000:0a:00.3,id=hostdev0,bus=rp1,addr=0x0.0x1',
  ]);
  t.strictSame(args[1]!.notes, [
    'addr=0x0.0x0 ← 0000:0a:00.0 is not passed through, so 0000:0a:00.1 becomes guest function 0',
    'multifunction=on ← 2 functions of 0000:0a:00 share the port',
  ]);
  t.strictSame(args[2]!.notes, ['addr=0x0.0x1 ← 0000:0a:00.0 is not passed through, so 0000:0a:00.3 becomes guest function 1']);
  const cards = placeCards(buildInput({ passthrough: [{ host: '01:00.0' }, { host: '01:00.2' }] }));
  t.strictSame(cards[0]!.devices.map((placed) => [placed.guestFunction, placed.remapNote]), [[0, undefined], [2, undefined]], 'with function 0 present a gap is kept');
});

t.test('the same host device twice is an error, however it is written', async (t) => {
  const { errors, devices } = passthroughOf([{ host: '01:00.0' }, { host: '0000:01:00.0' }, { host: '01:00.0' }]);
  t.strictSame(errors, [
    { key: 'passthrough[1].host', message: 'duplicate device: passthrough[0] already passes 0000:01:00.0' },
    { key: 'passthrough[2].host', message: 'duplicate device: passthrough[0] already passes 0000:01:00.0' },
  ]);
  t.equal(devices.filter((device) => device.startsWith('vfio-pci')).length, 1, 'the duplicate is not passed twice');
  t.strictSame(passthroughOf([{ host: '0000:0A:00.0' }, { host: '0000:0a:00.0' }]).errors, [{ key: 'passthrough[1].host', message: 'duplicate device: passthrough[0] already passes 0000:0a:00.0' }], 'hex case does not matter');
});

t.test('only one device can be the guest VGA', async (t) => {
  t.strictSame(passthroughOf([{ host: '01:00.0', vga: true }, { host: '02:00.0' }, { host: '03:00.0', vga: true }, { host: '04:00.0', vga: true }]).errors, [
    { key: 'passthrough[2].vga', message: "only one device can be the guest's VGA; passthrough[0] already is" },
    { key: 'passthrough[3].vga', message: "only one device can be the guest's VGA; passthrough[0] already is" },
  ]);
});

t.test('root ports fill slot 2 functions 0-7, then slot 3', async (t) => {
  const hosts = Array.from({ length: 10 }, (_, i) => ({ host: `${(i + 1).toString(16).padStart(2, '0')}:00.0` }));
  const ports = passthroughOf(hosts).devices.filter((device) => device.startsWith('pcie-root-port'));
  t.strictSame(ports, [
    'pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2,multifunction=on',
    'pcie-root-port,id=rp2,bus=pcie.0,chassis=2,port=0x11,addr=0x2.0x1',
    'pcie-root-port,id=rp3,bus=pcie.0,chassis=3,port=0x12,addr=0x2.0x2',
    'pcie-root-port,id=rp4,bus=pcie.0,chassis=4,port=0x13,addr=0x2.0x3',
    'pcie-root-port,id=rp5,bus=pcie.0,chassis=5,port=0x14,addr=0x2.0x4',
    'pcie-root-port,id=rp6,bus=pcie.0,chassis=6,port=0x15,addr=0x2.0x5',
    'pcie-root-port,id=rp7,bus=pcie.0,chassis=7,port=0x16,addr=0x2.0x6',
    'pcie-root-port,id=rp8,bus=pcie.0,chassis=8,port=0x17,addr=0x2.0x7',
    'pcie-root-port,id=rp9,bus=pcie.0,chassis=9,port=0x18,addr=0x3,multifunction=on',
    'pcie-root-port,id=rp10,bus=pcie.0,chassis=10,port=0x19,addr=0x3.0x1',
  ]);
  const nine = passthroughOf(hosts.slice(0, 9)).devices.filter((device) => device.startsWith('pcie-root-port'));
  t.equal(nine[0], 'pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10,addr=0x2,multifunction=on');
  t.equal(nine[8], 'pcie-root-port,id=rp9,bus=pcie.0,chassis=9,port=0x18,addr=0x3', 'a slot holding one port is not multifunction');
});

t.test('every vfio-pci property, in order', async (t) => {
  const { args } = passthroughOf([{ host: '01:00.0', vga: true, romfile: '/vm/a,b.rom', rombar: false, subsystemVendor: 0x1458, subsystemDevice: 0x3fe8 }]);
  t.strictSame(args[1], {
    words: ['-device', 'vfio-pci,host=0000:01:00.0,id=hostdev0,bus=rp1,addr=0x0.0x0,x-vga=on,romfile=/vm/a,,b.rom,rombar=0,x-pci-sub-vendor-id=0x1458,x-pci-sub-device-id=0x3fe8'],
    from: ['passthrough[0].host', 'passthrough[0].vga', 'passthrough[0].romfile', 'passthrough[0].rombar', 'passthrough[0].subsystemVendor', 'passthrough[0].subsystemDevice'],
    notes: [],
  });
  t.equal(passthroughOf([{ host: '01:00.0', rombar: true }]).devices[1], 'vfio-pci,host=0000:01:00.0,id=hostdev0,bus=rp1,addr=0x0.0x0,rombar=1');
});

t.test('no passthrough, no devices', async (t) => {
  t.strictSame(passthroughOf([]).args, []);
});
