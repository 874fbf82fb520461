// lib/host/cpus.ts readOnlineCpus: the CPUs left to the host are online ones.
import t from 'tap';
import { readOnlineCpus } from '../../lib/host/cpus.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('readOnlineCpus: the online list, expanded', async (t) => {
  t.strictSame(readOnlineCpus(host('z77-i5-2500')), [0, 1, 2, 3]);
  t.equal(readOnlineCpus(host('lab'))?.length, 64);
  t.strictSame(readOnlineCpus(sysrootOf(t, { 'sys/devices/system/cpu/online': '0-2,5\n', 'sys/devices/system/cpu/present': '0-7\n' })), [0, 1, 2, 5], 'online, not present');
});

t.test('readOnlineCpus: undefined when unreadable or malformed', async (t) => {
  t.equal(readOnlineCpus(sysrootOf(t, {})), undefined);
  t.equal(readOnlineCpus(sysrootOf(t, { 'sys/devices/system/cpu/online': '3-1\n' })), undefined);
  t.strictSame(readOnlineCpus(sysrootOf(t, { 'sys/devices/system/cpu/online': '\n' })), [], 'an empty file is no CPUs');
});
