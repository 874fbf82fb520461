import t from 'tap';
import { cmdlineValue, readKernelCmdline } from '../../lib/host/cmdline.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('the kernel command line as words, and the value the kernel uses', async (t) => {
  const words = readKernelCmdline(host('inspur-nf5212m5'))!;
  t.equal(cmdlineValue(words, 'intel_iommu'), 'on');
  t.equal(cmdlineValue(words, 'hugepages'), '32');
  t.equal(cmdlineValue(words, 'iommu'), 'pt', 'not confused with intel_iommu');
  t.equal(cmdlineValue(['iommu=off', 'iommu=pt'], 'iommu'), 'pt', 'the last one wins');
  t.equal(cmdlineValue(words, 'isolcpus'), undefined);
  t.equal(readKernelCmdline(sysrootOf(t, {})), undefined);
});
