import t from 'tap';
import { readEffectiveUid, readFreeBlocks, readMemlockLimit } from '../../lib/host/memory-state.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

t.test('free blocks of a size from /proc/buddyinfo, larger orders counted in that size', async (t) => {
  const buddyinfo = 'Node 0, zone      DMA      0      0      0      0      0      0      0      0      0      1      3 \nNode 0, zone   Normal     5      0      0      0      0      0      0      0      0      2      1 \nNode 1, zone   Normal     0      0      0      0      0      0      0      0      0      0      1 \n';
  const sysroot = sysrootOf(t, { 'proc/buddyinfo': buddyinfo });
  t.equal(readFreeBlocks(sysroot, 2 * MIB), 1 + 3 * 2 + 2 + 1 * 2 + 1 * 2, 'order 9 counts 1, order 10 counts 2');
  t.equal(readFreeBlocks(sysroot, 4 * MIB), 3 + 1 + 1);
  t.equal(readFreeBlocks(sysroot, GIB), undefined, 'no order is that large');
  t.equal(readFreeBlocks(sysrootOf(t, {}), 2 * MIB), undefined);
});

t.test('memlock limit and uid of the reading process', async (t) => {
  t.equal(readMemlockLimit(host('z77-i5-2500')), 8 * MIB);
  t.equal(readMemlockLimit(sysrootOf(t, { 'proc/self/limits': 'Max locked memory         unlimited            unlimited            bytes\n' })), Infinity);
  t.equal(readMemlockLimit(sysrootOf(t, {})), undefined);
  t.equal(readEffectiveUid(host('z77-i5-2500')), 0);
  t.equal(readEffectiveUid(sysrootOf(t, { 'proc/self/status': 'Uid:\t1000\t1001\t1000\t1000\n' })), 1001, 'the effective one');
});
