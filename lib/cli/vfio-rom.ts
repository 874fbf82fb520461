/** `vfio-rom dump|info|strip`: a GPU's option ROM read through sysfs, inspected, cut free of a vendor header. */
import { existsSync } from 'node:fs';
import minimist from 'minimist';
import { nodeRomIo, readDeviceRom, writeRomFile, type RomIo } from '../apply/rom-dump.js';
import { describeError } from '../apply/host-io.js';
import { BootVmError, InputError, UsageError } from '../errors.js';
import { readFramebuffers, readVtconsoles } from '../host/consoles.js';
import { describeHolder, gpuDeviceFiles, readDeviceHolders } from '../host/device-holders.js';
import { CODE_TYPES, EFI_MACHINE_X64, MAX_ROM_BYTES, parseRom, strippedRom, type RomImage, type RomReport } from '../host/option-rom.js';
import { isBootVga, readPciDriver } from '../host/pci.js';
import type { Sysroot } from '../host/sysroot.js';
import { formatPciAddress, parsePciAddress } from '../pci-address.js';
import { openSysroot, type CliOutput } from './inspect-options.js';
import { unknownOption } from './run.js';

// What scripts/vfio-rom.mjs needs besides vfioRom, in this one bundled module.
export { runCli } from './run.js';

export const VFIO_ROM_USAGE = `Usage: vfio-rom dump <pci-address> <file> [--force] [--json] [--sysroot DIR]
       vfio-rom info <file> [--json]
       vfio-rom strip <in> <out> [--force] [--json]

A GPU's option ROM (its VBIOS and UEFI GOP driver), for a profile's romfile:

  dump   reads the device's ROM through sysfs (writes 1 to its rom file, reads it, writes 0
         again even when the read fails) and saves it to <file>, mode 0644, once it parses.
         Refuses while the device is the boot GPU with the host's console on it, or while
         processes use it through its driver; on vfio-pci or no driver it is safe.
  info   lists the images in <file> (ids, class code, code type, length, checksum, EFI
         machine type), says whether OVMF can boot with it, and every problem found.
  strip  writes <out> from the first image to the end of the chain: cuts off the vendor
         header of ROMs from vendor sites or a vendor's flasher.

      --force         overwrite <file> or <out> when it exists
      --json          dump: {"address", "file", "bytes", "rom"}; info: {"images", "header",
                      "uefi", "problems"}; strip: {"cut", "end", "bytes", "out"}
      --sysroot DIR   dump: read and write /sys under DIR instead of /
  -h, --help          show this help

Exit status: 0 done (info: no problem), 1 refused or failed (info: a problem found),
2 bad input (a bad address, an unreadable file).
`;

/** A dump or strip that would do harm or write nothing useful. Exit code 1, one line per reason. */
export class RomRefusal extends BootVmError {
  readonly reasons: string[];
  constructor(reasons: string[]) {
    super(reasons.join('\n'));
    this.reasons = reasons;
  }
  override lines(): string[] {
    return this.reasons.map((reason) => `vfio-rom: ${reason}`);
  }
}

const hex = (value: number, digits = 4) => `0x${value.toString(16).padStart(digits, '0')}`;
const MACHINES: Record<number, string> = { [EFI_MACHINE_X64]: 'x64', 0x014c: 'IA-32', 0xaa64: 'AArch64', 0x0200: 'Itanium', 0x0ebc: 'EFI byte code' };
const SUBSYSTEMS: Record<number, string> = { 10: 'application', 11: 'boot service driver', 12: 'runtime driver' };
const codeTypeName = (image: RomImage) => CODE_TYPES[image.codeType] ?? `code type ${image.codeType}`;
const machineName = (machine: number) => MACHINES[machine] ?? 'unknown';

/** `x86 PC-AT`, `EFI x64`: what an image is, in the verdict. */
const imageKind = (image: RomImage) => (image.efi ? `EFI ${machineName(image.efi.machine)}` : codeTypeName(image));

function renderImage(image: RomImage, index: number): string[] {
  const lines = [
    `image ${index + 1} at ${hex(image.offset, 1)}`,
    `  signature      0x55AA`,
    `  PCIR           at ${hex(image.pcirOffset)} (revision ${image.pcirRevision})`,
    `  ids            ${image.vendor.toString(16).padStart(4, '0')}:${image.device.toString(16).padStart(4, '0')}`,
    `  class code     ${hex(image.classCode, 6)}`,
    `  code revision  ${hex(image.codeRevision)}`,
    `  code type      ${image.codeType} (${codeTypeName(image)})`,
    `  last image     ${image.last ? 'yes' : 'no'}`,
    `  length         ${image.length} bytes (${image.length / 512} × 512)`,
  ];
  if (image.checksumOk !== null) lines.push(`  checksum       ${image.checksumOk ? 'ok (the bytes sum to 0)' : 'BAD (the bytes do not sum to 0)'}`);
  if (image.efi) {
    const { signatureOk, subsystem, machine, compressed } = image.efi;
    lines.push(
      `  EFI signature  ${signatureOk ? '0x0EF1' : 'MISSING (no 0x0EF1)'}`,
      `  EFI subsystem  ${subsystem} (${SUBSYSTEMS[subsystem] ?? 'unknown'})`,
      `  EFI machine    ${hex(machine)} (${machineName(machine)})`,
      `  compressed     ${compressed ? 'yes' : 'no'}`,
    );
  }
  return lines;
}

/** One line: which images the ROM holds and whether OVMF can boot with it. */
export function romVerdict(report: RomReport): string {
  if (report.images.length === 0) return 'verdict: no option ROM image; OVMF cannot use it';
  const kinds = report.images.map(imageKind).join(', ');
  const holds = `${report.images.length} image${report.images.length === 1 ? '' : 's'} (${kinds})`;
  if (report.uefi) return `verdict: ${holds}; boots under OVMF (an EFI x64 image in the chain at offset 0)`;
  const hasX64 = report.images.some((image) => image.efi?.signatureOk && image.efi.machine === EFI_MACHINE_X64);
  const why = hasX64 && report.header > 0 ? `its EFI x64 image is behind a vendor header of ${report.header} bytes (strip it)` : 'no EFI x64 image';
  return `verdict: ${holds}; cannot boot under OVMF: ${why}`;
}

export function renderRomText(report: RomReport): string {
  const lines = report.header > 0 ? [`vendor header  ${report.header} bytes before the first image`] : [];
  report.images.forEach((image, index) => lines.push(...renderImage(image, index)));
  lines.push(romVerdict(report));
  lines.push(report.problems.length === 0 ? 'problems: none' : 'problems:', ...report.problems.map((problem) => `  - ${problem}`));
  return `${lines.join('\n')}\n`;
}

/** A ROM file's bytes (at most one byte more than any ROM holds); one line and exit 2 when it cannot be read. */
function readRomFile(file: string): Buffer {
  try {
    return nodeRomIo.readBytes(file, MAX_ROM_BYTES + 1);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${describeError(error)}`);
  }
}

export function romInfo(file: string, options: { json: boolean }): CliOutput {
  const report = parseRom(readRomFile(file));
  return { stdout: options.json ? `${JSON.stringify(report, null, 2)}\n` : renderRomText(report), stderr: [], exitCode: report.problems.length === 0 ? 0 : 1 };
}

const exists = (file: string) => new RomRefusal([`${file} exists; nothing written (--force overwrites it)`]);

export function romStrip(input: string, out: string, options: { force: boolean; json: boolean }): CliOutput {
  const stripped = strippedRom(readRomFile(input));
  if (!stripped) throw new RomRefusal([`no valid option ROM image in ${input} (no 0x55AA with a sane PCIR); nothing written`]);
  if (!writeRomFile(out, stripped.bytes, options.force)) throw exists(out);
  const end = stripped.cut + stripped.bytes.length;
  if (options.json) return { stdout: `${JSON.stringify({ cut: stripped.cut, end, bytes: stripped.bytes.length, out }, null, 2)}\n`, stderr: [], exitCode: 0 };
  const problems = parseRom(stripped.bytes).problems;
  const still = problems.length === 0 ? [] : [`${out} still has problems (vfio-rom info ${out}):`, ...problems.map((problem) => `  - ${problem}`)];
  return { stdout: [`cut ${stripped.cut} bytes; the chain ends at ${hex(end, 1)}; wrote ${stripped.bytes.length} bytes to ${out}`, ...still].join('\n') + '\n', stderr: [], exitCode: 0 };
}

/** Why reading this device's ROM now would disturb the host; empty when it would not. */
export function dumpRefusals(sysroot: Sysroot, address: string): string[] {
  const reasons: string[] = [];
  if (isBootVga(sysroot, address)) {
    // The dummy console draws nothing; any other bound one (fbcon, VGA text) is on the boot GPU.
    const consoles = readVtconsoles(sysroot)
      .filter((console) => console.bound && !console.name.includes('dummy device'))
      .map((console) => `${console.dir.split('/').pop()} ${console.name}`);
    const framebuffers = readFramebuffers(sysroot).map((framebuffer) => framebuffer.device);
    const on = [...consoles, ...framebuffers];
    if (on.length > 0) reasons.push(`${address} is the boot GPU and the host's console is on it (${on.join('; ')}): on many cards the ROM shares an address decoder with the memory the console draws in; dump it with the consoles unbound (boot-vm prepare-host) or from a boot on another GPU`);
  }
  const driver = readPciDriver(sysroot, address);
  if (driver !== undefined && driver !== 'vfio-pci') {
    const holders = readDeviceHolders(sysroot, gpuDeviceFiles(sysroot, address, driver));
    if (holders.length > 0) reasons.push(`${address} is on ${driver} and in use (${holders.map(describeHolder).join('; ')}): stop them, or bind it to vfio-pci first`);
  }
  return reasons;
}

export interface DumpOptions {
  force: boolean;
  json: boolean;
  sysroot?: string;
}

export function romDump(addressText: string, file: string, options: DumpOptions, io: RomIo = nodeRomIo): CliOutput {
  const parsed = parsePciAddress(addressText);
  if (!parsed) throw new UsageError(`dump: expected a PCI address like 01:00.0 or 0000:01:00.0, got "${addressText}"`);
  const address = formatPciAddress(parsed);
  const sysroot = openSysroot(options.sysroot);
  const dir = `/sys/bus/pci/devices/${address}`;
  if (!sysroot.exists(dir)) throw new InputError([{ message: `no PCI device ${address} (no ${sysroot.path(dir)})` }]);
  if (!sysroot.exists(`${dir}/rom`)) throw new RomRefusal([`${address} has no ROM BAR (no ${sysroot.path(`${dir}/rom`)})`]);
  const refusals = dumpRefusals(sysroot, address);
  if (refusals.length > 0) throw new RomRefusal(refusals.map((reason) => `refusing to dump: ${reason}`));
  // Checked before the ROM is touched; writeRomFile checks again, atomically.
  if (!options.force && existsSync(file)) throw exists(file);
  const bytes = readDeviceRom(io, sysroot.path(`${dir}/rom`), MAX_ROM_BYTES + 1);
  const rom = parseRom(bytes);
  if (rom.images.length === 0) throw new RomRefusal([`the ROM read from ${address} (${bytes.length} byte${bytes.length === 1 ? '' : 's'}) holds no image (${rom.problems.join('; ')}); nothing written`]);
  if (!writeRomFile(file, bytes, options.force)) throw exists(file);
  if (options.json) return { stdout: `${JSON.stringify({ address, file, bytes: bytes.length, rom }, null, 2)}\n`, stderr: [], exitCode: 0 };
  return { stdout: `wrote ${bytes.length} bytes of ${address}'s ROM to ${file}\n${renderRomText(rom)}`, stderr: [], exitCode: 0 };
}

const OPTIONS = { boolean: ['json', 'force', 'help'], string: ['sysroot'], alias: { h: 'help' } };
/** Each verb's arguments. */
const VERBS: Record<string, string[]> = { dump: ['pci-address', 'file'], info: ['file'], strip: ['in', 'out'] };

/** The whole command line: the verb, its arguments and options checked, then the verb run. */
export function vfioRom(argv: string[]): CliOutput {
  const args = minimist(argv, { ...OPTIONS, unknown: (arg) => unknownOption(arg, OPTIONS) });
  if (args.help) return { stdout: VFIO_ROM_USAGE, stderr: [], exitCode: 0 };
  const [verb, ...rest] = args._.map(String);
  if (verb === undefined) throw new UsageError('vfio-rom needs a verb: dump, info or strip (see --help)');
  const names = VERBS[verb];
  if (!names) throw new UsageError(`unknown verb "${verb}": expected dump, info or strip (see --help)`);
  if (rest.length !== names.length) throw new UsageError(`${verb} takes ${names.map((name) => `<${name}>`).join(' ')}, got ${rest.length === 0 ? 'nothing' : rest.join(' ')}`);
  if (rest.some((arg) => arg === '')) throw new UsageError(`${verb}: an empty argument`);
  const sysroot: unknown = args.sysroot;
  if (sysroot !== undefined && (sysroot === '' || Array.isArray(sysroot))) throw new UsageError('--sysroot takes one value');
  if (sysroot !== undefined && verb !== 'dump') throw new UsageError(`--sysroot goes with dump; ${verb} reads the file it is given`);
  if (args.force && verb === 'info') throw new UsageError('--force goes with dump and strip; info writes nothing');
  const json = Boolean(args.json);
  const force = Boolean(args.force);
  if (verb === 'dump') return romDump(rest[0]!, rest[1]!, { force, json, sysroot: sysroot as string | undefined });
  if (verb === 'info') return romInfo(rest[0]!, { json });
  return romStrip(rest[0]!, rest[1]!, { force, json });
}
