import t from 'tap';
import { readCpuInfo } from '../../lib/host/cpuinfo.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('vendor and flags of the first CPU', async (t) => {
  const intel = readCpuInfo(host('z77-i5-2500'))!;
  t.equal(intel.vendor, 'GenuineIntel');
  t.ok(intel.flags.has('vmx'));
  t.notOk(intel.flags.has('svm'));
  t.ok(readCpuInfo(host('epyc-2s'))!.flags.has('svm'));
  t.strictSame(readCpuInfo(sysrootOf(t, { 'proc/cpuinfo': 'processor\t: 0\n' })), { flags: new Set() });
  t.equal(readCpuInfo(sysrootOf(t, {})), undefined);
});
