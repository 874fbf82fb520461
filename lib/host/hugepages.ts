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
