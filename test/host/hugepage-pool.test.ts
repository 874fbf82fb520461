// lib/host/hugepages.ts readHugepagePool: the nr/free counts of one page size, host-wide or on
// one NUMA node, which the reserve step takes its missing pages from.
import t from 'tap';
import { readHugepagePool } from '../../lib/host/hugepages.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

const M2 = 2 * 1024 ** 2;
const G1 = 1024 ** 3;

t.test('host-wide pools of the fake hosts', async (t) => {
  t.strictSame(readHugepagePool(host('inspur-nf5212m5'), G1), { dir: '/sys/kernel/mm/hugepages/hugepages-1048576kB', total: 32, free: 32 });
  t.strictSame(readHugepagePool(host('inspur-nf5212m5'), M2), { dir: '/sys/kernel/mm/hugepages/hugepages-2048kB', total: 0, free: 0 });
  t.strictSame(readHugepagePool(host('lab'), M2), { dir: '/sys/kernel/mm/hugepages/hugepages-2048kB', total: 0, free: 0 });
});

t.test('per-node pools', async (t) => {
  t.strictSame(readHugepagePool(host('inspur-nf5212m5'), G1, 0), { dir: '/sys/devices/system/node/node0/hugepages/hugepages-1048576kB', total: 32, free: 32 });
  t.strictSame(readHugepagePool(host('lab'), M2, 1), { dir: '/sys/devices/system/node/node1/hugepages/hugepages-2048kB', total: 0, free: 0 });
  t.equal(readHugepagePool(host('lab'), M2, 2), undefined, 'no node 2');
});

t.test('free and total are read separately, blanks ignored', async (t) => {
  const dir = 'sys/devices/system/node/node1/hugepages/hugepages-2048kB';
  const sysroot = sysrootOf(t, { [`${dir}/nr_hugepages`]: '  512\n', [`${dir}/free_hugepages`]: '100\n' });
  t.strictSame(readHugepagePool(sysroot, M2, 1), { dir: `/${dir}`, total: 512, free: 100 });
  t.equal(readHugepagePool(sysroot, M2), undefined, 'the host-wide pool is another directory');
});

t.test('undefined for a size the host lacks, or counts that are missing or not numbers', async (t) => {
  const dir = 'sys/kernel/mm/hugepages/hugepages-2048kB';
  t.equal(readHugepagePool(host('lab'), 16 * 1024 ** 3), undefined, '16G pages');
  t.equal(readHugepagePool(sysrootOf(t, { [`${dir}/nr_hugepages`]: '4\n' }), M2), undefined, 'no free_hugepages');
  t.equal(readHugepagePool(sysrootOf(t, { [`${dir}/free_hugepages`]: '4\n' }), M2), undefined, 'no nr_hugepages');
  t.equal(readHugepagePool(sysrootOf(t, { [`${dir}/nr_hugepages`]: 'four\n', [`${dir}/free_hugepages`]: '4\n' }), M2), undefined);
  t.equal(readHugepagePool(sysrootOf(t, { [`${dir}/nr_hugepages`]: '4.5\n', [`${dir}/free_hugepages`]: '4\n' }), M2), undefined, 'not a whole number');
});
