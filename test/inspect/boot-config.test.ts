import t from 'tap';
import { buildBootConfig, hugepagesNeeded } from '../../lib/inspect/boot-config.js';
import { host, load } from '../fixtures/helpers.js';
import { profileOf } from '../fixtures/trees.js';

t.test('the blog host: the vfio.conf the blog wrote, with softdeps', async (t) => {
  const text = buildBootConfig(load('profiles/mediapc.yaml').profile, host('z77-i5-2500'));
  t.match(text, /^intel_iommu=on iommu=pt hugepages=4096$/m, '8G of 2M pages, the default size');
  t.match(text, /^options vfio-pci ids=10de:1b81,10de:10f0,8086:1e2d,8086:1e26,8086:1e31$/m);
  t.match(text, /^softdep nouveau pre: vfio-pci\nsoftdep nvidia pre: vfio-pci\n/m);
  t.match(text, /^softdep snd_hda_intel pre: vfio-pci$/m);
  t.match(text, /^softdep ehci_pci pre: vfio-pci$/m, "the USB controllers' current driver");
  t.match(text, /^vfio_pci$/m);
});

t.test('AMD and 1G pages: amd_iommu and boot-time 1G pages', async (t) => {
  const loaded = load('test/fixtures/inspect/profiles/epyc-render.yaml');
  const text = buildBootConfig(loaded.profile, host('epyc-2s'));
  t.match(text, /^amd_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=16$/m);
  t.match(text, /^options vfio-pci ids=10de:24b0,10de:228b,1022:148c$/m);
  t.match(text, /^softdep xhci_hcd pre: vfio-pci$/m);
});

t.test('ids= claims every device with the same ids: said', async (t) => {
  const profile = profileOf({ memory: { size: '4G' }, passthrough: [{ host: '10:00.0' }] });
  t.match(buildBootConfig(profile, host('lab')), /^# note: ids= also claims 0000:11:00\.0, 0000:12:00\.0, .*0000:19:00\.0 \(same vendor:device\)/m);
});

t.test('no devices, no huge pages: only the IOMMU', async (t) => {
  t.equal(buildBootConfig(profileOf({ memory: { size: '4G' } }), host('i9-9900k')), '# kernel command line: add to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub, reboot\nintel_iommu=on iommu=pt\n');
  t.equal(hugepagesNeeded(profileOf({ memory: { size: '3G', hugepages: '1G' } })), 3);
  t.equal(hugepagesNeeded(profileOf({ memory: { size: '3G', hugepages: '2M' } })), 1536);
  t.equal(hugepagesNeeded(profileOf({ memory: { size: '3G' } })), 0);
});
