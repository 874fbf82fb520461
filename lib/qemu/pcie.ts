/**
 * Passed-through PCI devices. Each host card (domain:bus:slot) gets its own pcie-root-port, and
 * the card's functions sit on that port as functions of one guest device, so a GPU and its
 * HDMI audio stay together as the guest driver expects.
 */
import { formatPciAddress, parsePciAddress, pciCardOf, type PciAddress } from '../pci-address.js';
import type { PassthroughDevice, Profile } from '../profile/schema.js';
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps, hex } from './props.js';

export interface PlacedDevice {
  index: number;
  device: PassthroughDevice;
  host: PciAddress;
  /** The guest function on the card's root port. */
  guestFunction: number;
  /** Set when the guest function differs from the host's. */
  remapNote?: string;
}

export interface Card {
  /** `0000:01:00` */
  card: string;
  port: number;
  devices: PlacedDevice[];
}

/** Groups the profile's passthrough devices by card, in profile order, and checks for duplicates and a second VGA. */
export function placeCards({ profile, diagnostics }: BuildInput): Card[] {
  const cards = new Map<string, Card>();
  const seen = new Map<string, number>();
  let vgaIndex: number | undefined;
  profile.passthrough.forEach((device, index) => {
    const host = parsePciAddress(device.host)!;
    const address = formatPciAddress(host);
    const earlier = seen.get(address);
    if (earlier !== undefined) {
      diagnostics.error(`passthrough[${index}].host`, `duplicate device: passthrough[${earlier}] already passes ${address}`);
      return;
    }
    seen.set(address, index);
    if (device.vga) {
      if (vgaIndex !== undefined) diagnostics.error(`passthrough[${index}].vga`, `only one device can be the guest's VGA; passthrough[${vgaIndex}] already is`);
      vgaIndex ??= index;
    }
    const key = pciCardOf(host);
    let card = cards.get(key);
    if (!card) {
      card = { card: key, port: cards.size + 1, devices: [] };
      cards.set(key, card);
    }
    card.devices.push({ index, device, host, guestFunction: host.function });
  });
  for (const card of cards.values()) {
    card.devices.sort((a, b) => a.host.function - b.host.function);
    // The guest only scans a slot whose function 0 exists: without the host's function 0, renumber from 0.
    if (card.devices[0]!.host.function !== 0) {
      card.devices.forEach((placed, guestFunction) => {
        placed.guestFunction = guestFunction;
        placed.remapNote = `addr=0x0.0x${guestFunction} ← ${card.card}.0 is not passed through, so ${formatPciAddress(placed.host)} becomes guest function ${guestFunction}`;
      });
    }
  }
  return [...cards.values()];
}

/** Root ports fill pcie.0 from slot 2 upward, eight ports (functions) per slot, as libvirt lays them out. */
export function rootPortPlacement(port: number, ports: number): { slot: number; function: number; multifunction: boolean } {
  const slot = 2 + Math.floor((port - 1) / 8);
  const fn = (port - 1) % 8;
  const portsInSlot = Math.min(8, ports - (slot - 2) * 8);
  return { slot, function: fn, multifunction: fn === 0 && portsInSlot > 1 };
}

function rootPortAddress(port: number, ports: number): { addr: string; multifunction?: string } {
  const { slot, function: fn, multifunction } = rootPortPlacement(port, ports);
  return { addr: fn === 0 ? hex(slot)! : `${hex(slot)}.${hex(fn)}`, multifunction: multifunction ? 'on' : undefined };
}

export const rootPortId = (port: number) => `rp${port}`;

/** How many root ports the cards take; a controller's own port comes after them. */
export const cardCount = (profile: Profile) => new Set(profile.passthrough.map((device) => pciCardOf(parsePciAddress(device.host)!))).size;

/** `-device pcie-root-port,…` number `port`: at `addr` (the cards'), or where QEMU puts it (a controller's). */
export function rootPortArg(port: number, placement: { addr?: string; multifunction?: string }, from: string[], notes: string[]): Arg {
  const props = formatProps('pcie-root-port', [
    ['id', rootPortId(port)],
    ['bus', 'pcie.0'],
    ['chassis', port],
    ['port', hex(0x10 + port - 1)],
    ['addr', placement.addr],
    ['multifunction', placement.multifunction],
  ]);
  return arg(['-device', props], from, notes);
}

/** `-device pcie-root-port,…` and `-device vfio-pci,…` for every card. */
export function buildPassthrough(input: BuildInput): Arg[] {
  const cards = placeCards(input);
  const args: Arg[] = [];
  for (const card of cards) {
    args.push(rootPortArg(card.port, rootPortAddress(card.port, cards.length), card.devices.map((placed) => `passthrough[${placed.index}].host`), [`one root port per card: ${card.card}`]));
    for (const placed of card.devices) {
      const { device, index } = placed;
      const key = `passthrough[${index}]`;
      const deviceProps = formatProps('vfio-pci', [
        ['host', formatPciAddress(placed.host)],
        ['id', `hostdev${index}`],
        ['bus', rootPortId(card.port)],
        ['addr', `0x0.${hex(placed.guestFunction)}`],
        ['multifunction', placed.guestFunction === 0 && card.devices.length > 1 ? 'on' : undefined],
        ['x-vga', device.vga ? 'on' : undefined],
        ['romfile', device.romfile],
        ['rombar', device.rombar === undefined ? undefined : device.rombar ? 1 : 0],
        ['x-pci-sub-vendor-id', hex(device.subsystemVendor)],
        ['x-pci-sub-device-id', hex(device.subsystemDevice)],
      ]);
      const from = (['host', 'vga', 'romfile', 'rombar', 'subsystemVendor', 'subsystemDevice'] as const)
        .filter((name) => name === 'host' || (name === 'vga' ? device.vga : device[name] !== undefined))
        .map((name) => `${key}.${name}`);
      const notes = [
        ...(placed.remapNote ? [placed.remapNote] : []),
        ...(card.devices.length > 1 && placed.guestFunction === 0 ? [`multifunction=on ← ${card.devices.length} functions of ${card.card} share the port`] : []),
      ];
      args.push(arg(['-device', deviceProps], from, notes));
    }
  }
  return args;
}

