/**
 * PCI option ROMs (a GPU's VBIOS and UEFI GOP driver): the image chain as the PCI Firmware
 * Specification lays it out. Each image starts with 0x55AA and points (at 0x18) to its PCI Data
 * Structure ("PCIR"), which gives the ids, the code type and the image's length in 512-byte units;
 * the next image follows at that length until one has the last-image flag. Parsing is bounded: at
 * most MAX_ROM_BYTES are looked at, every pointer is checked against the end, and the chain stops
 * at the first image that would not move forward.
 */
import { readPciDetails } from './pci.js';
import type { Sysroot } from './sysroot.js';

/** No image can be longer (a 16-bit count of 512-byte units), and no ROM BAR holds more than one chain of them. */
export const MAX_ROM_BYTES = 0xffff * 512;

export const CODE_TYPES: Record<number, string> = { 0: 'x86 PC-AT', 1: 'Open Firmware', 2: 'PA-RISC', 3: 'EFI' };
export const EFI_MACHINE_X64 = 0x8664;
const EFI_SIGNATURE = 0x0ef1;

export interface EfiImageInfo {
  /** 0x0EF1 at offset 4 of the image. */
  signatureOk: boolean;
  /** 10: application, 11: boot service driver (a GOP driver), 12: runtime driver. */
  subsystem: number;
  /** 0x8664: x64, 0x014c: IA-32, 0xaa64: AArch64, 0x0ebc: EFI byte code. */
  machine: number;
  compressed: boolean;
}

export interface RomImage {
  offset: number;
  /** Bytes, from the PCIR's image length. */
  length: number;
  /** From the image's start. */
  pcirOffset: number;
  vendor: number;
  device: number;
  /** Base class << 16 | subclass << 8 | programming interface: 0x030000 for a VGA controller. */
  classCode: number;
  pcirRevision: number;
  codeRevision: number;
  codeType: number;
  last: boolean;
  /** Legacy images: whether the image's bytes sum to 0 (mod 256); null for EFI images. */
  checksumOk: boolean | null;
  efi: EfiImageInfo | null;
}

export interface RomReport {
  images: RomImage[];
  /** Bytes before the first image: a vendor header when not 0. */
  header: number;
  /** An EFI x64 image in a chain that starts at offset 0: OVMF can run it (the GPU shows the firmware and boot loader). */
  uefi: boolean;
  problems: string[];
}

const hex = (value: number, digits = 4) => `0x${value.toString(16).padStart(digits, '0')}`;

/** Why the PCIR an image at `offset` points to is not one, or undefined when it is. */
function pcirProblem(bytes: Uint8Array, view: DataView, offset: number): string | undefined {
  if (offset + 0x1a > bytes.length) return 'the image header is cut off';
  const pointer = view.getUint16(offset + 0x18, true);
  const pcir = offset + pointer;
  if (pointer < 0x1a) return `its PCIR pointer ${hex(pointer)} points into its own header: no PCI data structure (an ISA ROM has none)`;
  if (pcir + 0x18 > bytes.length) return `its PCIR pointer ${hex(pointer)} points outside the file`;
  if (String.fromCharCode(bytes[pcir]!, bytes[pcir + 1]!, bytes[pcir + 2]!, bytes[pcir + 3]!) !== 'PCIR') return `no PCIR signature at its PCIR pointer ${hex(pointer)}`;
  if (view.getUint16(pcir + 0x10, true) === 0) return 'its PCIR gives an image length of 0';
  return undefined;
}

function readImage(bytes: Uint8Array, view: DataView, offset: number): RomImage {
  const pcirOffset = view.getUint16(offset + 0x18, true);
  const pcir = offset + pcirOffset;
  const length = view.getUint16(pcir + 0x10, true) * 512;
  const codeType = bytes[pcir + 0x14]!;
  const end = Math.min(bytes.length, offset + length);
  let checksumOk: boolean | null = null;
  if (codeType !== 3) {
    let sum = 0;
    for (let i = offset; i < end; i++) sum += bytes[i]!;
    checksumOk = (sum & 0xff) === 0;
  }
  return {
    offset,
    length,
    pcirOffset,
    vendor: view.getUint16(pcir + 4, true),
    device: view.getUint16(pcir + 6, true),
    classCode: (bytes[pcir + 0x0f]! << 16) | (bytes[pcir + 0x0e]! << 8) | bytes[pcir + 0x0d]!,
    pcirRevision: bytes[pcir + 0x0c]!,
    codeRevision: view.getUint16(pcir + 0x12, true),
    codeType,
    last: (bytes[pcir + 0x15]! & 0x80) !== 0,
    checksumOk,
    efi:
      codeType === 3 && offset + 0x0e <= bytes.length
        ? { signatureOk: view.getUint32(offset + 4, true) === EFI_SIGNATURE, subsystem: view.getUint16(offset + 8, true), machine: view.getUint16(offset + 0x0a, true), compressed: view.getUint16(offset + 0x0c, true) !== 0 }
        : null,
  };
}

/** The images chained from `start`, and what is wrong with the chain. */
function walkChain(bytes: Uint8Array, view: DataView, start: number): { images: RomImage[]; problems: string[] } {
  const images: RomImage[] = [];
  const problems: string[] = [];
  for (let offset = start; ; ) {
    const where = `the image at ${hex(offset, 1)}`;
    if (offset >= bytes.length) {
      problems.push(`the chain goes on past the end of the file (${bytes.length} bytes) without an image marked last`);
      break;
    }
    if (bytes[offset] !== 0x55 || bytes[offset + 1] !== 0xaa) {
      problems.push(`${where} has no 0x55AA signature`);
      break;
    }
    const problem = pcirProblem(bytes, view, offset);
    if (problem) {
      problems.push(`${where}: ${problem}`);
      break;
    }
    const image = readImage(bytes, view, offset);
    images.push(image);
    if (offset + image.length > bytes.length) problems.push(`${where} is cut off: ${image.length} bytes long, the file ends after ${bytes.length - offset}`);
    if (image.checksumOk === false) problems.push(`${where} (${CODE_TYPES[image.codeType] ?? `code type ${image.codeType}`}) has a bad checksum: its bytes do not sum to 0`);
    if (image.efi && !image.efi.signatureOk) problems.push(`${where} is an EFI image without the EFI signature 0x0EF1`);
    if (image.last || offset + image.length > bytes.length) break;
    // Each image is at least 512 bytes long (a length of 0 is refused above), so the walk ends.
    offset += image.length;
  }
  return { images, problems };
}

/**
 * Where the first image that starts a parsable chain is, looking past a vendor header: a 0x55AA
 * whose PCIR is sane. undefined when there is none.
 */
export function findFirstImage(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // indexOf is native: a 64 MiB file of noise has about a thousand candidates, each checked in O(1).
  const limit = Math.min(bytes.length, MAX_ROM_BYTES);
  for (let at = bytes.indexOf(0x55); at >= 0 && at < limit; at = bytes.indexOf(0x55, at + 1)) {
    if (bytes[at + 1] === 0xaa && pcirProblem(bytes, view, at) === undefined) return at;
  }
  return undefined;
}

/** Everything `vfio-rom info` reports about a ROM file's bytes. Never throws: what is wrong is a problem. */
export function parseRom(file: Uint8Array): RomReport {
  const problems: string[] = [];
  if (file.length === 0) return { images: [], header: 0, uefi: false, problems: ['the file is empty'] };
  if (file.length > MAX_ROM_BYTES) problems.push(`the file is longer than ${MAX_ROM_BYTES} bytes, more than any option ROM holds; only its first ${MAX_ROM_BYTES} were read`);
  const bytes = file.subarray(0, MAX_ROM_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = bytes[0] === 0x55 && bytes[1] === 0xaa ? 0 : findFirstImage(bytes);
  if (start === undefined) return { images: [], header: 0, uefi: false, problems: [...problems, 'no option ROM image in it (no 0x55AA signature with a PCIR structure)'] };
  if (start > 0) problems.push(`a vendor header of ${start} bytes before the first image: cut it off with vfio-rom.mjs strip`);
  const chain = walkChain(bytes, view, start);
  problems.push(...chain.problems);
  // Behind a vendor header the device's ROM BAR shows the header, where no firmware looks for an image.
  const uefi = start === 0 && chain.images.some((image) => image.efi?.signatureOk === true && image.efi.machine === EFI_MACHINE_X64);
  return { images: chain.images, header: start, uefi, problems };
}

/** The chain's bytes without a vendor header: from the first image to the end of the last. */
export function strippedRom(file: Uint8Array): { bytes: Uint8Array; cut: number } | undefined {
  const report = parseRom(file);
  const lastImage = report.images.at(-1);
  if (!lastImage) return undefined;
  return { bytes: file.subarray(report.header, Math.min(file.length, lastImage.offset + lastImage.length)), cut: report.header };
}

/** A ROM file on the host, parsed; undefined when it cannot be read. */
export function readRom(sysroot: Sysroot, hostPath: string): RomReport | undefined {
  const bytes = sysroot.readBytes(hostPath, MAX_ROM_BYTES + 1);
  return bytes === undefined ? undefined : parseRom(bytes);
}

export interface RomExpectation {
  /** The passed device's ids, when the host shows them. */
  vendor?: number;
  device?: number;
  /** The guest boots with UEFI (OVMF): the ROM needs an EFI x64 image. */
  uefi: boolean;
}

/** What keeps a ROM file from working as a passed device's `romfile`: the parser's problems, then the fit. */
export function romProblems(report: RomReport, expected: RomExpectation): string[] {
  const problems = [...report.problems];
  const first = report.images[0];
  if (!first) return problems;
  const ids = (vendor: number, device: number) => `${hex(vendor).slice(2)}:${hex(device).slice(2)}`;
  if (expected.vendor !== undefined && expected.device !== undefined && (first.vendor !== expected.vendor || first.device !== expected.device)) {
    problems.push(`it is for device ${ids(first.vendor, first.device)}, the passed device is ${ids(expected.vendor, expected.device)}: a ROM of another card`);
  }
  if (expected.uefi && !report.uefi && report.header === 0) problems.push('it has no EFI x64 image: under OVMF the card shows nothing until the guest driver loads (dump the ROM of a UEFI-capable card, or update its firmware)');
  return problems;
}

/** A passed device's `romfile` read and checked against the device (`0000:01:00.0`); undefined when the file cannot be read. */
export function checkRomFile(sysroot: Sysroot, romfile: string, address: string, uefi: boolean): { report: RomReport; problems: string[] } | undefined {
  const report = readRom(sysroot, romfile);
  if (!report) return undefined;
  const { vendor, device } = readPciDetails(sysroot, address);
  return { report, problems: romProblems(report, { ...(vendor !== undefined && device !== undefined ? { vendor, device } : {}), uefi }) };
}

/** One line on what a ROM holds: `x86 PC-AT + EFI x64 (10de:1b81)`. */
export function describeRom(report: RomReport): string {
  const kinds = report.images.map((image) => (image.efi ? `EFI ${image.efi.machine === EFI_MACHINE_X64 ? 'x64' : hex(image.efi.machine)}` : (CODE_TYPES[image.codeType] ?? `code type ${image.codeType}`)));
  const first = report.images[0];
  return first ? `${kinds.join(' + ')} (${hex(first.vendor).slice(2)}:${hex(first.device).slice(2)})` : 'no image';
}
