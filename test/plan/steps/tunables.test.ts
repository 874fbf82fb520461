// planSysctls, planWritebackCpus and planUserSteps (lib/plan/steps/tunables.ts): each sysctl as
// a set of its /proc/sys file, the writeback workqueue's cpumask, and the profile's own steps
// (write, sysctl, run with its undo), in the profile's order.
import t from 'tap';
import { planSysctls, planUserSteps, planWritebackCpus } from '../../../lib/plan/steps/tunables.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { host, load, writeTree } from '../../fixtures/helpers.js';
import { errorLines, profileOf, recorder } from '../../fixtures/trees.js';

function contextOf(hostSettings: Record<string, unknown>): StepContext {
  return { name: 'vm', profile: profileOf({ memory: { size: '4G' }, host: hostSettings }), sysroot: host('z77-i5-2500'), report: recorder().report };
}

const set = (path: string, value: string) => ({ do: { kind: 'set', path, value }, undo: [{ kind: 'restore', path }] });

t.test('one step per sysctl, in the profile’s order; the key’s dots become the path’s slashes', async (t) => {
  t.strictSame(planSysctls(contextOf({ sysctl: { 'vm.stat_interval': 120, 'kernel.nmi_watchdog': '0', 'net.ipv4.conf.all.rp_filter': 2 } })), [
    { id: 'sysctl vm.stat_interval', phase: 'prepare', title: 'set vm.stat_interval = 120', from: ['host.sysctl.vm.stat_interval'], actions: [set('/proc/sys/vm/stat_interval', '120')] },
    { id: 'sysctl kernel.nmi_watchdog', phase: 'prepare', title: 'set kernel.nmi_watchdog = 0', from: ['host.sysctl.kernel.nmi_watchdog'], actions: [set('/proc/sys/kernel/nmi_watchdog', '0')] },
    {
      id: 'sysctl net.ipv4.conf.all.rp_filter',
      phase: 'prepare',
      title: 'set net.ipv4.conf.all.rp_filter = 2',
      from: ['host.sysctl.net.ipv4.conf.all.rp_filter'],
      actions: [set('/proc/sys/net/ipv4/conf/all/rp_filter', '2')],
    },
  ]);
});

t.test('no sysctls, no steps', async (t) => {
  t.strictSame(planSysctls(contextOf({})), []);
});

t.test('writeback CPUs: the list in the title, the hex mask in the file', async (t) => {
  t.strictSame(planWritebackCpus(contextOf({ writebackCpus: [1, 0] })), [
    { id: 'writeback-cpus', phase: 'prepare', title: 'run writeback threads on CPUs 0-1 only', from: ['host.writebackCpus'], actions: [set('/sys/bus/workqueue/devices/writeback/cpumask', '3')] },
  ]);
  const [wide] = planWritebackCpus(contextOf({ writebackCpus: '0-1,32' }));
  t.equal(wide!.title, 'run writeback threads on CPUs 0-1,32 only');
  t.strictSame(wide!.actions, [set('/sys/bus/workqueue/devices/writeback/cpumask', '1,00000003')]);
  t.strictSame(planWritebackCpus(contextOf({})), [], 'not set');
});

t.test('user steps: write, sysctl and run, numbered by their place in host.steps', async (t) => {
  const steps = planUserSteps(
    contextOf({
      steps: [
        { write: { path: '/sys/kernel/mm/transparent_hugepage/enabled', value: 'never' } },
        { sysctl: { 'vm.swappiness': 10, 'kernel.sched_rt_runtime_us': -1 } },
        { run: ['systemctl', 'stop', 'display-manager'], undo: ['systemctl', 'start', 'display-manager'] },
        { run: ['sync'] },
      ],
    }),
  );
  t.strictSame(steps, [
    {
      id: 'host.steps[0]',
      phase: 'prepare',
      from: ['host.steps[0]'],
      title: 'write never to /sys/kernel/mm/transparent_hugepage/enabled',
      actions: [set('/sys/kernel/mm/transparent_hugepage/enabled', 'never')],
    },
    {
      id: 'host.steps[1]',
      phase: 'prepare',
      from: ['host.steps[1]'],
      title: 'set vm.swappiness = 10, kernel.sched_rt_runtime_us = -1',
      actions: [set('/proc/sys/vm/swappiness', '10'), set('/proc/sys/kernel/sched_rt_runtime_us', '-1')],
    },
    {
      id: 'host.steps[2]',
      phase: 'prepare',
      from: ['host.steps[2]'],
      title: 'run systemctl stop display-manager',
      actions: [{ do: { kind: 'run', argv: ['systemctl', 'stop', 'display-manager'] }, undo: [{ kind: 'run', argv: ['systemctl', 'start', 'display-manager'] }] }],
    },
    { id: 'host.steps[3]', phase: 'prepare', from: ['host.steps[3]'], title: 'run sync', actions: [{ do: { kind: 'run', argv: ['sync'] }, undo: [] }] },
  ]);
  t.strictSame(planUserSteps(contextOf({})), [], 'host.steps defaults to none');
});

t.test('a write value given as a YAML number is written as text', async (t) => {
  const [step] = planUserSteps(contextOf({ steps: [{ write: { path: '/proc/sys/vm/nr_overcommit_hugepages', value: 0 } }] }));
  t.strictSame(step!.actions, [set('/proc/sys/vm/nr_overcommit_hugepages', '0')]);
});

t.test('a sysctl key that is not one says what a key looks like', async (t) => {
  const dir = writeTree({ 'x.yaml': 'memory: { size: 8G }\nhost:\n  sysctl: { swappiness: 10 }\n' });
  const lines = errorLines(t, () => load('x.yaml', dir));
  t.strictSame(lines, ['x.yaml:3:13: host.sysctl.swappiness: expected a sysctl key like vm.stat_interval'], 'the key’s own message');
});
