/** What the libvirt export's parts share while they build one domain, and the address helpers they all use. */
import type { Plan } from '../plan/plan.js';
import type { Profile } from '../profile/schema.js';
import type { Card } from '../qemu/pcie.js';
import type { GuestSlot, GuestSlots } from './guest-slots.js';
import { el } from './xml.js';

/** The binary boot-vm finds on PATH by default; libvirt then picks its own QEMU for x86_64. */
export const DEFAULT_BINARY = 'qemu-system-x86_64';

/** One group of `<qemu:commandline>` words and why they are there. */
export interface ExtraArgs {
  why: string;
  words: string[];
}

/** `<qemu:override>` of one device's properties. */
export interface Override {
  alias: string;
  why: string;
  props: { name: string; type: 'bool' | 'unsigned' | 'string'; value: string }[];
}

/** One domain being built: the plan, what is worked out once (cards, guest slots, -cpu properties), and what gathers as the parts are made. */
export interface Context {
  plan: Plan;
  profile: Profile;
  uuid: string;
  cards: Card[];
  slots: GuestSlots;
  /** The `-cpu` properties boot-vm wrote, Hyper-V flags another one needs included. */
  cpuProps: Map<string, string>;
  commandline: ExtraArgs[];
  overrides: Override[];
  warn: (message: string) => void;
}

export const kib = (bytes: number) => Math.round(bytes / 1024);
export const hexByte = (value: number) => `0x${value.toString(16).padStart(2, '0')}`;
export const hex4 = (value: number) => `0x${value.toString(16).padStart(4, '0')}`;

/** A guest address on pcie.0 (bus 0) or on root port `bus`. */
export const pciAddress = (bus: number, at: GuestSlot) =>
  el('address', { type: 'pci', domain: '0x0000', bus: hexByte(bus), slot: hexByte(at.slot), function: `0x${at.function.toString(16)}`, multifunction: at.multifunction ? 'on' : undefined });
