// lib/plan/steps/run-as.ts: host.runAs resolved from the host's /etc/passwd (an unknown user is
// reported), and the launch step that gives the user, for the run, the VM's own directory for
// its pidfile and QMP socket (made, then removed with what QEMU left), the VFIO group nodes of
// the passed devices (each group once), the hugetlbfs directory and the UEFI variable store.
import t from 'tap';
import { resolveMemoryPath } from '../../../lib/plan/memory-path.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planRunAs, resolveRunAs } from '../../../lib/plan/steps/run-as.js';
import type { ResolvedFirmware } from '../../../lib/qemu/arg.js';
import { host } from '../../fixtures/helpers.js';
import { profileOf, recorder } from '../../fixtures/trees.js';

const QEMU = { user: 'qemu', uid: 107, gid: 107 };
const FIRMWARE: ResolvedFirmware = { code: '/fw/CODE.fd', vars: '/var/lib/boot-vm/nvram/vm_VARS.fd', varsTemplate: '/fw/VARS.fd', secureBoot: false, smm: false, source: 'firmware.code' };
const give = (path: string) => ({ do: { kind: 'chown', path, owner: QEMU }, undo: [{ kind: 'restore-owner', path }] });

function contextOf(data: Record<string, unknown>, extra: Partial<StepContext> = {}) {
  const profile = profileOf({ memory: { size: '4G' }, host: { runAs: 'qemu' }, ...data });
  const sysroot = host('i9-9900k');
  const { report, reports } = recorder();
  const memoryPath = resolveMemoryPath(profile, sysroot);
  const context: StepContext = { name: 'vm', profile, sysroot, report, runAs: QEMU, ...(memoryPath ? { memoryPath } : {}), ...extra };
  return { context, reports };
}

t.test('resolveRunAs: the user and its primary group from /etc/passwd; an unknown user is reported', async (t) => {
  const { report, reports } = recorder();
  t.strictSame(resolveRunAs(profileOf({ memory: { size: '1G' }, host: { runAs: 'qemu' } }), host('lab'), report), QEMU);
  t.equal(resolveRunAs(profileOf({ memory: { size: '1G' } }), host('lab'), report), undefined, 'no host.runAs');
  t.equal(resolveRunAs(profileOf({ memory: { size: '1G' }, host: { runAs: 'libvirt-qemu' } }), host('lab'), report), undefined);
  t.strictSame(reports, [`host.runAs: no user libvirt-qemu in ${host('lab').root}/etc/passwd`]);
});

t.test('everything QEMU uses as the user: its own directory, the VFIO group once, the hugetlbfs directory, the variable store', async (t) => {
  const { context, reports } = contextOf({ memory: { size: '4G', hugepages: '1G' }, passthrough: [{ host: '01:00.1' }, { host: '01:00.0' }] }, { firmware: FIRMWARE });
  t.strictSame(planRunAs(context), [
    {
      id: 'run-as qemu',
      phase: 'launch',
      from: ['host.runAs', 'passthrough', 'memory.hugepages', 'firmware.vars'],
      title: 'give qemu (uid 107) /run/boot-vm/vm, /dev/vfio/1, /dev/hugepages1G, /var/lib/boot-vm/nvram/vm_VARS.fd for the run',
      notes: [
        "/run/boot-vm/vm holds QEMU's pidfile and QMP socket; it is removed afterwards, with anything QEMU left in it",
        'QEMU opens them as root before it becomes that user; each goes back to the owner and mode it had when QEMU exits',
      ],
      actions: [
        { do: { kind: 'mkdir', path: '/run/boot-vm/vm' }, undo: [{ kind: 'remove-dir', path: '/run/boot-vm/vm' }] },
        give('/run/boot-vm/vm'),
        give('/dev/vfio/1'),
        give('/dev/hugepages1G'),
        give('/var/lib/boot-vm/nvram/vm_VARS.fd'),
      ],
    },
  ]);
  t.strictSame(reports, []);
});

t.test("the profile's own pidfile and QMP directories are given to the user as they are; one missing is reported", async (t) => {
  const { context, reports } = contextOf({ pidfile: '/run/vms/vm.pid', qmp: '/srv/qmp/vm.sock' });
  const [step] = planRunAs(context);
  t.strictSame(step!.actions, [give('/run/vms'), give('/srv/qmp')]);
  t.equal(step!.title, 'give qemu (uid 107) /run/vms, /srv/qmp for the run');
  t.strictSame(reports, [`pidfile: /run/vms does not exist on this host`, `qmp: /srv/qmp does not exist on this host`]);
  const journals = contextOf({ pidfile: '/run/boot-vm/vm.pid' });
  t.strictSame(planRunAs(journals.context)[0]!.actions!.map((action) => action.do.kind), ['mkdir', 'chown'], '/run/boot-vm is never given away (the command line reports it)');
  t.strictSame(journals.reports, []);
  const dots = contextOf({});
  t.strictSame(planRunAs({ ...dots.context, name: '..' })[0]!.actions!.map((action) => action.do.kind), [], "nor is /run, through a VM named '..'");
  const mixed = contextOf({ pidfile: '/run/boot-vm/vm/x.pid' });
  t.strictSame(planRunAs(mixed.context)[0]!.actions!.map((action) => `${action.do.kind} ${'path' in action.do ? action.do.path : ''}`), ['mkdir /run/boot-vm/vm', 'chown /run/boot-vm/vm'], 'a given path in the VM\'s own directory: made once');
});

t.test('no host.runAs: no step; a user this host lacks: skipped', async (t) => {
  t.strictSame(planRunAs(contextOf({ host: {} }).context), []);
  const { runAs: _, ...withoutUser } = contextOf({}).context;
  t.strictSame(planRunAs(withoutUser), [{ id: 'run-as qemu', phase: 'launch', from: ['host.runAs'], title: 'give qemu the files QEMU uses as that user', skip: 'this host has no user qemu' }]);
});
