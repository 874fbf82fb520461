// The evdev and USB readers on fake host trees, and scripts/list-input.mjs as a user runs it.
import t from 'tap';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { listInput as listInputIn } from '../../lib/cli/list-input.js';
import { capabilityBits, followDeviceLink, kindFromCapabilities, readInputDevices } from '../../lib/host/input-devices.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { describeUsbDevice, readUsbDevices, usbDeviceNode } from '../../lib/host/usb-devices.js';
import { runCli } from '../fixtures/cli.js';
import { CAPABILITIES, writeInputDevices } from '../fixtures/desktop-devices.mjs';
import { host, hostRoot, planOn } from '../fixtures/helpers.js';
import { tree } from '../fixtures/trees.js';

const listInput = (args: string[]) => runCli('scripts/list-input.mjs', args);

t.test('capability masks: 64-bit words, most significant first', async (t) => {
  t.strictSame([...capabilityBits('1 8000000000000003')].sort((a, b) => a - b), [0, 1, 63, 64]);
  t.strictSame([...capabilityBits('0')], []);
  const caps = (name: keyof typeof CAPABILITIES) => [capabilityBits(CAPABILITIES[name].ev), capabilityBits(CAPABILITIES[name].key), capabilityBits(CAPABILITIES[name].rel)] as const;
  t.equal(kindFromCapabilities(...caps('keyboard')), 'keyboard');
  t.equal(kindFromCapabilities(...caps('mouse')), 'mouse');
  t.equal(kindFromCapabilities(...caps('gamepad')), 'other');
});

t.test('the lab host: event links only, named and classed; the legacy mouse0 link left out', async (t) => {
  t.strictSame(readInputDevices(host('lab')), [
    { path: '/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd', event: '/dev/input/event3', name: 'Logitech USB Receiver', kind: 'keyboard' },
    { path: '/dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse', event: '/dev/input/event5', name: 'Logitech USB Receiver Mouse', kind: 'mouse' },
    { path: '/dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-event-mouse', event: '/dev/input/event7', name: 'Razer Razer DeathAdder V2', kind: 'mouse' },
    { path: '/dev/input/by-id/usb-Sony_Interactive_Entertainment_Wireless_Controller-event-joystick', event: '/dev/input/event9', name: 'Sony Interactive Entertainment Wireless Controller', kind: 'other' },
  ]);
});

t.test('without a telling suffix the capabilities decide; links resolve inside the sysroot', async (t) => {
  const dir = tree(t, {});
  writeInputDevices(dir, [
    { link: 'usb-Generic_Keyboard-event-if00', event: 'event1', name: 'Generic Keyboard', caps: 'keyboard' },
    { link: 'usb-Generic_Trackball-event-if01', event: 'event2', name: 'Generic Trackball', caps: 'mouse' },
  ]);
  // An absolute link, as a hand-made one may be: followed inside the tree, not on the machine running the test.
  symlinkSync('/dev/input/event1', join(dir, 'dev/input/by-id/absolute-event-kbd'));
  const sysroot = new Sysroot(dir);
  t.strictSame(readInputDevices(sysroot).map(({ path, kind }) => `${kind} ${path}`), [
    'keyboard /dev/input/by-id/absolute-event-kbd',
    'keyboard /dev/input/by-id/usb-Generic_Keyboard-event-if00',
    'mouse /dev/input/by-id/usb-Generic_Trackball-event-if01',
  ]);
  t.strictSame(followDeviceLink(sysroot, '/dev/input/by-id/absolute-event-kbd'), { target: '/dev/input/event1', exists: true });
  t.strictSame(followDeviceLink(sysroot, '/dev/input/event9'), { target: '/dev/input/event9', exists: false });
});

t.test('USB devices: root hubs and interfaces left out, ids as numbers, the node QEMU opens', async (t) => {
  const devices = readUsbDevices(host('lab'));
  t.strictSame(devices.map(describeUsbDevice), [
    '05e3:0610 GenesysLogic USB2.1 Hub (bus 1 port 1)',
    '1532:0084 Razer Razer DeathAdder V2 (bus 1 port 1.2)',
    '046d:c52b Logitech USB Receiver (bus 1 port 1.4)',
    '054c:09cc Sony Interactive Entertainment Wireless Controller (bus 3 port 2)',
  ]);
  t.match(devices[2], { sysfs: '1-1.4', bus: 1, port: '1.4', address: 5, vendor: 0x046d, product: 0xc52b });
  t.equal(usbDeviceNode(devices[2]!), '/dev/bus/usb/001/005');
  t.strictSame(readUsbDevices(new Sysroot(tree(t, {}))), [], 'no /sys/bus/usb: none');
});

t.test('list-input prints the devices and a profile snippet that loads as one', async (t) => {
  const result = listInput(['--sysroot', hostRoot('lab')]);
  t.equal(result.status, 0, result.stderr);
  const [table, snippet] = result.stdout.split('\n\nIn a profile (both Ctrl keys switch them between host and guest):\n\n');
  t.match(table, /^keyboard {2}\/dev\/input\/by-id\/usb-Logitech_USB_Receiver-event-kbd +→ \/dev\/input\/event3 {2}Logitech USB Receiver$/m);
  t.match(table, /^other {5}\/dev\/input\/by-id\/usb-Sony_\S+-event-joystick +→ \/dev\/input\/event9 /m);
  t.equal(
    snippet,
    [
      'input:',
      '  - evdev: /dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd  # Logitech USB Receiver',
      '    grabAll: true',
      '    repeat: true',
      '    toggle: ctrl-ctrl',
      '  - evdev: /dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse  # Logitech USB Receiver Mouse',
      '  - evdev: /dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-event-mouse  # Razer Razer DeathAdder V2',
      '',
    ].join('\n'),
    'keyboards and mice, not the gamepad',
  );
  const dir = tree(t, { 'vm.yaml': `qemu: { version: "7.2" }\nmemory: { size: 1G }\n${snippet}` });
  const plan = planOn(join(dir, 'vm.yaml'), 'lab');
  t.ok(plan.argv.includes('input-linux,id=input0,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd,grab_all=on,repeat=on,grab-toggle=ctrl-ctrl'), 'the snippet plans on the host it came from');
  t.strictSame(JSON.parse(listInputIn({ json: true, sysroot: hostRoot('lab') }).stdout), readInputDevices(host('lab')), '--json: the devices as read');
});

t.test('list-input with nothing in /dev/input/by-id: one line, exit 0', async (t) => {
  t.strictSame(listInputIn({ json: false, sysroot: tree(t, { 'sys/class/input/.keep': '' }) }), {
    stdout: 'No evdev devices in /dev/input/by-id: udev makes these links for USB keyboards and mice, and there are none here (a built-in PS/2 keyboard is only in /dev/input/by-path).\n',
    stderr: [],
    exitCode: 0,
  });
  t.throws(() => listInputIn({ json: false, sysroot: '/nonexistent/host' }), { message: '--sysroot: /nonexistent/host is not a directory' });
});

t.test('list-input: --help, and bad input is one line and exit 2', async (t) => {
  t.match(listInput(['--help']), { status: 0, stdout: /^Usage: list-input \[--json\] \[--sysroot DIR\]\n/ });
  for (const [args, stderr] of [
    [['--jsn'], 'unknown option --jsn; did you mean --json? (see --help)\n'],
    [['keyboard'], 'list-input takes no arguments, got keyboard\n'],
  ] as const) {
    t.strictSame(listInput([...args]), { status: 2, stdout: '', stderr }, args.join(' '));
  }
});
