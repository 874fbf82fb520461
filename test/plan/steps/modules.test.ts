// planModules and planIgnoreMsrs (lib/plan/steps/modules.ts): modprobe of the vfio and KVM
// modules the profile needs and the host lacks (kvm_intel or kvm_amd from /proc/cpuinfo or the
// module already loaded), and KVM's ignore_msrs.
import t from 'tap';
import type { Sysroot } from '../../../lib/host/sysroot.js';
import { planIgnoreMsrs, planModules } from '../../../lib/plan/steps/modules.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

const GPU = [{ host: '01:00.0' }];

function contextOf(data: Record<string, unknown>, sysroot: Sysroot): StepContext {
  return { name: 'vm', profile: profileOf({ memory: { size: '4G' }, ...data }), sysroot, report: recorder().report };
}

const intel = { 'proc/cpuinfo': 'processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n' };
const amd = { 'proc/cpuinfo': 'processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n' };

t.test('all loaded: skipped, with every wanted module in the title', async (t) => {
  t.strictSame(planModules(contextOf({ passthrough: GPU }, host('z77-i5-2500'))), [
    {
      id: 'load-modules',
      phase: 'prepare',
      title: 'load kernel modules vfio, vfio_pci, vfio_iommu_type1, kvm_intel',
      from: ['host.modules'],
      notes: [],
      skip: 'all loaded already',
    },
  ]);
});

t.test('only the missing modules are loaded, with modprobe -a, and never unloaded', async (t) => {
  t.strictSame(planModules(contextOf({ passthrough: GPU }, host('inspur-nf5212m5'))), [
    {
      id: 'load-modules',
      phase: 'prepare',
      title: 'load kernel modules vfio, vfio_pci, vfio_iommu_type1',
      from: ['host.modules'],
      notes: [],
      actions: [{ do: { kind: 'run', argv: ['modprobe', '-a', 'vfio', 'vfio_pci', 'vfio_iommu_type1'] }, undo: [] }],
    },
  ]);
});

t.test('without passthrough only the KVM module is wanted; kvm_amd where it is loaded', async (t) => {
  t.equal(planModules(contextOf({}, host('lab')))[0]!.title, 'load kernel modules kvm_amd');
  t.equal(planModules(contextOf({}, host('lab')))[0]!.skip, 'all loaded already');
  t.equal(planModules(contextOf({}, host('i9-9900k')))[0]!.title, 'load kernel modules kvm_intel');
});

t.test('the CPU vendor in /proc/cpuinfo decides, before any loaded module', async (t) => {
  const [onAmd] = planModules(contextOf({}, sysrootOf(t, { ...amd, 'sys/module/kvm_intel/parameters/nested': 'N\n' })));
  t.strictSame(onAmd!.actions, [{ do: { kind: 'run', argv: ['modprobe', '-a', 'kvm_amd'] }, undo: [] }]);
  const [onIntel] = planModules(contextOf({ passthrough: GPU }, sysrootOf(t, { ...intel, 'sys/module/vfio/refcnt': '0\n' })));
  t.strictSame(onIntel!.actions, [{ do: { kind: 'run', argv: ['modprobe', '-a', 'vfio_pci', 'vfio_iommu_type1', 'kvm_intel'] }, undo: [] }]);
});

t.test('an unknown vendor and no KVM module loaded: a note, and the vfio modules still', async (t) => {
  const [step] = planModules(contextOf({ passthrough: GPU }, sysrootOf(t, { 'proc/cpuinfo': 'vendor_id\t: HygonGenuine\n' })));
  t.equal(step!.title, 'load kernel modules vfio, vfio_pci, vfio_iommu_type1');
  t.strictSame(step!.notes, ['cannot tell an Intel CPU from an AMD one here: load kvm_intel or kvm_amd yourself']);
});

t.test('an unknown vendor without passthrough still says to load the KVM module', async (t) => {
  const steps = planModules(contextOf({}, sysrootOf(t, {})));
  t.equal(steps.length, 1, 'a step carries the note');
  t.strictSame(steps[0]?.notes, ['cannot tell an Intel CPU from an AMD one here: load kvm_intel or kvm_amd yourself'], 'the note');
});

t.test('nothing to load: tcg without passthrough, or host.modules false', async (t) => {
  t.strictSame(planModules(contextOf({ machine: { accel: 'tcg' }, cpu: { model: 'max' } }, sysrootOf(t, {}))), []);
  t.strictSame(planModules(contextOf({ passthrough: GPU, host: { modules: false } }, sysrootOf(t, {}))), []);
});

t.test('tcg with passthrough: the vfio modules without a KVM one', async (t) => {
  const [step] = planModules(contextOf({ machine: { accel: 'tcg' }, cpu: { model: 'max' }, passthrough: GPU }, sysrootOf(t, intel)));
  t.equal(step!.title, 'load kernel modules vfio, vfio_pci, vfio_iommu_type1');
  t.strictSame(step!.notes, []);
});

t.test('planIgnoreMsrs: off by default; on, it sets kvm.ignore_msrs to Y and restores it', async (t) => {
  t.strictSame(planIgnoreMsrs(contextOf({}, host('lab'))), []);
  t.strictSame(planIgnoreMsrs(contextOf({ host: { ignoreMsrs: true } }, host('lab'))), [
    {
      id: 'kvm-ignore-msrs',
      phase: 'prepare',
      title: 'let KVM ignore guest accesses to unknown MSRs instead of injecting #GP',
      from: ['host.ignoreMsrs'],
      actions: [{ do: { kind: 'set', path: '/sys/module/kvm/parameters/ignore_msrs', value: 'Y' }, undo: [{ kind: 'restore', path: '/sys/module/kvm/parameters/ignore_msrs' }] }],
    },
  ]);
});
