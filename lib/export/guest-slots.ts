/**
 * Where QEMU puts boot-vm's devices on pcie.0. boot-vm leaves most of them to QEMU, which gives
 * each new device the first slot whose function 0 is free, in command-line order; libvirt would
 * lay them out its own way (behind a pcie-pci-bridge for conventional PCI cards), so the export
 * writes each address down as QEMU would have chosen it and the guest sees the same machine.
 */
import type { Profile } from '../profile/schema.js';
import type { Card } from '../qemu/pcie.js';
import { rootPortPlacement } from '../qemu/pcie.js';
import { sharedRegions } from '../qemu/shared-memory.js';

export interface GuestSlot {
  slot: number;
  function: number;
  multifunction?: boolean;
}

export interface GuestSlots {
  /** Root port n (1-based, as `rp<n>`): the cards' and, after them, the USB controller's. */
  rootPorts: Map<number, GuestSlot>;
  vga?: GuestSlot;
  scsi?: GuestSlot;
  /** By index in `disks`, for the disks that are PCI devices themselves (virtio, nvme). */
  disks: Map<number, GuestSlot>;
  nics: GuestSlot[];
  /** In `sharedRegions()` order. */
  sharedMemory: GuestSlot[];
}

/** 0: the Q35 host bridge; 0x1f: the ICH9 functions (LPC, AHCI, SMBus). */
const MACHINE_SLOTS = [0, 0x1f];
const LAST_SLOT = 0x1f;

export function guestSlots(profile: Profile, cards: Card[]): GuestSlots {
  const taken = new Set(MACHINE_SLOTS);
  const next = (): GuestSlot => {
    let slot = 0;
    while (taken.has(slot) && slot <= LAST_SLOT) slot++;
    taken.add(slot);
    return { slot, function: 0 };
  };
  // -vga makes its device while the machine is built, before any -device.
  const vga = profile.vga === 'none' ? undefined : next();
  const rootPorts = new Map<number, GuestSlot>();
  for (const card of cards) {
    const placement = rootPortPlacement(card.port, cards.length);
    taken.add(placement.slot);
    rootPorts.set(card.port, placement.multifunction ? placement : { slot: placement.slot, function: placement.function });
  }
  // The rest in the order lib/qemu/command.ts writes them.
  const scsi = profile.disks.some((disk) => disk.bus === 'scsi') ? next() : undefined;
  const disks = new Map<number, GuestSlot>();
  profile.disks.forEach((disk, i) => {
    if (disk.bus === 'virtio' || disk.bus === 'nvme') disks.set(i, next());
  });
  const nics = profile.network.map(() => next());
  const sharedMemory = sharedRegions(profile).map(() => next());
  if (profile.usb.length > 0) rootPorts.set(cards.length + 1, next());
  return { rootPorts, ...(vga ? { vga } : {}), ...(scsi ? { scsi } : {}), disks, nics, sharedMemory };
}
