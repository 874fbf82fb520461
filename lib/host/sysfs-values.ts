/**
 * Sysfs values as hwloc reads them, whatever the kernel's age: text without the trailing NUL
 * bytes and spaces some captured trees carry, and CPU sets from the `*_list` file when the
 * kernel has it, else from the older bitmask file beside it (`thread_siblings`, `shared_cpu_map`,
 * `nodeN/cpumap`), which every kernel has.
 */
import { parseCpuList, parseCpuMask } from '../cpu-list.js';
import type { Sysroot } from './sysroot.js';

/** The value of a sysfs file: its text less surrounding whitespace and NUL bytes; undefined when unreadable. */
export function readSysfsText(sysroot: Sysroot, path: string): string | undefined {
  return sysroot.readText(path)?.replace(/^[\s\0]+|[\s\0]+$/g, '');
}

/** A sysfs integer; undefined when unreadable or not a number. */
export function readSysfsInt(sysroot: Sysroot, path: string): number | undefined {
  const text = readSysfsText(sysroot, path);
  return text === undefined || !/^-?\d+$/.test(text) ? undefined : Number(text);
}

/** A CPU list file (`0-3,8`); undefined when unreadable or malformed. */
export function readCpuListFile(sysroot: Sysroot, path: string): number[] | undefined {
  const text = readSysfsText(sysroot, path);
  return text === undefined ? undefined : parseCpuList(text);
}

/**
 * A CPU set given as `<listPath>` (`…_list`, `cpulist`), or as the bitmask file `maskPath` on
 * kernels without the list (older kernels, and some trees captured from them).
 */
export function readCpuSet(sysroot: Sysroot, listPath: string, maskPath: string): number[] | undefined {
  const list = readCpuListFile(sysroot, listPath);
  if (list !== undefined) return list;
  const mask = readSysfsText(sysroot, maskPath);
  return mask === undefined ? undefined : parseCpuMask(mask);
}
