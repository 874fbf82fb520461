/** Checks the `input` and `usb` keys against the host: the evdev devices and the USB devices they name. */
import { followDeviceLink } from '../host/input-devices.js';
import type { Sysroot } from '../host/sysroot.js';
import { describeUsbDevice, formatUsbId, readUsbDevices, usbDeviceNode, type UsbHostDevice } from '../host/usb-devices.js';
import type { Profile, UsbDevice } from '../profile/schema.js';
import type { Diagnostics } from '../qemu/arg.js';
import type { Report } from './host-checks.js';

const LIST_INPUT = 'scripts/list-input.mjs lists the keyboards and mice';

/** An evdev path that is missing, or a /dev/input/by-id link whose event node is gone (the device is unplugged). */
export function checkInputDevices(profile: Profile, sysroot: Sysroot, report: Report): void {
  profile.input.forEach((device, i) => {
    const { target, exists } = followDeviceLink(sysroot, device.evdev);
    if (exists) return;
    if (target === device.evdev) report(`input[${i}].evdev`, `${device.evdev} does not exist on this host (${LIST_INPUT})`);
    else report(`input[${i}].evdev`, `${device.evdev} points to ${target}, which does not exist on this host: is the device unplugged? (${LIST_INPUT})`);
  });
}

const wanted = (device: UsbDevice) => ('vendor' in device ? `USB device ${formatUsbId(device.vendor, device.product)}` : `USB device at bus ${device.bus} port ${device.port}`);

const matches = (device: UsbDevice, host: UsbHostDevice) =>
  'vendor' in device ? host.vendor === device.vendor && host.product === device.product : host.bus === device.bus && host.port === device.port;

/**
 * Each `usb` entry must find its device. QEMU opens the devices there at start as root, before it
 * becomes `host.runAs`; one plugged in later it opens as that user.
 */
export function checkUsbDevices(profile: Profile, sysroot: Sysroot, report: Report, diagnostics: Diagnostics): void {
  if (profile.usb.length === 0) return;
  const present = readUsbDevices(sysroot);
  const listed = present.length === 0 ? 'this host lists no USB devices' : `present: ${present.map(describeUsbDevice).join(', ')}`;
  profile.usb.forEach((device, i) => {
    const found = present.filter((host) => matches(device, host));
    if (found.length === 0) {
      report(`usb[${i}]`, `no ${wanted(device)} on this host (${listed})`);
      return;
    }
    // QEMU gives each usb-host entry the next matching device; more devices than entries leaves the choice to it.
    const entries = profile.usb.filter((other) => JSON.stringify(other) === JSON.stringify(device)).length;
    if (found.length > entries) diagnostics.warn(`usb[${i}]`, `${found.length} devices match ${formatUsbId(found[0]!.vendor, found[0]!.product)} (${found.map((host) => `bus ${host.bus} port ${host.port}`).join(', ')}): QEMU takes whichever it finds first; { bus, port } names one`);
  });
  const user = profile.host.runAs;
  if (user !== undefined) {
    const nodes = present.filter((host) => profile.usb.some((device) => matches(device, host))).map(usbDeviceNode);
    const there = nodes.length > 0 ? ` (${nodes.join(', ')})` : '';
    diagnostics.warn(
      'usb',
      `QEMU opens the USB devices there when it starts${there} as root, then runs as ${user} (host.runAs): one plugged in (or in again) later it opens as ${user}, which needs a udev rule giving ${user} the device; boot-vm does not chown its /dev/bus/usb node, which is new each time the device is plugged`,
    );
  }
}
