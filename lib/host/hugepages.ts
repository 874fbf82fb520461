import type { Sysroot } from './sysroot.js';

export interface HugetlbMount {
  path: string;
  /** Page size in bytes. */
  pageSize: number;
}

const KIB = 1024;

// /proc/mounts writes space, tab, newline and backslash as octal escapes.
const unescapeMountPath = (path: string) => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

function parsePageSizeOption(value: string): number | undefined {
  const match = /^(\d+)([KMG])$/i.exec(value);
  if (!match) return undefined;
  const scale = { K: KIB, M: KIB ** 2, G: KIB ** 3 }[match[2]!.toUpperCase() as 'K' | 'M' | 'G'];
  return Number(match[1]) * scale;
}

/** The default huge page size (`Hugepagesize:` in /proc/meminfo), in bytes. */
export function readDefaultHugepageSize(sysroot: Sysroot): number | undefined {
  const match = /^Hugepagesize:\s+(\d+) kB$/m.exec(sysroot.readText('/proc/meminfo') ?? '');
  return match ? Number(match[1]) * KIB : undefined;
}

/** Page sizes the kernel can allocate (`/sys/kernel/mm/hugepages/hugepages-<n>kB`), in bytes. */
export function readHugepageSizes(sysroot: Sysroot): number[] {
  return sysroot
    .list('/sys/kernel/mm/hugepages')
    .map((name) => /^hugepages-(\d+)kB$/.exec(name))
    .filter((match) => match !== null)
    .map((match) => Number(match[1]) * KIB)
    .sort((a, b) => a - b);
}

/** Mounted hugetlbfs file systems with their page size (the default size when the mount has no `pagesize=`). */
export function readHugetlbMounts(sysroot: Sysroot): HugetlbMount[] {
  const mounts: HugetlbMount[] = [];
  const defaultSize = readDefaultHugepageSize(sysroot);
  for (const line of (sysroot.readText('/proc/mounts') ?? '').split('\n')) {
    const [, path, type, options = ''] = line.split(' ');
    if (type !== 'hugetlbfs' || path === undefined) continue;
    const option = options.split(',').find((entry) => entry.startsWith('pagesize='));
    const pageSize = option ? parsePageSizeOption(option.slice('pagesize='.length)) : defaultSize;
    if (pageSize !== undefined) mounts.push({ path: unescapeMountPath(path), pageSize });
  }
  return mounts;
}

export interface HugepagePool {
  /** The directory holding nr_hugepages and free_hugepages for this size (and node). */
  dir: string;
  total: number;
  free: number;
}

/** The pool of pages of `pageSize` bytes, host-wide or on one NUMA node; undefined when the host has no such pool. */
export function readHugepagePool(sysroot: Sysroot, pageSize: number, node?: number): HugepagePool | undefined {
  const base = node === undefined ? '/sys/kernel/mm/hugepages' : `/sys/devices/system/node/node${node}/hugepages`;
  const dir = `${base}/hugepages-${pageSize / KIB}kB`;
  const total = Number(sysroot.readText(`${dir}/nr_hugepages`)?.trim());
  const free = Number(sysroot.readText(`${dir}/free_hugepages`)?.trim());
  return Number.isInteger(total) && Number.isInteger(free) ? { dir, total, free } : undefined;
}
