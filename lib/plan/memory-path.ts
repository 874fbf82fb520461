import { readDefaultHugepageSize, readHugetlbMounts } from '../host/hugepages.js';
import type { Sysroot } from '../host/sysroot.js';
import type { Profile } from '../profile/schema.js';
import type { HugepageDir } from '../qemu/arg.js';
import { parseSize } from '../size.js';

export interface MemoryPath extends HugepageDir {
  /** Set when no suitable hugetlbfs is mounted yet: what to do about it. */
  warning?: string;
  /** No hugetlbfs of the right page size is mounted at `path` yet. */
  unmounted?: true;
}

/**
 * The hugetlbfs directory a file-backed hugepage backend uses: `memory.path` when given, else the
 * host's mount with the right page size, else the conventional place one would be mounted.
 */
export function resolveMemoryPath(profile: Profile, sysroot: Sysroot): MemoryPath | undefined {
  const { hugepages, backend, path } = profile.memory;
  if (hugepages === false || backend === 'memfd') return undefined;
  const pageSize = parseSize(hugepages)!;
  const mounts = readHugetlbMounts(sysroot);
  if (path !== undefined) {
    const mounted = mounts.some((mount) => mount.path === path && mount.pageSize === pageSize);
    return {
      path,
      note: `mem-path ← memory.path`,
      ...(mounted ? {} : { unmounted: true, warning: `${path} is not a mounted hugetlbfs with pagesize=${hugepages} (mount -t hugetlbfs -o pagesize=${hugepages} hugetlbfs ${path})` }),
    };
  }
  const mount = mounts.find((candidate) => candidate.pageSize === pageSize);
  if (mount) return { path: mount.path, note: `mem-path ← the host's hugetlbfs mount with pagesize=${hugepages}` };
  // systemd mounts /dev/hugepages with the default page size; other sizes need their own mount.
  const conventional = readDefaultHugepageSize(sysroot) === pageSize ? '/dev/hugepages' : `/dev/hugepages${hugepages}`;
  return {
    path: conventional,
    note: `mem-path ← assumed: no hugetlbfs with pagesize=${hugepages} is mounted yet`,
    unmounted: true,
    warning: `no hugetlbfs with pagesize=${hugepages} is mounted; QEMU needs one at ${conventional} (mount -t hugetlbfs -o pagesize=${hugepages} hugetlbfs ${conventional})`,
  };
}
