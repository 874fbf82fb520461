/**
 * Reading a PCI device's option ROM through sysfs, and writing ROM files: the writes `vfio-rom
 * dump` and `strip` make. The kernel hides the ROM BAR until `1` is written to the device's
 * `rom` file; writing `0` hides it again, which must happen whatever the read did.
 */
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { BootVmError } from '../errors.js';
import { readFileBytes } from '../host/sysroot.js';
import { describeError, nodeHostIo } from './host-io.js';

/** The file operations a dump needs; tests hand in their own to see the order of the calls. */
export interface RomIo {
  /** One write(2) of the whole text, as sysfs wants it. */
  write(path: string, text: string): void;
  /** At most the file's first `maxBytes` bytes; throws when the read fails. */
  readBytes(path: string, maxBytes: number): Buffer;
}

export const nodeRomIo: RomIo = {
  write: nodeHostIo.write,
  readBytes: readFileBytes,
};

/** A dump or a write of a ROM file that failed. Exit code 1. */
export class RomDumpError extends BootVmError {}

/**
 * The bytes of the ROM behind a sysfs `rom` file (`romPath`, already under the sysroot): enabled,
 * read, disabled again even when the read fails.
 */
export function readDeviceRom(io: RomIo, romPath: string, maxBytes: number): Buffer {
  try {
    io.write(romPath, '1');
  } catch (error) {
    throw new RomDumpError(`cannot enable the ROM (${romPath}): ${describeError(error)}`);
  }
  let bytes: Buffer | undefined;
  let readError: unknown;
  try {
    bytes = io.readBytes(romPath, maxBytes);
  } catch (error) {
    readError = error;
  }
  try {
    io.write(romPath, '0');
  } catch (error) {
    const before = readError === undefined ? '' : `reading it failed (${describeError(readError)}), then `;
    throw new RomDumpError(`${before}disabling the ROM again failed (${romPath}): ${describeError(error)}; write 0 to it by hand`);
  }
  if (readError !== undefined || bytes === undefined) throw new RomDumpError(`cannot read the ROM (${romPath}): ${describeError(readError)}; it was disabled again`);
  return bytes;
}

/**
 * Writes a ROM file with mode 0644. Without `overwrite` an existing file is kept and false is
 * returned; the file is created with O_EXCL, so nothing can appear under the name in between.
 */
export function writeRomFile(path: string, bytes: Uint8Array, overwrite: boolean): boolean {
  let fd: number;
  try {
    fd = openSync(path, overwrite ? 'w' : 'wx', 0o644);
  } catch (error) {
    if (!overwrite && (error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new RomDumpError(`cannot write ${path}: ${describeError(error)}`);
  }
  try {
    // The mode given to open is masked by the umask, and an overwritten file keeps its own.
    fchmodSync(fd, 0o644);
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  } catch (error) {
    throw new RomDumpError(`cannot write ${path}: ${describeError(error)}`);
  } finally {
    closeSync(fd);
  }
  return true;
}
