/**
 * Keyboards, mice and other evdev devices as udev names them in /dev/input/by-id (links to
 * ../eventN), with what the kernel says about each in /sys/class/input/eventN.
 */
import { posix } from 'node:path';
import type { Sysroot } from './sysroot.js';

export const BY_ID = '/dev/input/by-id';

export type InputKind = 'keyboard' | 'mouse' | 'other';

export interface InputDeviceInfo {
  /** `/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd`: stays the same across boots and ports. */
  path: string;
  /** `/dev/input/event3`: what the link points to now. */
  event: string;
  /** The device's name (`/sys/class/input/eventN/device/name`), when the kernel gives one. */
  name?: string;
  kind: InputKind;
}

/** Where a device path ends up once its links are followed, host paths throughout; `exists` says whether that is there. */
export function followDeviceLink(sysroot: Sysroot, path: string): { target: string; exists: boolean } {
  let target = path;
  // /dev links are one or two deep; the bound guards against a loop.
  for (let depth = 0; depth < 8; depth++) {
    const link = sysroot.readLink(target);
    if (link === undefined) break;
    // Resolved here, not by the file system: an absolute target must stay inside the sysroot.
    target = posix.resolve(posix.dirname(target), link);
  }
  return { target, exists: sysroot.exists(target) };
}

/** The bits set in a sysfs capability mask: hex words, most significant first, each a 64-bit long. */
export function capabilityBits(mask: string | undefined): Set<number> {
  const bits = new Set<number>();
  const words = (mask ?? '').trim().split(/\s+/).filter(Boolean).reverse();
  words.forEach((word, i) => {
    let value = BigInt(`0x${word}`);
    for (let bit = 0; value > 0n; bit++, value >>= 1n) if (value & 1n) bits.add(i * 64 + bit);
  });
  return bits;
}

const EV_REL = 2;
const REL_X = 0;
const REL_Y = 1;
const BTN_LEFT = 0x110;

/**
 * udev's own test (input_id): a keyboard has all of keys 1-31 (Esc, digits, the top letter row),
 * a mouse relative X and Y and a left button.
 */
export function kindFromCapabilities(ev: Set<number>, key: Set<number>, rel: Set<number>): InputKind {
  if (ev.has(EV_REL) && rel.has(REL_X) && rel.has(REL_Y) && key.has(BTN_LEFT)) return 'mouse';
  let fullRow = true;
  for (let code = 1; code < 32; code++) fullRow &&= key.has(code);
  return fullRow ? 'keyboard' : 'other';
}

function kindOf(sysroot: Sysroot, link: string, event: string): InputKind {
  // udev names a link by what it found the device to be: …-event-kbd, …-event-mouse.
  if (link.endsWith('-event-kbd')) return 'keyboard';
  if (link.endsWith('-event-mouse')) return 'mouse';
  const caps = (name: string) => capabilityBits(sysroot.readText(`/sys/class/input/${event}/device/capabilities/${name}`));
  return kindFromCapabilities(caps('ev'), caps('key'), caps('rel'));
}

/** The evdev devices in /dev/input/by-id, sorted by link name; links to legacy nodes (mouse0, js0) are left out. */
export function readInputDevices(sysroot: Sysroot): InputDeviceInfo[] {
  const devices: InputDeviceInfo[] = [];
  for (const link of sysroot.list(BY_ID)) {
    const path = `${BY_ID}/${link}`;
    const { target } = followDeviceLink(sysroot, path);
    const event = posix.basename(target);
    if (!/^event\d+$/.test(event)) continue;
    const name = sysroot.readText(`/sys/class/input/${event}/device/name`)?.trim();
    devices.push({ path, event: target, ...(name ? { name } : {}), kind: kindOf(sysroot, link, event) });
  }
  return devices;
}
