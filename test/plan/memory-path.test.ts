import t from 'tap';
import { resolveMemoryPath } from '../../lib/plan/memory-path.js';
import { host } from '../fixtures/helpers.js';
import { profileOf, sysrootOf } from '../fixtures/trees.js';

const meminfo = (kib: number) => `MemTotal:       16384000 kB\nHugepagesize:       ${kib} kB\n`;
const memory = (extra: Record<string, unknown>) => profileOf({ memory: { size: '4G', ...extra } });

t.test('memory.path on a mounted hugetlbfs of the right size: no warning', async (t) => {
  t.strictSame(resolveMemoryPath(memory({ hugepages: '1G', path: '/mnt/huge 1G' }), host('lab')), { path: '/mnt/huge 1G', note: 'mem-path ← memory.path' });
});

t.test('memory.path that is not such a mount: used, with a warning', async (t) => {
  t.strictSame(resolveMemoryPath(memory({ hugepages: '1G', path: '/srv/huge' }), host('lab')), {
    path: '/srv/huge',
    note: 'mem-path ← memory.path',
    unmounted: true,
    warning: '/srv/huge is not a mounted hugetlbfs with pagesize=1G (mount -t hugetlbfs -o pagesize=1G hugetlbfs /srv/huge)',
  });
  t.strictSame(resolveMemoryPath(memory({ hugepages: '1G', path: '/dev/hugepages' }), host('lab'))?.warning, '/dev/hugepages is not a mounted hugetlbfs with pagesize=1G (mount -t hugetlbfs -o pagesize=1G hugetlbfs /dev/hugepages)', 'mounted, but with 2M pages');
});

t.test("without memory.path, the host's mount with the page size", async (t) => {
  t.strictSame(resolveMemoryPath(memory({ hugepages: '1G' }), host('lab')), { path: '/mnt/huge 1G', note: "mem-path ← the host's hugetlbfs mount with pagesize=1G" });
  t.strictSame(resolveMemoryPath(memory({ hugepages: '2M' }), host('lab')), { path: '/dev/hugepages', note: "mem-path ← the host's hugetlbfs mount with pagesize=2M" }, 'a mount without pagesize= has the default size');
  t.strictSame(resolveMemoryPath(memory({ hugepages: '1G' }), host('inspur-nf5212m5'))?.path, '/dev/hugepages', 'pagesize=1024M is 1G');
});

t.test('nothing mounted, the default size: /dev/hugepages, with the mount command', async (t) => {
  t.strictSame(resolveMemoryPath(memory({ hugepages: '2M' }), sysrootOf(t, { 'proc/meminfo': meminfo(2048), 'proc/mounts': '' })), {
    path: '/dev/hugepages',
    note: 'mem-path ← assumed: no hugetlbfs with pagesize=2M is mounted yet',
    unmounted: true,
    warning: 'no hugetlbfs with pagesize=2M is mounted; QEMU needs one at /dev/hugepages (mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages)',
  });
});

t.test('nothing mounted with another size: /dev/hugepages<size>', async (t) => {
  t.strictSame(resolveMemoryPath(memory({ hugepages: '1G' }), host('z77-i5-2500')), {
    path: '/dev/hugepages1G',
    note: 'mem-path ← assumed: no hugetlbfs with pagesize=1G is mounted yet',
    unmounted: true,
    warning: 'no hugetlbfs with pagesize=1G is mounted; QEMU needs one at /dev/hugepages1G (mount -t hugetlbfs -o pagesize=1G hugetlbfs /dev/hugepages1G)',
  });
  t.equal(resolveMemoryPath(memory({ hugepages: '2M' }), sysrootOf(t, { 'proc/meminfo': meminfo(1048576) }))?.path, '/dev/hugepages2M', 'on a host whose default is 1G');
  t.equal(resolveMemoryPath(memory({ hugepages: '2M' }), sysrootOf(t, {}))?.path, '/dev/hugepages2M', 'when the default is unknown');
});

t.test('no hugetlbfs directory for memfd or without huge pages', async (t) => {
  t.equal(resolveMemoryPath(memory({ hugepages: '2M', backend: 'memfd' }), host('lab')), undefined);
  t.equal(resolveMemoryPath(memory({}), host('lab')), undefined);
  t.equal(resolveMemoryPath(memory({ backend: 'file', path: '/dev/shm' }), host('lab')), undefined, 'a file backend without huge pages has its own path');
});
