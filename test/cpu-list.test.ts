import t from 'tap';
import { formatCpuList, parseCpuList, parseCpuMask } from '../lib/cpu-list.js';

t.test('parseCpuList expands ranges and single CPUs', async (t) => {
  t.strictSame(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11]);
  t.strictSame(parseCpuList('5'), [5]);
  t.strictSame(parseCpuList('4-4'), [4], 'a one-CPU range');
  t.strictSame(parseCpuList('0-3\n'), [0, 1, 2, 3], "sysfs's trailing newline is ignored");
});

t.test('parseCpuList keeps the written order', async (t) => {
  t.strictSame(parseCpuList('8,2-3,0'), [8, 2, 3, 0]);
});

t.test('parseCpuList reads an empty list (an empty sysfs file) as no CPUs', async (t) => {
  t.strictSame(parseCpuList(''), []);
  t.strictSame(parseCpuList('\n'), []);
});

t.test('parseCpuList rejects malformed lists', async (t) => {
  for (const text of ['a', '1,', ',1', '1-', '-1', '1--2', '1-2-3', '1 2', '1, 2', '0x3', '1.5']) {
    t.equal(parseCpuList(text), undefined, JSON.stringify(text));
  }
});

t.test('parseCpuList rejects reversed ranges', async (t) => {
  t.equal(parseCpuList('3-1'), undefined);
  t.equal(parseCpuList('0-1,7-6'), undefined, 'anywhere in the list');
});

t.test('formatCpuList sorts, drops duplicates and compacts runs', async (t) => {
  t.equal(formatCpuList([3, 0, 1, 2, 8]), '0-3,8');
  t.equal(formatCpuList([10, 11, 2, 2, 5, 4]), '2,4-5,10-11');
  t.equal(formatCpuList([7]), '7');
  t.equal(formatCpuList([]), '');
  t.equal(formatCpuList(new Set([1, 0])), '0-1', 'any iterable');
});

t.test('parseCpuMask reads one hex number of any length, as taskset and a writeback cpumask take it', async (t) => {
  t.strictSame(parseCpuMask('0xf0'), [4, 5, 6, 7]);
  t.strictSame(parseCpuMask('f0'), [4, 5, 6, 7], 'without 0x');
  t.strictSame(parseCpuMask('1f00000000'), [32, 33, 34, 35, 36], 'longer than one 32-bit group');
  t.strictSame(parseCpuMask('ff,00000000'), parseCpuMask('0xff00000000'), 'grouped and ungrouped agree');
  t.strictSame(parseCpuMask('f,0'), [32, 33, 34, 35], 'a short group is still 32 bits');
  t.equal(parseCpuMask('0xg'), undefined);
  t.equal(parseCpuMask('0x'), undefined);
});
