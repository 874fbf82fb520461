import type { Sysroot } from './sysroot.js';

export interface CpuInfo {
  /** `GenuineIntel`, `AuthenticAMD`; undefined when /proc/cpuinfo does not say. */
  vendor?: string;
  /** The first CPU's `cpu family` (decimal: 21 is AMD's family 15h); undefined when not given. */
  family?: number;
  /** The first CPU's flags (`vmx`, `svm`…). */
  flags: Set<string>;
}

/** The CPU vendor and flags from the first processor block of /proc/cpuinfo; undefined when unreadable. */
export function readCpuInfo(sysroot: Sysroot): CpuInfo | undefined {
  const text = sysroot.readText('/proc/cpuinfo');
  if (text === undefined) return undefined;
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(text)?.[1];
  const flags = /^flags\s*:(.*)$/m.exec(text)?.[1] ?? '';
  const family = /^cpu family\s*:\s*(\d+)/m.exec(text)?.[1];
  return { ...(vendor ? { vendor } : {}), ...(family ? { family: Number(family) } : {}), flags: new Set(flags.trim().split(/\s+/).filter(Boolean)) };
}

export type CpuVendor = 'intel' | 'amd' | undefined;

/** Intel or AMD, from /proc/cpuinfo; undefined when it does not say. */
export function readCpuVendor(sysroot: Sysroot): CpuVendor {
  const vendor = readCpuInfo(sysroot)?.vendor;
  return vendor === 'GenuineIntel' ? 'intel' : vendor === 'AuthenticAMD' ? 'amd' : undefined;
}
