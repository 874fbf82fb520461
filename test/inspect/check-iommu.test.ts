import t from 'tap';
import { deviceKind, inspectIommu } from '../../lib/inspect/check-iommu.js';
import { renderIommuText } from '../../lib/inspect/render-iommu.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf } from '../fixtures/trees.js';

t.test('device kinds by class', async (t) => {
  t.equal(deviceKind(0x060400), 'bridge', 'PCI bridge');
  t.equal(deviceKind(0x060401), 'bridge', 'subtractive decode PCI bridge');
  t.equal(deviceKind(0x060000), 'host', 'host bridge');
  t.equal(deviceKind(0x060100), 'host', 'ISA bridge');
  t.equal(deviceKind(0x0c0500), 'host', 'SMBus');
  t.equal(deviceKind(0x050000), 'host', 'RAM');
  t.equal(deviceKind(0x030000), 'endpoint');
  t.equal(deviceKind(0x0c0330), 'endpoint', 'USB');
  t.equal(deviceKind(undefined), 'endpoint', 'unknown class: assume the user means it');
});

t.test('verdicts on the blog host', async (t) => {
  const report = inspectIommu(host('z77-i5-2500'));
  const group = (n: number) => report.groups.find((g) => g.group === n)!;
  t.equal(group(1).passable, true, 'root port + GPU + audio');
  t.equal(group(8).passable, false, 'two bridges: nothing to pass');
  t.match(group(8).verdict, /^bridges only/);
  t.equal(group(10).passable, false);
  t.match(group(10).verdict, /00:1f\.2 shares the group with the host's 00:1f\.0 \(ISA bridge\), 00:1f\.3 \(SMBus\)/);
  t.equal(group(0).passable, false);
  t.equal(report.pciIds, '/usr/share/misc/pci.ids');
  t.strictSame(report.missing, []);
  t.equal(report.iommuOff, undefined);
  t.equal(group(1).mustAlsoPass, undefined, 'no profile, nothing to say');
});

t.test('--profile: marks, what must go along, and what is missing', async (t) => {
  const report = inspectIommu(host('z77-i5-2500'), ['01:00.0', '0000:00:1f.2', '05:00.0']);
  const group1 = report.groups.find((g) => g.group === 1)!;
  t.strictSame(group1.devices.map((device) => device.inProfile), [false, true, false]);
  t.strictSame(group1.mustAlsoPass, ['01:00.1 (GP104 High Definition Audio Controller)']);
  t.strictSame(report.missing, ['0000:05:00.0']);
  const text = renderIommuText(report, 'vm');
  t.match(text, /→ vm: 01:00\.0 must go with 01:00\.1 \(GP104 High Definition Audio Controller\)/);
  t.match(text, /→ vm: 00:1f\.2 cannot be passed through while the host needs this group/);
  t.match(text, /^vm: 05:00\.0 is not on this host$/m);
  t.match(text, /^\* marks vm's devices$/m);
});

t.test('no groups: the IOMMU is off, and how to turn it on for the CPU at hand', async (t) => {
  const amd = inspectIommu(sysrootOf(t, { 'proc/cpuinfo': 'vendor_id\t: AuthenticAMD\n' }), ['01:00.0']);
  t.strictSame(amd.groups, []);
  t.match(amd.iommuOff, /^no IOMMU groups: the IOMMU is off or this machine has none; to turn it on, enable AMD-Vi \("IOMMU"\) in the firmware setup, add amd_iommu=on iommu=pt/);
  t.equal(renderIommuText(amd, 'vm'), `${amd.iommuOff}\nvm: 01:00.0 is in no IOMMU group\n`);
  t.match(inspectIommu(sysrootOf(t, {})).iommuOff, /enable VT-d \(Intel\) or AMD-Vi \(AMD\).*intel_iommu=on amd_iommu=on iommu=pt/, 'vendor unknown: both');
});
