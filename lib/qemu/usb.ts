/**
 * `usb`: host USB devices given to the guest. One qemu-xhci controller on a root port of its own
 * (numbered after the passed-through cards' ports, in the slot QEMU gives it after the other
 * devices' so none of theirs moves), and a usb-host device on it for each, matched by vendor and
 * product id or by the host port it is plugged into. A device that is absent when QEMU starts is
 * attached when it appears.
 */
import { arg, type Arg, type BuildInput } from './arg.js';
import { cardCount, rootPortArg, rootPortId } from './pcie.js';
import { formatProps } from './props.js';

/** `0x046d`: USB ids as lsusb writes them. */
const usbId = (id: number) => `0x${id.toString(16).padStart(4, '0')}`;

/** qemu-xhci's default number of ports (p2, p3), and the most it can have (MAXPORTS_2/MAXPORTS_3). */
const DEFAULT_PORTS = 4;
const MAX_PORTS = 15;

export function buildUsb({ profile, diagnostics }: BuildInput): Arg[] {
  if (profile.usb.length === 0) return [];
  const count = profile.usb.length;
  if (count > MAX_PORTS) diagnostics.error(`usb[${MAX_PORTS}]`, `qemu-xhci has at most ${MAX_PORTS} ports; ${count} USB devices were asked for`);
  const port = cardCount(profile) + 1;
  // Past its ports QEMU would hang the rest on a hub of its own, a full-speed one.
  const ports = count > DEFAULT_PORTS ? Math.min(count, MAX_PORTS) : undefined;
  const controller = formatProps('qemu-xhci', [
    ['id', 'usb'],
    ['bus', rootPortId(port)],
    ['addr', '0x0'],
    ['p2', ports],
    ['p3', ports],
  ]);
  const args = [
    rootPortArg(port, {}, ['usb'], ['a root port of its own for the USB controller, numbered after the cards\'; in the next free slot, so adding it moves no other device']),
    arg(['-device', controller], ['usb'], ports === undefined ? [] : [`p2=${ports},p3=${ports} ← ${count} devices: qemu-xhci has ${DEFAULT_PORTS} ports unless told, and QEMU would put the rest behind a full-speed hub`]),
  ];
  profile.usb.forEach((device, i) => {
    const key = `usb[${i}]`;
    const match: [string, string | number | undefined][] =
      'vendor' in device ? [['vendorid', usbId(device.vendor)], ['productid', usbId(device.product)]] : [['hostbus', device.bus], ['hostport', device.port]];
    const from = 'vendor' in device ? [`${key}.vendor`, `${key}.product`] : [`${key}.bus`, `${key}.port`];
    args.push(arg(['-device', formatProps('usb-host', [['id', `usbhost${i}`], ['bus', 'usb.0'], ...match])], from));
  });
  return args;
}
