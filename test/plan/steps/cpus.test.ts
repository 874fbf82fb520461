// planGovernor, planShield and planIrqAffinity (lib/plan/steps/cpus.ts): the guest's CPUs at
// full speed, host tasks confined to the other CPUs (systemd AllowedCPUs or cgroup v2 cpuset),
// and the devices' IRQs sent to the guest's CPUs; with the errors a profile can run into.
import t from 'tap';
import type { Sysroot } from '../../../lib/host/sysroot.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { hostCpus, planGovernor, planIrqAffinity, planShield } from '../../../lib/plan/steps/cpus.js';
import { host, load, writeTree } from '../../fixtures/helpers.js';
import { errorLines, profileOf, recorder, sysrootOf } from '../../fixtures/trees.js';

function contextOf(data: Record<string, unknown>, sysroot: Sysroot): { context: StepContext; reports: string[] } {
  const { report, reports } = recorder();
  return { context: { name: 'gamer', profile: profileOf({ memory: { size: '4G' }, ...data }), sysroot, report }, reports };
}

const governorFile = (cpu: number) => `/sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`;
const setGovernor = (cpu: number, value: string) => ({ do: { kind: 'set', path: governorFile(cpu), value }, undo: [{ kind: 'restore', path: governorFile(cpu) }] });

t.test('governor: performance by default with pinning, on each vCPU’s CPU in CPU order', async (t) => {
  const { context } = contextOf({ pinning: { vcpus: [3, 2] } }, host('z77-i5-2500'));
  t.strictSame(planGovernor(context), [
    {
      id: 'cpu-governor',
      phase: 'launch',
      title: "set the performance governor on the guest's CPUs 2-3",
      from: ['pinning.vcpus'],
      notes: [],
      actions: [setGovernor(2, 'performance'), setGovernor(3, 'performance')],
    },
  ]);
});

t.test('governor: a named one; skipped when every CPU has it already', async (t) => {
  const { context } = contextOf({ pinning: { vcpus: [2, 3] }, host: { governor: 'ondemand' } }, host('z77-i5-2500'));
  t.strictSame(planGovernor(context), [
    { id: 'cpu-governor', phase: 'launch', title: "set the ondemand governor on the guest's CPUs 2-3", from: ['pinning.vcpus', 'host.governor'], notes: [], skip: 'already ondemand' },
  ]);
  const lab = contextOf({ pinning: { vcpus: [5] }, host: { governor: 'schedutil' } }, host('lab'));
  t.equal(planGovernor(lab.context)[0]!.skip, 'already schedutil');
});

t.test('governor: only the CPUs not on it yet', async (t) => {
  const cpufreq = (cpu: number, governor: string) => ({ [`sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`]: `${governor}\n` });
  const sysroot = sysrootOf(t, { ...cpufreq(2, 'performance'), ...cpufreq(3, 'powersave') });
  t.strictSame(planGovernor(contextOf({ pinning: { vcpus: [2, 3] } }, sysroot).context)[0]!.actions, [setGovernor(3, 'performance')]);
});

t.test('governor: CPUs without cpufreq are noted; none at all is a skip', async (t) => {
  const partly = sysrootOf(t, { 'sys/devices/system/cpu/cpu2/cpufreq/scaling_governor': 'powersave\n' });
  const [step] = planGovernor(contextOf({ pinning: { vcpus: [2, 3, 5] } }, partly).context);
  t.strictSame(step!.notes, ['no cpufreq for CPUs 3,5']);
  t.strictSame(step!.actions, [setGovernor(2, 'performance')]);
  t.strictSame(planGovernor(contextOf({ pinning: { vcpus: [2, 3] } }, sysrootOf(t, {})).context), [
    { id: 'cpu-governor', phase: 'launch', title: "set the performance governor on the guest's CPUs 2-3", from: ['pinning.vcpus'], notes: ['no cpufreq for CPUs 2-3'], skip: 'this host has no CPU frequency scaling' },
  ]);
});

t.test('governor: none without pinning (even when named), or with governor false', async (t) => {
  t.strictSame(planGovernor(contextOf({}, host('z77-i5-2500')).context), []);
  t.strictSame(planGovernor(contextOf({ host: { governor: 'performance' } }, host('z77-i5-2500')).context), []);
  t.strictSame(planGovernor(contextOf({ pinning: { vcpus: [2] }, host: { governor: false } }, host('z77-i5-2500')).context), []);
});

t.test('governor: a name that is not one gets the profile format’s message', async (t) => {
  const dir = writeTree({ 'x.yaml': 'memory: { size: 8G }\nhost: { governor: Performance }\n' });
  t.strictSame(errorLines(t, () => load('x.yaml', dir)), ['x.yaml:2:19: host.governor: expected a governor name like performance, or false'], 'one message for every bad governor');
});

const SYSTEMD_UNDO = (unit: string) => [{ kind: 'run', argv: ['systemctl', 'set-property', '--runtime', unit, 'AllowedCPUs='] }];

t.test('shield true under systemd: AllowedCPUs for init, system and user, QEMU in its own scope', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: [2, 3] }, host: { shield: true } }, host('z77-i5-2500'));
  t.strictSame(planShield(context), [
    {
      id: 'cpu-shield',
      phase: 'launch',
      title: 'confine host tasks to CPUs 0-1 (systemd AllowedCPUs)',
      from: ['host.shield'],
      notes: ['QEMU runs in its own scope under machine.slice, which keeps every CPU'],
      actions: [
        ...['init.scope', 'system.slice', 'user.slice'].map((unit) => ({ do: { kind: 'run', argv: ['systemctl', 'set-property', '--runtime', unit, 'AllowedCPUs=0-1'] }, undo: SYSTEMD_UNDO(unit) })),
        { do: { kind: 'wrap', argv: ['systemd-run', '--scope', '--quiet', '--slice=machine.slice', '--unit=boot-vm-gamer'] }, undo: [] },
      ],
    },
  ]);
  t.strictSame(reports, []);
});

t.test('shield: the host keeps every online CPU that is no vCPU’s (emulator CPUs included)', async (t) => {
  const { context } = contextOf({ pinning: { vcpus: '2-7,10-15', emulator: '0-1,8-9' }, host: { shield: 'systemd' } }, host('i9-9900k'));
  t.equal(planShield(context)[0]!.title, 'confine host tasks to CPUs 0-1,8-9 (systemd AllowedCPUs)');
});

const CGROUP = { 'sys/devices/system/cpu/online': '0-3\n', 'sys/fs/cgroup/cgroup.subtree_control': 'cpu cpuset io memory pids\n' };
const setCpus = (unit: string, list: string) => ({ do: { kind: 'set', path: `/sys/fs/cgroup/${unit}/cpuset.cpus`, value: list }, undo: [{ kind: 'restore', path: `/sys/fs/cgroup/${unit}/cpuset.cpus` }] });

t.test('shield true without systemd: the cgroup v2 cpuset of init, system and user', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: [1, 3] }, host: { shield: true } }, sysrootOf(t, CGROUP));
  t.strictSame(planShield(context), [
    {
      id: 'cpu-shield',
      phase: 'launch',
      title: 'confine host tasks to CPUs 0,2 (cgroup v2 cpuset)',
      from: ['host.shield'],
      notes: ['QEMU stays in the launcher’s cgroup; move it out of user.slice if that is where you start it'],
      actions: [setCpus('init.scope', '0,2'), setCpus('system.slice', '0,2'), setCpus('user.slice', '0,2')],
    },
  ]);
  t.strictSame(reports, []);
});

t.test('shield cgroup, asked for on a systemd host', async (t) => {
  const { context } = contextOf({ pinning: { vcpus: [2, 3] }, host: { shield: 'cgroup' } }, host('z77-i5-2500'));
  t.strictSame(planShield(context)[0]!.actions, [setCpus('init.scope', '0-1'), setCpus('system.slice', '0-1'), setCpus('user.slice', '0-1')]);
});

t.test('shield cgroup without the cpuset controller: an error, no step', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: [2, 3] }, host: { shield: 'cgroup' } }, sysrootOf(t, { ...CGROUP, 'sys/fs/cgroup/cgroup.subtree_control': 'cpu io memory pids cpusets\n' }));
  t.strictSame(planShield(context), []);
  t.strictSame(reports, ['host.shield: the cgroup v2 cpuset controller is not enabled at /sys/fs/cgroup (cgroup.subtree_control)']);
  const noCgroup = sysrootOf(t, { 'sys/devices/system/cpu/online': '0-3\n' });
  const none = contextOf({ pinning: { vcpus: [2, 3] }, host: { shield: 'cgroup' } }, noCgroup);
  t.strictSame(planShield(none.context), []);
  t.strictSame(none.reports, [`host.shield: cannot tell whether the cgroup v2 cpuset controller is enabled: ${noCgroup.path('/sys/fs/cgroup/cgroup.subtree_control')} is unreadable`], 'no cgroup v2 at all: the file is named');
});

t.test('shield without pinning, or with vCPUs on every CPU: an error, no step', async (t) => {
  const unpinned = contextOf({ host: { shield: true } }, host('z77-i5-2500'));
  t.strictSame(planShield(unpinned.context), []);
  t.strictSame(unpinned.reports, ['host.shield: shielding needs pinning.vcpus or pinning.cpus: it keeps the host off the vCPUs’ CPUs']);
  const everything = contextOf({ pinning: { vcpus: [3, 2, 1, 0] }, host: { shield: 'systemd' } }, host('z77-i5-2500'));
  t.strictSame(planShield(everything.context), []);
  t.strictSame(everything.reports, ['host.shield: the vCPUs take every online CPU (0-3); leave the host at least one']);
});

t.test('shield systemd asked for on a host without systemd is reported, as a missing cpuset controller is', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: [2, 3] }, host: { shield: 'systemd' } }, sysrootOf(t, CGROUP));
  const steps = planShield(context);
  t.equal(reports.length, 1, 'one report on host.shield');
  t.strictSame(steps, [], 'no step that cannot work');
});

t.test('shield: off by default', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: [2, 3] } }, host('z77-i5-2500'));
  t.strictSame(planShield(context), []);
  t.strictSame(reports, []);
});

t.test('IRQ affinity: on by default with pinning; guest CPUs as pinned, host CPUs the rest', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: [3, 2] }, passthrough: [{ host: '01:00.0' }, { host: '0000:01:00.1' }] }, host('z77-i5-2500'));
  t.strictSame(planIrqAffinity(context), [
    {
      id: 'irq-affinity',
      phase: 'running',
      title: "send the passed devices' IRQs to CPUs 2-3 and the other IRQs to CPUs 0-1",
      from: ['pinning.vcpus'],
      notes: ['waits up to 60s for QEMU to open 0000:01:00.0, 0000:01:00.1, then follows new vfio IRQs while the VM runs'],
      actions: [{ do: { kind: 'irq-affinity', devices: ['0000:01:00.0', '0000:01:00.1'], guestCpus: [3, 2], hostCpus: [0, 1], timeoutMs: 60_000 }, undo: [{ kind: 'restore-irq-affinity' }] }],
    },
  ]);
  t.strictSame(reports, []);
});

t.test('IRQ affinity without passed devices: no note, still keeps host IRQs off the guest’s CPUs', async (t) => {
  const { context } = contextOf({ pinning: { vcpus: [2] }, host: { irqAffinity: true } }, host('z77-i5-2500'));
  const [step] = planIrqAffinity(context);
  t.strictSame(step!.notes, []);
  t.strictSame(step!.from, ['pinning.vcpus', 'host.irqAffinity']);
  t.strictSame(step!.actions![0]!.do, { kind: 'irq-affinity', devices: [], guestCpus: [2], hostCpus: [0, 1, 3], timeoutMs: 60_000 });
});

t.test('IRQ affinity: host.irqAffinity false turns it off; no pinning, no step', async (t) => {
  const off = contextOf({ pinning: { vcpus: [2, 3] }, host: { irqAffinity: false } }, host('z77-i5-2500'));
  t.strictSame(planIrqAffinity(off.context), []);
  t.strictSame(off.reports, []);
  const unpinned = contextOf({ passthrough: [{ host: '01:00.0' }] }, host('z77-i5-2500'));
  t.strictSame(planIrqAffinity(unpinned.context), []);
  t.strictSame(unpinned.reports, []);
});

t.test('IRQ affinity asked for without pinning, or with vCPUs on every CPU: an error, no step', async (t) => {
  const unpinned = contextOf({ host: { irqAffinity: true } }, host('z77-i5-2500'));
  t.strictSame(planIrqAffinity(unpinned.context), []);
  t.strictSame(unpinned.reports, ['host.irqAffinity: IRQ affinity needs pinning.vcpus or pinning.cpus: it sends the devices’ IRQs to the vCPUs’ CPUs']);
  const everything = contextOf({ pinning: { vcpus: '0-3' }, host: { irqAffinity: true } }, host('z77-i5-2500'));
  t.strictSame(planIrqAffinity(everything.context), []);
  t.strictSame(everything.reports, ['host.irqAffinity: the vCPUs take every online CPU (0-3); leave the host at least one']);
});

t.test('IRQ affinity left at its default, with vCPUs on every CPU: a skipped step, not an error', async (t) => {
  const { context, reports } = contextOf({ pinning: { vcpus: '0-3' } }, host('z77-i5-2500'));
  const steps = planIrqAffinity(context);
  t.strictSame(reports, [], 'no error for a setting nobody wrote');
  t.equal(steps[0]?.skip !== undefined, true, 'a step that says why it is skipped');
});

t.test('online CPUs unreadable: the shield asked for is reported, the defaulted IRQ step is skipped and reported, saying why', async (t) => {
  const root = sysrootOf(t, {});
  const { context, reports } = contextOf({ pinning: { vcpus: [2] }, host: { shield: 'systemd' } }, root);
  const why = `cannot tell which CPUs are online (${root.path('/sys/devices/system/cpu/online')} is unreadable)`;
  t.strictSame(planShield(context), []);
  t.strictSame(planIrqAffinity(context).map((step) => step.skip), [why]);
  t.strictSame(reports, [`host.shield: ${why}`, `pinning.vcpus: ${why}`]);
});

t.test('a CPU set all vCPUs share (pinning.cpus) is the guest’s CPUs for the governor, the shield and IRQs', async (t) => {
  const { context } = contextOf({ pinning: { cpus: '2-3', mode: 'process' }, host: { shield: 'cgroup', irqAffinity: true } }, host('z77-i5-2500'));
  const [governor] = planGovernor(context);
  t.equal(governor!.title, "set the performance governor on the guest's CPUs 2-3");
  t.strictSame(governor!.from, ['pinning.cpus']);
  const [irq] = planIrqAffinity(context);
  t.match(irq!.title, /IRQs to CPUs 2-3 and the other IRQs to CPUs 0-1$/);
  t.strictSame(irq!.from, ['pinning.cpus', 'host.irqAffinity']);
  t.strictSame(hostCpus(context), { cpus: [0, 1] }, 'the shield leaves the host the CPUs outside the set');
});
