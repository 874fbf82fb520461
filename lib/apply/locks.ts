/**
 * Device reservations: which VM holds each passed-through device while it runs, as one file per
 * device, /run/boot-vm/devices/<pci address>, naming the VM and its launcher (as Proxmox keeps a
 * reservation under /run). A VM wanting a held device is refused before it changes anything; a
 * reservation whose launcher has exited (crashed, killed) is stale and taken over.
 */
import { dirname } from 'node:path';
import { HostStateError } from '../errors.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { describeError, type HostIo } from './host-io.js';
import { isAlive, type ProcessRef } from './processes.js';

const DEVICES_DIR = '/run/boot-vm/devices';

/** A device another running VM holds. */
export class DeviceBusyError extends HostStateError {}

interface Holder {
  vm: string;
  launcher: ProcessRef;
}

export interface Reservation extends Holder {
  device: string;
  /** False when the launcher has exited: the reservation is stale. */
  alive: boolean;
}

export interface DeviceReservation {
  /** Removes the reservations still held by this VM and launcher, then the directories made for them once empty. Idempotent. */
  release(): void;
}

export interface LockOptions {
  sysroot: Sysroot;
  io: HostIo;
}

/** Attempts at one device before giving up: each retry means another VM changed the file meanwhile. */
const ATTEMPTS = 5;

const fileOf = (sysroot: Sysroot, device: string) => sysroot.path(`${DEVICES_DIR}/${device}`);

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code;

const sameProcess = (a: ProcessRef, b: ProcessRef) => a.pid === b.pid && a.start === b.start;

function parseHolder(text: string): Holder | undefined {
  try {
    const { vm, launcher } = JSON.parse(text) as Partial<Holder>;
    if (typeof vm === 'string' && typeof launcher?.pid === 'number' && typeof launcher.start === 'string') return { vm, launcher: { pid: launcher.pid, start: launcher.start } };
  } catch {
    // not JSON: not a reservation either
  }
  return undefined;
}

/** The holder a reservation file names; undefined when the file is gone (released meanwhile). */
function readHolder(io: HostIo, file: string): Holder | undefined {
  let text: string;
  try {
    text = io.read(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new HostStateError(`cannot read ${file}: ${describeError(error)}`);
  }
  const holder = parseHolder(text);
  if (!holder) throw new HostStateError(`${file} is not a boot-vm device reservation; look at it, then remove it`);
  return holder;
}

/**
 * Reserves every device (normalised addresses, as `Plan.devices`) for `vm`, run by `owner`, or
 * none: a DeviceBusyError names the VM holding one. A reservation whose launcher has exited
 * (zombies included) is taken over; one held by this same VM and launcher already is kept.
 */
export function reserveDevices(vm: string, devices: string[], { sysroot, io, owner }: LockOptions & { owner: ProcessRef }): DeviceReservation {
  const text = `${JSON.stringify({ vm, launcher: owner })}\n`;
  const createdDirs: string[] = [];
  const makeDirs = () => {
    const missing: string[] = [];
    for (let dir = sysroot.path(DEVICES_DIR); !io.exists(dir); dir = dirname(dir)) missing.unshift(dir);
    for (const dir of missing) io.mkdir(dir);
    createdDirs.push(...missing.filter((dir) => !createdDirs.includes(dir)));
  };
  const taken: string[] = [];
  const reservation: DeviceReservation = {
    release() {
      for (const device of taken) {
        const file = fileOf(sysroot, device);
        const holder = readHolder(io, file);
        if (holder && holder.vm === vm && sameProcess(holder.launcher, owner)) io.remove(file);
      }
      // The devices directory is boot-vm's own: once empty it goes, whoever made it.
      removeEmptyDirs(io, [...new Set([sysroot.path(DEVICES_DIR), ...[...createdDirs].reverse()])]);
    },
  };
  const take = (device: string) => {
    const file = fileOf(sysroot, device);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let created: boolean;
      try {
        created = io.createExclusive(file, text);
      } catch (error) {
        // The directory is missing: never made, or removed by a VM that released its last device just now.
        if (errorCode(error) !== 'ENOENT') throw new HostStateError(`cannot reserve ${device} in ${file}: ${describeError(error)}`);
        makeDirs();
        continue;
      }
      if (created) return;
      const holder = readHolder(io, file);
      if (!holder) continue;
      if (holder.vm === vm && sameProcess(holder.launcher, owner)) return;
      if (isAlive(holder.launcher)) throw new DeviceBusyError(`${device} is in use by VM ${holder.vm} (boot-vm pid ${holder.launcher.pid}); stop it first (scripts/vm.mjs stop ${holder.vm})`);
      // Stale. (Two launchers taking over the same stale file at the same instant could both win:
      // that needs two VMs sharing a device started together right after its holder died.)
      io.remove(file);
    }
    throw new HostStateError(`cannot reserve ${device}: ${file} changed ${ATTEMPTS} times while boot-vm read it; try again`);
  };
  try {
    for (const device of devices) {
      take(device);
      taken.push(device);
    }
  } catch (error) {
    reservation.release();
    throw error;
  }
  return reservation;
}

function removeEmptyDirs(io: HostIo, dirs: string[]): void {
  for (const dir of dirs) {
    try {
      io.rmdir(dir);
    } catch {
      // Not empty (another VM's reservation) or gone already.
    }
  }
}

/** Who holds each device now, by address; stale reservations have `alive` false. Files that are not reservations are left out. */
export function readReservations({ sysroot, io }: LockOptions): Reservation[] {
  const reservations: Reservation[] = [];
  for (const name of sysroot.list(DEVICES_DIR)) {
    const address = parsePciAddress(name);
    if (!address || formatPciAddress(address) !== name) continue; // a temporary file of createExclusive
    let holder: Holder | undefined;
    try {
      holder = parseHolder(io.read(fileOf(sysroot, name)));
    } catch {
      // released while listing
    }
    if (holder) reservations.push({ device: name, ...holder, alive: isAlive(holder.launcher) });
  }
  return reservations;
}

/**
 * Removes `vm`'s reservations whose launcher has exited, as teardown does after a crash, and the
 * devices directory once empty. Returns the devices released.
 */
export function releaseStaleReservations(vm: string, options: LockOptions): string[] {
  const stale = readReservations(options).filter((reservation) => reservation.vm === vm && !reservation.alive);
  for (const { device } of stale) options.io.remove(fileOf(options.sysroot, device));
  if (stale.length > 0) removeEmptyDirs(options.io, [options.sysroot.path(DEVICES_DIR)]);
  return stale.map(({ device }) => device);
}
