/** A PCI address as profiles write it: `01:00.0` or `0000:01:00.0` (hex, case-insensitive). */
export const PCI_ADDRESS_PATTERN = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-1][0-9a-fA-F])\.([0-7])$/;

export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  function: number;
}

/** Parses `01:00.0`; undefined when malformed (slot above 0x1f, function above 7, not hex). */
export function parsePciAddress(text: string): PciAddress | undefined {
  const match = PCI_ADDRESS_PATTERN.exec(text);
  if (!match) return undefined;
  return {
    domain: match[1] === undefined ? 0 : parseInt(match[1], 16),
    bus: parseInt(match[2]!, 16),
    slot: parseInt(match[3]!, 16),
    function: parseInt(match[4]!, 10),
  };
}

const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');

/** `0000:01:00.0`, the form sysfs and vfio-pci use. */
export function formatPciAddress(address: PciAddress): string {
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}.${address.function}`;
}

/** `0000:01:00`: the card a function belongs to. */
export function pciCardOf(address: PciAddress): string {
  return `${hex(address.domain, 4)}:${hex(address.bus, 2)}:${hex(address.slot, 2)}`;
}
