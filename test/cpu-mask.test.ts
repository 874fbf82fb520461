// lib/cpu-list.ts formatCpuMask: CPUs as the hex mask sysfs cpumask files take (writeback's
// cpumask), 32-bit groups most significant first, comma-separated, inner groups zero-padded.
import t from 'tap';
import { formatCpuMask } from '../lib/cpu-list.js';
import { host } from './fixtures/helpers.js';

t.test('one group', async (t) => {
  t.equal(formatCpuMask([0]), '1');
  t.equal(formatCpuMask([0, 1]), '3');
  t.equal(formatCpuMask([2, 3]), 'c');
  t.equal(formatCpuMask([0, 1, 2, 3]), 'f');
  t.equal(formatCpuMask([4]), '10', 'no padding on the first group');
  t.equal(formatCpuMask([31]), '80000000', 'bit 31 is not a sign bit');
  t.equal(formatCpuMask(Array.from({ length: 32 }, (_, cpu) => cpu)), 'ffffffff');
});

t.test('several groups: inner groups padded to 8 digits, empty ones written as zeros', async (t) => {
  t.equal(formatCpuMask([32]), '1,00000000');
  t.equal(formatCpuMask([0, 32]), '1,00000001');
  t.equal(formatCpuMask([4, 36]), '10,00000010');
  t.equal(formatCpuMask([64]), '1,00000000,00000000', 'an empty group in the middle');
  t.equal(formatCpuMask(Array.from({ length: 64 }, (_, cpu) => cpu)), 'ffffffff,ffffffff');
});

t.test('order and repeats do not matter; any iterable', async (t) => {
  t.equal(formatCpuMask([3, 0, 2, 1]), 'f');
  t.equal(formatCpuMask([1, 1, 1]), '2');
  t.equal(formatCpuMask(new Set([33, 1])), '2,00000002');
});

t.test('no CPUs is mask 0', async (t) => {
  t.equal(formatCpuMask([]), '0');
});

t.test('the fake hosts’ writeback cpumask is the mask of all their CPUs', async (t) => {
  t.equal(host('z77-i5-2500').readText('/sys/bus/workqueue/devices/writeback/cpumask'), `${formatCpuMask([0, 1, 2, 3])}\n`);
  t.equal(host('lab').readText('/sys/bus/workqueue/devices/writeback/cpumask'), `${formatCpuMask(Array.from({ length: 64 }, (_, cpu) => cpu))}\n`);
});
