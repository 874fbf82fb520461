// lib/host/cpus.ts readOnlineCpus and readCpuNodes: the CPUs left to the host are online ones,
// and the NUMA node of the pinned CPUs picks the huge page pool.
import t from 'tap';
import { readCpuNodes, readOnlineCpus } from '../../lib/host/cpus.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

const entries = (nodes: Map<number, number[]>) => [...nodes.entries()].sort(([a], [b]) => a - b);

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

t.test('readCpuNodes: the two sockets of lab, each with the given CPUs it holds, in the given order', async (t) => {
  t.strictSame(entries(readCpuNodes(host('lab'), [48, 0, 16, 32])), [
    [0, [0, 32]],
    [1, [48, 16]],
  ]);
  t.strictSame(entries(readCpuNodes(host('lab'), [16, 17, 18, 19])), [[1, [16, 17, 18, 19]]], 'one node only');
});

t.test('readCpuNodes: one node on a single-socket host; empty for no CPUs, unknown CPUs or no node directory', async (t) => {
  t.strictSame(entries(readCpuNodes(host('z77-i5-2500'), [2, 3])), [[0, [2, 3]]]);
  t.strictSame(entries(readCpuNodes(host('z77-i5-2500'), [])), []);
  t.strictSame(entries(readCpuNodes(host('z77-i5-2500'), [7])), [], 'a CPU no node holds');
  t.strictSame(entries(readCpuNodes(sysrootOf(t, {}), [0])), []);
});

t.test('readCpuNodes: only nodeN entries count; a node without a readable cpulist holds nothing', async (t) => {
  const sysroot = sysrootOf(t, {
    'sys/devices/system/node/online': '0-2\n',
    'sys/devices/system/node/possible': '0-3\n',
    'sys/devices/system/node/has_cpu': '0-1\n',
    'sys/devices/system/node/node0/cpulist': '0-1\n',
    'sys/devices/system/node/node1/cpulist': '\n',
    'sys/devices/system/node/node2/meminfo': 'Node 2 MemTotal: 1 kB\n',
    'sys/devices/system/node/node10/cpulist': '2-3\n',
  });
  t.strictSame(entries(readCpuNodes(sysroot, [0, 1, 2, 3])), [
    [0, [0, 1]],
    [10, [2, 3]],
  ]);
});
