import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readDefaultHugepageSize, readHugepageSizes, readHugetlbMounts } from '../../lib/host/hugepages.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf, tree } from '../fixtures/trees.js';

const M = 2 ** 20;
const G = 2 ** 30;

const meminfo = (kib: number) => `MemTotal:       16384000 kB\nHugePages_Total:       0\nHugepagesize:       ${kib} kB\nHugetlb:               0 kB\n`;

t.test('the default size comes from Hugepagesize in /proc/meminfo', async (t) => {
  t.equal(readDefaultHugepageSize(sysrootOf(t, { 'proc/meminfo': meminfo(2048) })), 2 * M);
  t.equal(readDefaultHugepageSize(sysrootOf(t, { 'proc/meminfo': meminfo(1048576) })), G);
  t.equal(readDefaultHugepageSize(host('inspur-nf5212m5')), G);
});

t.test('no default size without /proc/meminfo or its Hugepagesize line', async (t) => {
  t.equal(readDefaultHugepageSize(sysrootOf(t, {})), undefined);
  t.equal(readDefaultHugepageSize(sysrootOf(t, { 'proc/meminfo': 'MemTotal:       16384000 kB\n' })), undefined);
});

t.test('the sizes come from the hugepages-<n>kB directories, smallest first', async (t) => {
  const dir = tree(t, {});
  for (const name of ['hugepages-1048576kB', 'hugepages-2048kB', 'hugepages-64kB', 'not-hugepages', 'hugepages-xkB']) {
    mkdirSync(join(dir, 'sys/kernel/mm/hugepages', name), { recursive: true });
  }
  t.strictSame(readHugepageSizes(new Sysroot(dir)), [64 * 1024, 2 * M, G]);
});

t.test('no sizes when the kernel has no hugepages directory', async (t) => {
  t.strictSame(readHugepageSizes(sysrootOf(t, {})), []);
});

t.test('hugetlbfs mounts with their page size', async (t) => {
  const root = sysrootOf(t, {
    'proc/meminfo': meminfo(2048),
    'proc/mounts': [
      'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
      'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0',
      'none /mnt/big hugetlbfs rw,pagesize=1024M 0 0',
      'none /mnt/gig hugetlbfs rw,relatime,pagesize=1G,mode=1770 0 0',
      'none /mnt/default hugetlbfs rw,relatime 0 0',
      'tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0',
      'hugetlbfs-lookalike /mnt/fake ext4 rw,pagesize=2M 0 0',
      '',
    ].join('\n'),
  });
  t.strictSame(readHugetlbMounts(root), [
    { path: '/dev/hugepages', pageSize: 2 * M },
    { path: '/mnt/big', pageSize: G },
    { path: '/mnt/gig', pageSize: G },
    { path: '/mnt/default', pageSize: 2 * M },
  ]);
});

t.test('a mount without pagesize= has the default size, or is left out when that is unknown', async (t) => {
  const mounts = 'hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\nhugetlbfs /mnt/two hugetlbfs rw,pagesize=2M 0 0\n';
  t.strictSame(readHugetlbMounts(sysrootOf(t, { 'proc/meminfo': meminfo(1048576), 'proc/mounts': mounts })), [
    { path: '/dev/hugepages', pageSize: G },
    { path: '/mnt/two', pageSize: 2 * M },
  ]);
  t.strictSame(readHugetlbMounts(sysrootOf(t, { 'proc/mounts': mounts })), [{ path: '/mnt/two', pageSize: 2 * M }]);
});

t.test('mount paths are unescaped from /proc/mounts octal escapes', async (t) => {
  const root = sysrootOf(t, {
    'proc/meminfo': meminfo(2048),
    'proc/mounts': 'hugetlbfs /mnt/huge\\0401G hugetlbfs rw,pagesize=1G 0 0\nhugetlbfs /mnt/a\\011b\\134c\\012d hugetlbfs rw 0 0\n',
  });
  t.strictSame(readHugetlbMounts(root), [
    { path: '/mnt/huge 1G', pageSize: G },
    { path: '/mnt/a\tb\\c\nd', pageSize: 2 * M },
  ]);
  t.strictSame(readHugetlbMounts(host('lab')), [
    { path: '/dev/hugepages', pageSize: 2 * M },
    { path: '/mnt/huge 1G', pageSize: G },
  ]);
});

t.test('an unreadable pagesize= leaves the mount out', async (t) => {
  t.strictSame(readHugetlbMounts(sysrootOf(t, { 'proc/meminfo': meminfo(2048), 'proc/mounts': 'hugetlbfs /mnt/x hugetlbfs rw,pagesize=huge 0 0\n' })), []);
});

t.test('no mounts without /proc/mounts', async (t) => {
  t.strictSame(readHugetlbMounts(sysrootOf(t, { 'proc/meminfo': meminfo(2048) })), []);
});
