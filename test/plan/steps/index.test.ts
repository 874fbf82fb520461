// buildSteps (lib/plan/steps/index.ts): every builder's steps in the blog's on-boot.sh order,
// numbered from 1, each `set` carrying the value its file has now (`was`) for the dry-run's undo.
import t from 'tap';
import { resolveMemoryPath } from '../../../lib/plan/memory-path.js';
import { buildSteps } from '../../../lib/plan/steps/index.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

const EVERYTHING = {
  memory: { size: '8G', hugepages: '1G', lock: true },
  pinning: { vcpus: [2, 3] },
  passthrough: [{ host: '01:00.0', vga: true }, { host: '00:14.0' }],
  host: {
    ignoreMsrs: true,
    rescan: true,
    shield: true,
    sysctl: { 'vm.stat_interval': 120 },
    writebackCpus: [0, 1],
    steps: [{ write: { path: '/proc/sys/kernel/watchdog', value: 0 } }, { write: { path: '/sys/nothing/here', value: 1 } }, { run: ['true'] }],
  },
};

function build() {
  const profile = profileOf(EVERYTHING);
  const sysroot = host('z77-i5-2500');
  const { report, reports } = recorder();
  const memoryPath = resolveMemoryPath(profile, sysroot);
  return { steps: buildSteps({ name: 'mediapc', profile, sysroot, report, ...(memoryPath ? { memoryPath } : {}) }), reports };
}

t.test('every builder, in order, numbered from 1', async (t) => {
  const { steps, reports } = build();
  t.strictSame(reports, []);
  t.strictSame(
    steps.map((step) => `${step.n} ${step.phase} ${step.id}${step.skip ? ' (skipped)' : ''}`),
    [
      '1 prepare load-modules (skipped)',
      '2 prepare kvm-ignore-msrs',
      '3 prepare sysctl vm.stat_interval',
      '4 prepare writeback-cpus',
      '5 prepare unbind-consoles',
      '6 prepare bind-vfio 0000:01:00.0 (skipped)',
      '7 prepare bind-vfio 0000:00:14.0',
      '8 prepare pci-rescan',
      '9 prepare reserve-hugepages 1G',
      '10 prepare mount-hugetlbfs /dev/hugepages1G',
      '11 prepare host.steps[0]',
      '12 prepare host.steps[1]',
      '13 prepare host.steps[2]',
      '14 launch cpu-governor',
      '15 launch cpu-shield',
      '16 launch memlock-limit',
      '17 running pin-emulator',
      '18 running pin-vcpus',
      '19 running start-guest',
      '20 running irq-affinity',
    ],
  );
});

t.test('each set carries the value its file has now, trimmed; a file that does not exist has no was', async (t) => {
  const { steps } = build();
  const sets = steps.flatMap((step) => step.actions.flatMap(({ do: action }) => (action.kind === 'set' ? [action] : [])));
  t.strictSame(sets, [
    { kind: 'set', path: '/sys/module/kvm/parameters/ignore_msrs', value: 'Y', was: 'N' },
    { kind: 'set', path: '/proc/sys/vm/stat_interval', value: '120', was: '1' },
    { kind: 'set', path: '/sys/bus/workqueue/devices/writeback/cpumask', value: '3', was: 'f' },
    { kind: 'set', path: '/sys/class/vtconsole/vtcon1/bind', value: '0', was: '1' },
    { kind: 'set', path: '/sys/bus/pci/devices/0000:00:14.0/driver_override', value: 'vfio-pci', was: '(null)' },
    { kind: 'set', path: '/proc/sys/kernel/watchdog', value: '0', was: '1' },
    { kind: 'set', path: '/sys/nothing/here', value: '1' },
    { kind: 'set', path: '/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor', value: 'performance', was: 'ondemand' },
    { kind: 'set', path: '/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor', value: 'performance', was: 'ondemand' },
  ]);
});

t.test('only set actions get a was', async (t) => {
  const { steps } = build();
  const others = steps.flatMap((step) => step.actions.map(({ do: action }) => action)).filter((action) => action.kind !== 'set');
  t.ok(others.length > 10);
  t.notOk(others.some((action) => 'was' in action));
});

t.test('a plain TCG guest without pinning or devices has no steps', async (t) => {
  const { report, reports } = recorder();
  t.strictSame(buildSteps({ name: 'x', profile: profileOf({ memory: { size: '1G' }, machine: { accel: 'tcg' }, cpu: { model: 'max' } }), sysroot: sysrootOf(t, {}), report }), []);
  t.strictSame(reports, []);
});
