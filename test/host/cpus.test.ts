import t from 'tap';
import { readPresentCpus } from '../../lib/host/cpus.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('the present CPUs, as the kernel lists them', async (t) => {
  t.strictSame(readPresentCpus(sysrootOf(t, { 'sys/devices/system/cpu/present': '0-2,4\n' })), [0, 1, 2, 4]);
  t.strictSame(readPresentCpus(host('z77-i5-2500')), [0, 1, 2, 3]);
});

t.test('undefined when the tree has no CPU information', async (t) => {
  t.equal(readPresentCpus(sysrootOf(t, {})), undefined);
});

t.test('undefined when the file is garbled', async (t) => {
  t.equal(readPresentCpus(sysrootOf(t, { 'sys/devices/system/cpu/present': 'zero to three\n' })), undefined);
});
