// The input and usb keys: their QEMU arguments (version rules, placement, limits) and the plan's
// checks of the host (devices missing, unplugged, ambiguous; host.runAs).
import t from 'tap';
import type { Test } from 'tap';
import { Sysroot } from '../../lib/host/sysroot.js';
import { buildPlan } from '../../lib/plan/plan.js';
import { loadProfile } from '../../lib/profile/load.js';
import { buildInputDevices } from '../../lib/qemu/input.js';
import { buildPassthrough } from '../../lib/qemu/pcie.js';
import { buildUsb } from '../../lib/qemu/usb.js';
import { writeInputDevices, writeUsbDevices } from '../fixtures/desktop-devices.mjs';
import { buildInput, valuesOf, type ProfileData } from '../fixtures/build-input.js';
import { NO_QEMU_ENV, everyProgram, noQemu } from '../fixtures/helpers.js';
import { tree } from '../fixtures/trees.js';

const KBD = '/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd';

const inputArgs = (input: ProfileData['input'], version = '7.2') => {
  const built = buildInput({ input }, { version });
  return { args: buildInputDevices(built), errors: built.diagnostics.errors.map(({ key, message }) => `${key}: ${message}`) };
};

t.test('input: one input-linux object per device, with only the properties the profile sets', async (t) => {
  const { args, errors } = inputArgs([{ evdev: KBD, grabAll: true, repeat: false, toggle: 'ctrl-scrolllock' }, { evdev: '/dev/input/event5' }]);
  t.strictSame(errors, []);
  t.strictSame(args, [
    { words: ['-object', `input-linux,id=input0,evdev=${KBD},grab_all=on,repeat=off,grab-toggle=ctrl-scrolllock`], from: ['input[0].evdev', 'input[0].grabAll', 'input[0].repeat', 'input[0].toggle'], notes: [] },
    { words: ['-object', 'input-linux,id=input1,evdev=/dev/input/event5'], from: ['input[1].evdev'], notes: [] },
  ]);
  t.strictSame(inputArgs([{ evdev: '/dev/input/by-id/odd,name-event-kbd' }]).args[0]!.words[1], 'input-linux,id=input0,evdev=/dev/input/by-id/odd,,name-event-kbd', 'a comma is doubled');
});

t.test('input: grab-toggle needs QEMU 4.0 (before it both Ctrl keys toggle), shift-shift 4.2', async (t) => {
  t.strictSame(inputArgs([{ evdev: KBD, toggle: 'ctrl-ctrl' }], '3.1'), {
    args: [{ words: ['-object', `input-linux,id=input0,evdev=${KBD}`], from: ['input[0].evdev', 'input[0].toggle'], notes: ['grab-toggle left out ← rule: QEMU 3.1 is older than 4.0 and always toggles with both Ctrl keys'] }],
    errors: [],
  });
  t.strictSame(inputArgs([{ evdev: KBD, toggle: 'scrolllock' }], '3.1').errors, ['input[0].toggle: QEMU 3.1 lacks input-linux grab-toggle (added in 4.0); it always toggles with both Ctrl keys (toggle: ctrl-ctrl)']);
  t.strictSame(inputArgs([{ evdev: KBD, toggle: 'shift-shift' }], '4.1').errors, ['input[0].toggle: QEMU 4.1 lacks grab-toggle=shift-shift (added in 4.2)']);
  t.match(inputArgs([{ evdev: KBD, toggle: 'shift-shift' }], '4.2').args[0]!.words[1], /,grab-toggle=shift-shift$/);
});

t.test('input: the same device twice is an error (the second grab would fail)', async (t) => {
  t.strictSame(inputArgs([{ evdev: KBD }, { evdev: KBD, repeat: true }]).errors, [`input[1].evdev: duplicate device: input[0] already grabs ${KBD}`]);
});

const usbArgs = (data: ProfileData) => {
  const built = buildInput(data, { version: '7.2' });
  return { passthrough: buildPassthrough(built), usb: buildUsb(built), errors: built.diagnostics.errors.map(({ key, message }) => `${key}: ${message}`) };
};

t.test('usb: the controller gets the root port numbered after the cards\', in the slot QEMU gives it; the cards\' ports stay as they were', async (t) => {
  const alone = usbArgs({ usb: [{ bus: 3, port: '2' }] });
  t.strictSame(valuesOf(alone.usb, '-device'), ['pcie-root-port,id=rp1,bus=pcie.0,chassis=1,port=0x10', 'qemu-xhci,id=usb,bus=rp1,addr=0x0', 'usb-host,id=usbhost0,bus=usb.0,hostbus=3,hostport=2']);
  const cards = Array.from({ length: 2 }, (_, i) => ({ host: `${(0x10 + i).toString(16)}:00.0` }));
  const two = usbArgs({ passthrough: cards, usb: [{ vendor: '046d', product: 'c52b' }] });
  t.strictSame(valuesOf(two.passthrough, '-device'), valuesOf(usbArgs({ passthrough: cards }).passthrough, '-device'), 'the cards\' ports as without usb');
  t.strictSame(valuesOf(two.usb, '-device').slice(0, 2), ['pcie-root-port,id=rp3,bus=pcie.0,chassis=3,port=0x12', 'qemu-xhci,id=usb,bus=rp3,addr=0x0']);
  t.strictSame(usbArgs({ passthrough: cards }).usb, [], 'no usb: no controller');
});

t.test('usb: past 4 devices the controller gets a port each; past 15 it cannot', async (t) => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ vendor: '1234', product: (i + 1).toString(16).padStart(4, '0') }));
  t.strictSame(usbArgs({ usb: ids(4) }).usb[1]!.words, ['-device', 'qemu-xhci,id=usb,bus=rp1,addr=0x0']);
  const five = usbArgs({ usb: ids(5) }).usb[1]!;
  t.strictSame(five.words, ['-device', 'qemu-xhci,id=usb,bus=rp1,addr=0x0,p2=5,p3=5']);
  t.match(five.notes[0], /^p2=5,p3=5 ← 5 devices: qemu-xhci has 4 ports unless told/);
  t.strictSame(usbArgs({ usb: ids(16) }).errors, ['usb[15]: qemu-xhci has at most 15 ports; 16 USB devices were asked for']);
});

/** A host tree with the lab's receiver, plus what a test adds; and a profile in it. */
function desktop(t: Test, profile: string, extra: { unplugged?: boolean; twoReceivers?: boolean } = {}) {
  const dir = tree(t, { 'vm.yaml': `qemu: { version: "7.2" }\nmemory: { size: 1G }\n${profile}`, 'etc/passwd': 'nobody:x:65534:65534::/:/usr/sbin/nologin\n' });
  writeInputDevices(dir, [
    { link: 'usb-Logitech_USB_Receiver-event-kbd', event: 'event3', name: 'Logitech USB Receiver', caps: 'keyboard', present: !extra.unplugged },
    { link: 'usb-Logitech_USB_Receiver-if01-event-mouse', event: 'event5', name: 'Logitech USB Receiver Mouse', caps: 'mouse' },
  ]);
  writeUsbDevices(dir, [
    { sysfs: '1-1.4', bus: 1, port: '1.4', address: 5, vendor: '046d', product: 'c52b', productName: 'USB Receiver', manufacturer: 'Logitech' },
    ...(extra.twoReceivers ? [{ sysfs: '3-2', bus: 3, port: '2', address: 7, vendor: '046d', product: 'c52b' }] : []),
  ]);
  const plan = (strict: boolean) => buildPlan(loadProfile('vm.yaml', { cwd: dir, env: NO_QEMU_ENV }), { sysroot: new Sysroot(dir), strict, launching: false, probeQemuVersion: noQemu, findProgram: everyProgram });
  const problems = (strict: boolean) => {
    try {
      return plan(strict).warnings.map((problem) => `warning ${problem.line}:${problem.column} ${problem.key}: ${problem.message}`);
    } catch (error) {
      return (error as { problems: { line: number; column: number; key: string; message: string }[] }).problems.map((problem) => `error ${problem.line}:${problem.column} ${problem.key}: ${problem.message}`);
    }
  };
  return { dir, problems };
}

t.test('the dry-run warns of an evdev path missing or unplugged, and a USB device not there; a launch or --sysroot refuses', async (t) => {
  const { problems } = desktop(
    t,
    [
      'input:',
      `  - { evdev: ${KBD} }`,
      '  - { evdev: /dev/input/by-id/usb-Logitech_USB_Receiver-if01-event-mouse }',
      '  - { evdev: /dev/input/by-id/usb-Razer-event-mouse }',
      'usb:',
      '  - { vendor: "046d", product: "c52b" }',
      '  - { vendor: "1532", product: "0084" }',
      '  - { bus: 1, port: "1.2" }',
      '',
    ].join('\n'),
    { unplugged: true },
  );
  const present = 'present: 046d:c52b Logitech USB Receiver (bus 1 port 1.4)';
  const expected = [
    `4:14 input[0].evdev: ${KBD} points to /dev/input/event3, which does not exist on this host: is the device unplugged? (scripts/list-input.mjs lists the keyboards and mice)`,
    '6:14 input[2].evdev: /dev/input/by-id/usb-Razer-event-mouse does not exist on this host (scripts/list-input.mjs lists the keyboards and mice)',
    `9:5 usb[1]: no USB device 1532:0084 on this host (${present})`,
    `10:5 usb[2]: no USB device at bus 1 port 1.2 on this host (${present})`,
  ];
  t.strictSame(problems(false), expected.map((line) => `warning ${line}`));
  t.strictSame(problems(true), expected.map((line) => `error ${line}`));
});

t.test('devices present plan cleanly; more matching devices than entries, or host.runAs, is a warning', async (t) => {
  t.strictSame(desktop(t, `input: [{ evdev: ${KBD} }]\nusb: [{ vendor: "046d", product: "c52b" }, { bus: 1, port: "1.4" }]\n`).problems(true), []);
  const ambiguous = desktop(t, 'usb: [{ vendor: "046d", product: "c52b" }]\n', { twoReceivers: true });
  t.strictSame(ambiguous.problems(true), ['warning 3:7 usb[0]: 2 devices match 046d:c52b (bus 1 port 1.4, bus 3 port 2): QEMU takes whichever it finds first; { bus, port } names one']);
  const twice = desktop(t, 'usb: [{ vendor: "046d", product: "c52b" }, { vendor: "046d", product: "c52b" }]\n', { twoReceivers: true });
  t.strictSame(twice.problems(true), [], 'two entries take both');
  const runAs = desktop(t, 'host: { runAs: nobody }\nusb: [{ vendor: "046d", product: "c52b" }]\n');
  t.strictSame(runAs.problems(true), [
    'warning 4:6 usb: QEMU opens the USB devices there when it starts (/dev/bus/usb/001/005) as root, then runs as nobody (host.runAs): one plugged in (or in again) later it opens as nobody, which needs a udev rule giving nobody the device; boot-vm does not chown its /dev/bus/usb node, which is new each time the device is plugged',
  ]);
});
