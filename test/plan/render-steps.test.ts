// lib/plan/render-steps.ts: each host step as shell lines for the dry-run — a `# n phase: title`
// header with its keys and skip reason, its notes, one line per action with paths under the
// sysroot, then its undo in reverse (a value restored once is restored once), and restoredText.
import t from 'tap';
import { Sysroot } from '../../lib/host/sysroot.js';
import { renderStep, renderSteps, restoredText } from '../../lib/plan/render-steps.js';
import { numberSteps, setValue, type Step, type StepAction, type StepDraft } from '../../lib/plan/step.js';
import { buildSteps } from '../../lib/plan/steps/index.js';
import { host, hostRoot } from '../fixtures/helpers.js';
import { profileOf, recorder } from '../fixtures/trees.js';

const ROOT = new Sysroot('/r');

function one(actions: StepAction[], extra: Partial<StepDraft> = {}): Step {
  return numberSteps([{ id: 'x', phase: 'prepare', title: 'do x', from: ['host.x'], actions, ...extra }])[0]!;
}

t.test('restoredText: driver_override’s (null) is written back as an empty line; other values as they were', async (t) => {
  t.equal(restoredText('(null)'), '');
  t.equal(restoredText('nvidia'), 'nvidia');
  t.equal(restoredText(''), '');
  t.equal(restoredText('null'), 'null');
});

t.test('the header: number, phase, title, keys; a skipped step says why and has no lines', async (t) => {
  const [a, b] = numberSteps([
    { id: 'a', phase: 'launch', title: 'set the governor', from: ['pinning.vcpus', 'host.governor'], notes: ['one note', 'two'] },
    { id: 'b', phase: 'prepare', title: 'load modules', from: ['host.modules'], skip: 'all loaded already' },
  ]);
  t.strictSame(renderStep(a!, ROOT), ['# 1 launch: set the governor  ← pinning.vcpus, host.governor', '#   one note', '#   two']);
  t.strictSame(renderStep(b!, ROOT), ['# 2 prepare: load modules — skipped: all loaded already  ← host.modules']);
});

t.test('set and restore: echo into the file under the root; the undo writes the old value back', async (t) => {
  const action = setValue('/proc/sys/vm/stat_interval', '120');
  (action.do as { was?: string }).was = '1';
  t.strictSame(renderStep(one([action]), ROOT), ['# 1 prepare: do x  ← host.x', 'echo 120 > /r/proc/sys/vm/stat_interval', '#   undo: echo 1 > /r/proc/sys/vm/stat_interval']);
});

t.test('copy-file, chown and a directory of the VM\'s own, under the root; their undo', async (t) => {
  const owner = { user: 'nobody', uid: 65534, gid: 65534 };
  t.strictSame(renderStep(one([{ do: { kind: 'copy-file', from: '/usr/share/OVMF/OVMF_VARS_4M.fd', to: "/vm/it's_VARS.fd", mode: 0o600, owner }, undo: [] }]), ROOT).slice(1), [
    "install -D -m 0600 -o nobody -g 65534 /r/usr/share/OVMF/OVMF_VARS_4M.fd '/r/vm/it'\\''s_VARS.fd'",
  ]);
  t.strictSame(renderStep(one([{ do: { kind: 'copy-file', from: '/a', to: '/b', mode: 0o640 }, undo: [] }]), ROOT).slice(1), ['install -D -m 0640 /r/a /r/b'], 'no owner: root keeps it');
  t.strictSame(
    renderStep(one([{ do: { kind: 'mkdir', path: '/run/boot-vm/vm' }, undo: [{ kind: 'remove-dir', path: '/run/boot-vm/vm' }] }, { do: { kind: 'chown', path: '/run/boot-vm/vm', owner }, undo: [{ kind: 'restore-owner', path: '/run/boot-vm/vm' }] }]), ROOT).slice(1),
    ['mkdir -p /r/run/boot-vm/vm', 'chown nobody:65534 /r/run/boot-vm/vm', '#   undo: give /r/run/boot-vm/vm back to the owner and mode it had', '#   undo: rm -rf /r/run/boot-vm/vm'],
  );
});

t.test('restore without a known old value says so', async (t) => {
  t.strictSame(renderStep(one([setValue('/sys/x', 'Y')]), ROOT).slice(1), ['echo Y > /r/sys/x', '#   undo: put back the value /r/sys/x had']);
});

t.test('driver_override: the override is cleared once, after vfio-pci lets go and before the old driver binds again', async (t) => {
  const override = '/sys/bus/pci/devices/0000:01:00.0/driver_override';
  const set = setValue(override, 'vfio-pci');
  (set.do as { was?: string }).was = '(null)';
  const step = one([
    set,
    { do: { kind: 'trigger', path: '/sys/bus/pci/drivers/nvidia/unbind', value: '0000:01:00.0' }, undo: [{ kind: 'trigger', path: '/sys/bus/pci/drivers/nvidia/bind', value: '0000:01:00.0' }] },
    { do: { kind: 'trigger', path: '/sys/bus/pci/drivers_probe', value: '0000:01:00.0' }, undo: [{ kind: 'trigger', path: '/sys/bus/pci/drivers/vfio-pci/unbind', value: '0000:01:00.0' }, { kind: 'restore', path: override }] },
    { do: { kind: 'wait-driver', device: '0000:01:00.0', driver: 'vfio-pci', timeoutMs: 10_000 }, undo: [] },
  ]);
  t.strictSame(renderStep(step, ROOT).slice(1), [
    'echo vfio-pci > /r/sys/bus/pci/devices/0000:01:00.0/driver_override',
    'echo 0000:01:00.0 > /r/sys/bus/pci/drivers/nvidia/unbind',
    'echo 0000:01:00.0 > /r/sys/bus/pci/drivers_probe',
    '# wait up to 10s until /r/sys/bus/pci/devices/0000:01:00.0/driver is vfio-pci',
    '#   undo: echo 0000:01:00.0 > /r/sys/bus/pci/drivers/vfio-pci/unbind',
    '#   undo: echo > /r/sys/bus/pci/devices/0000:01:00.0/driver_override',
    '#   undo: echo 0000:01:00.0 > /r/sys/bus/pci/drivers/nvidia/bind',
  ]);
});

t.test('run, mkdir, rmdir and wrap; words quoted for the shell', async (t) => {
  const step = one([
    { do: { kind: 'mkdir', path: '/mnt/huge 1G' }, undo: [{ kind: 'rmdir', path: '/mnt/huge 1G' }] },
    { do: { kind: 'run', argv: ['mount', '-t', 'hugetlbfs', '-o', 'pagesize=1G', 'hugetlbfs', '/mnt/huge 1G'] }, undo: [{ kind: 'run', argv: ['umount', '/mnt/huge 1G'] }] },
    { do: { kind: 'wrap', argv: ['prlimit', '--memlock=9663676416:9663676416'] }, undo: [] },
  ]);
  t.strictSame(renderStep(step, ROOT).slice(1), [
    "mkdir -p '/r/mnt/huge 1G'",
    "mount -t hugetlbfs -o pagesize=1G hugetlbfs '/mnt/huge 1G'",
    '# QEMU starts under: prlimit --memlock=9663676416:9663676416',
    "#   undo: umount '/mnt/huge 1G'",
    "#   undo: rmdir '/r/mnt/huge 1G'",
  ]);
});

t.test('values are quoted, and an empty value is an empty echo', async (t) => {
  const step = one([
    { do: { kind: 'trigger', path: '/sys/bus/pci/drivers/vfio-pci/new_id', value: '10de 1b81' }, undo: [] },
    { do: { kind: 'set', path: '/sys/fs/cgroup/user.slice/cpuset.cpus', value: '' }, undo: [] },
    { do: { kind: 'set', path: "/tmp/it's", value: "a'b" }, undo: [] },
  ]);
  t.strictSame(renderStep(step, ROOT).slice(1), [
    "echo '10de 1b81' > /r/sys/bus/pci/drivers/vfio-pci/new_id",
    'echo > /r/sys/fs/cgroup/user.slice/cpuset.cpus',
    `echo 'a'\\''b' > '/r/tmp/it'\\''s'`,
  ]);
});

t.test('huge pages: raise by the missing count and read back; the undo gives them back', async (t) => {
  const path = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
  const step = one([{ do: { kind: 'reserve-hugepages', path, add: 1048, pageSize: '2M' }, undo: [{ kind: 'release-hugepages', path }] }]);
  t.strictSame(renderStep(step, ROOT).slice(1), [
    `echo $(( $(cat /r${path}) + 1048 )) > /r${path}  # then read back: fewer than asked is a failure`,
    `#   undo: echo $(( $(cat /r${path}) - <pages added> )) > /r${path}`,
  ]);
});

t.test('IRQ affinity: three comment lines, and the undo', async (t) => {
  const step = one([{ do: { kind: 'irq-affinity', devices: ['0000:01:00.0', '0000:01:00.1'], guestCpus: [3, 2], hostCpus: [0, 1], timeoutMs: 60_000 }, undo: [{ kind: 'restore-irq-affinity' }] }], { phase: 'running' });
  t.strictSame(renderStep(step, ROOT), [
    '# 1 running: do x  ← host.x',
    '# wait up to 60s for the vfio IRQs in /r/proc/interrupts (0000:01:00.0, 0000:01:00.1), then\n#   echo 2-3 > /r/proc/irq/<vfio IRQ>/smp_affinity_list\n#   echo 0-1 > /r/proc/irq/<every other IRQ>/smp_affinity_list',
    "#   undo: put back each IRQ's smp_affinity_list",
  ]);
  const none = one([{ do: { kind: 'irq-affinity', devices: [], guestCpus: [2], hostCpus: [0, 1, 3], timeoutMs: 60_000 }, undo: [] }]);
  t.equal(renderStep(none, ROOT)[1]!.split('\n')[0], '# wait up to 60s for the vfio IRQs in /r/proc/interrupts, then');
});

t.test('a multi-line undo is prefixed line by line', async (t) => {
  const step = one([{ do: { kind: 'run', argv: ['true'] }, undo: [{ kind: 'irq-affinity', devices: [], guestCpus: [1], hostCpus: [0], timeoutMs: 1000 }] }]);
  t.strictSame(renderStep(step, ROOT).slice(2), [
    '#   undo: wait up to 1s for the vfio IRQs in /r/proc/interrupts, then',
    '#   undo:   echo 1 > /r/proc/irq/<vfio IRQ>/smp_affinity_list',
    '#   undo:   echo 0 > /r/proc/irq/<every other IRQ>/smp_affinity_list',
  ]);
});

t.test('a step without undo has no undo lines; undo runs in reverse action order', async (t) => {
  t.strictSame(renderStep(one([{ do: { kind: 'trigger', path: '/sys/bus/pci/rescan', value: '1' }, undo: [] }]), ROOT).slice(1), ['echo 1 > /r/sys/bus/pci/rescan']);
  const step = one([setValue('/a', '1'), setValue('/b', '2')]);
  t.strictSame(renderStep(step, ROOT).slice(3), ['#   undo: put back the value /r/b had', '#   undo: put back the value /r/a had']);
});

t.test('on the live root, paths are the host’s own', async (t) => {
  const action = setValue('/sys/module/kvm/parameters/ignore_msrs', 'Y');
  (action.do as { was?: string }).was = 'N';
  t.strictSame(renderStep(one([action]), new Sysroot('/')).slice(1), ['echo Y > /sys/module/kvm/parameters/ignore_msrs', '#   undo: echo N > /sys/module/kvm/parameters/ignore_msrs']);
});

t.test('renderSteps: every step in order, under the given root', async (t) => {
  const profile = profileOf({ memory: { size: '4G' }, pinning: { vcpus: [2, 3] }, host: { ignoreMsrs: true, irqAffinity: false } });
  const steps = buildSteps({ name: 'vm', profile, sysroot: host('z77-i5-2500'), report: recorder().report });
  const root = hostRoot('z77-i5-2500');
  t.strictSame(renderSteps(steps, root), [
    '# 1 prepare: load kernel modules kvm_intel — skipped: all loaded already  ← host.modules',
    '# 2 prepare: let KVM ignore guest accesses to unknown MSRs instead of injecting #GP  ← host.ignoreMsrs',
    `echo Y > ${root}/sys/module/kvm/parameters/ignore_msrs`,
    `#   undo: echo N > ${root}/sys/module/kvm/parameters/ignore_msrs`,
    "# 3 launch: set the performance governor on the guest's CPUs 2-3  ← pinning.vcpus",
    `echo performance > ${root}/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor`,
    `echo performance > ${root}/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor`,
    `#   undo: echo ondemand > ${root}/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor`,
    `#   undo: echo ondemand > ${root}/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor`,
    "# 4 running: pin QEMU's other threads (main loop, workers, threads made later) to CPUs 0-1  ← pinning.vcpus",
    '#   pinning.emulator unset: the CPUs no vCPU has',
    'taskset -a -p -c 0-1 <QEMU pid>  # every thread; the vCPU and IO threads are pinned next',
    '# 5 running: pin each vCPU thread to its own CPU (0→2 1→3), SCHED_OTHER nice -20  ← pinning.vcpus, pinning.scheduler',
    '#   the vCPU threads alone get the policy and nice value; threads they start do not inherit them (chrt -R)',
    [
      'taskset -p -c 2 <thread-id of vCPU 0>  # from QMP query-cpus-fast',
      'chrt -R -o -p 0 <thread-id of vCPU 0>',
      'renice -n -20 -p <thread-id of vCPU 0>',
      'taskset -p -c 3 <thread-id of vCPU 1>',
      'chrt -R -o -p 0 <thread-id of vCPU 1>',
      'renice -n -20 -p <thread-id of vCPU 1>',
    ].join('\n'),
    "# 6 running: read every thread's CPUs and policy back from /proc, then start the guest  ← pinning.mode",
    '#   a mismatch stops QEMU and undoes the launch; QEMU waits paused (-S) until then',
    '# read Cpus_allowed_list from /proc/<QEMU pid>/task/<tid>/status and the policy, priority and nice value from …/stat for every thread\n# then over QMP: {"execute": "cont"}',
  ]);
  t.strictSame(renderSteps([], root), []);
});
