// Launches against copies of the posts' fake hosts, through the real CLI, with the fake QEMU: the
// exact files each launch changes while the VM runs, the tree byte-identical after teardown, every
// step failing in turn (rolled back, named), a SIGKILLed launcher cleaned up by teardown.mjs,
// prepare-host's journal kept by a launch, and a second launch refused; the UEFI variable store
// made once and kept, the TPM's state directory too, host.runAs's files given to that user for the run
// only, and the shared memory file and kvmfr device given to the desktop user for the run (a missing
// device failing the launch).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { changes, copyHost, FAKE_QEMU, fileExists, mediapcZ77Running, snapshot, start, waitFor, waitForLine, alive } from '../fixtures/launch.js';
import { FIXTURES, planOn, REPO, writeTree } from '../fixtures/helpers.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { renderSteps } from '../../lib/plan/render-steps.js';

t.setTimeout(240_000);

const golden = (name: string) => readFileSync(join(FIXTURES, 'argv', `${name}.args`), 'utf8').trimEnd().split('\n');

/** boot-vm <profile> against `root` with the fake QEMU, which records its pid and argv in `root/../<x>.record`. */
function launch(profile: string, root: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const record = `${root}.record.json`;
  const launcher = start('boot-vm.mjs', [profile, '--sysroot', root, '--qemu-binary', FAKE_QEMU, '--qemu-version', '7.2', ...extra], { FAKE_QEMU_SYSROOT: root, FAKE_QEMU_RECORD: record, ...env });
  return { launcher, record, qemu: () => JSON.parse(readFileSync(record, 'utf8')) as { pid: number; argv: string[] } };
}

const RUNNING = /running: send the passed devices' IRQs .*: done/;

t.test("mediapc on the blog's Z77 host: the on-boot.sh changes while it runs, nothing left after", async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher, qemu } = launch('mediapc', root);
  await waitForLine(launcher, RUNNING);
  const { pid, argv } = qemu();
  t.strictSame(argv, golden('mediapc').slice(7), 'QEMU got the planned argv; chrt, taskset and prlimit were logged, not run');
  const running = mediapcZ77Running(before, snapshot(root));
  t.strictSame(running.actual, running.expected, 'exactly these files, with these values');
  for (let irq = 200; irq <= 204; irq++) t.equal(readFileSync(join(root, `proc/irq/${irq}/smp_affinity_list`), 'utf8'), '2-3\n', `vfio IRQ ${irq} is on the guest's CPUs`);
  t.ok(fileExists(join(root, 'run/boot-vm/mediapc.journal')), 'the journal is under the sysroot');
  launcher.child.kill('SIGTERM');
  const result = await launcher.done;
  t.equal(result.status, 0, 'QEMU stopped cleanly on the forwarded SIGTERM');
  t.notOk(alive(pid), 'QEMU is gone');
  t.strictSame(changes(before, snapshot(root)), [], 'the tree is byte-identical to before');
  t.match(result.stderr, /^boot-vm: \[10\/16\] prepare: bind 0000:00:1a\.0 \[8086:1e2d\] to vfio-pci: done \(did not wait for 0000:00:1a\.0 to be on vfio-pci: .* is not the live host\)$/m, 'one line per step: what, where, result');
  t.match(result.stderr, /^boot-vm: \[8\/16\] prepare: bind 0000:01:00\.0 \[10de:1b81\] to vfio-pci: skipped \(already on vfio-pci\)$/m);
  t.match(result.stderr, /^boot-vm: logged, not run: prlimit --memlock=9663676416:9663676416 chrt -r 1 taskset -c 2-3 \(.*\); QEMU runs without them$/m);
  t.match(result.stderr, /the kernel refused IRQ 0/, 'a refused IRQ is reported, not fatal');
  t.match(result.stderr, /^boot-vm: SIGTERM: stopping the VM\nboot-vm: pressed the guest's power button \(ACPI\); waiting up to 120s for it to shut down \(signal again to quit QEMU at once\)$/m, 'SIGTERM presses the power button');
  t.match(result.stderr, /^boot-vm: QEMU exited with status 0 \(the guest shut down after the ACPI power button\); putting the host back$/m);
  t.match(result.stderr, /^boot-vm: \[13\/16\] prepare: undo reserve-hugepages 2M: undone \(4096 pages given back\)$/m);
});

t.test("workstation-gtx1060 on the server guide's Inspur: daemonized QEMU, 1G pages already reserved", async (t) => {
  const root = copyHost(t, 'inspur-nf5212m5');
  mkdirSync(join(root, 'var/lib/boot-vm/nvram'), { recursive: true });
  const before = snapshot(root);
  const { launcher } = launch('workstation-gtx1060', root);
  await waitForLine(launcher, RUNNING);
  const pid = Number(readFileSync(join(root, 'run/boot-vm/workstation-gtx1060.pid'), 'utf8'));
  const running = changes(before, snapshot(root)).filter((line) => /driver_override|scaling_governor|hugepages|vtconsole/.test(line.split(': ')[0]!));
  t.strictSame(running, [
    '/sys/bus/pci/devices/0000:65:00.0/driver_override: (null) → vfio-pci',
    '/sys/bus/pci/devices/0000:65:00.1/driver_override: (null) → vfio-pci',
    '/sys/bus/pci/devices/0000:b3:00.0/driver_override: (null) → vfio-pci',
    '/sys/bus/pci/devices/0000:b4:00.0/driver_override: (null) → vfio-pci',
    ...[10, 11, 12, 13, 14, 15, 16, 17, 28, 29, 30, 31, 32, 33, 34, 35].map((cpu) => `/sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor: powersave → performance`),
  ].sort(), 'devices and governors; the 16 1G pages were free already, the ASPEED console stays');
  t.match(launcher.stderr(), /reserve 16 huge pages of 1G.*: skipped \(32 are free already\)/);
  launcher.child.kill('SIGTERM');
  const result = await launcher.done;
  t.equal(result.status, 0, 'the launcher passed the SIGTERM to the daemon and followed it until it exited');
  t.notOk(alive(pid), 'the daemon is gone');
  t.strictSame(changes(before, snapshot(root)), ['+/var/lib/boot-vm/nvram/workstation-gtx1060_VARS.fd: fake firmware variables'], 'byte-identical after, but for the UEFI variable store this first launch made, which is kept');
});

t.test('gaming-9900k on the i9-9900k: the CPU shield is systemd commands, logged on a fake host', async (t) => {
  const root = copyHost(t, 'i9-9900k');
  mkdirSync(join(root, 'var/lib/boot-vm/nvram'), { recursive: true });
  // 16 1G pages: the fake kernel "has" them, as a host reserving them at boot would.
  const before = snapshot(root);
  const { launcher } = launch('gaming-9900k', root);
  await waitForLine(launcher, RUNNING);
  t.match(launcher.stderr(), /launch: confine host tasks to CPUs 0-1,8-9 \(systemd AllowedCPUs\): done \(logged, not run: systemctl set-property --runtime init\.scope AllowedCPUs=0-1,8-9 .*; logged, not run: systemctl set-property --runtime user\.slice AllowedCPUs=0-1,8-9 /);
  t.match(launcher.stderr(), /logged, not run: systemd-run --scope --quiet --slice=machine\.slice --unit=boot-vm-gaming-9900k prlimit --memlock=\S+ \(/, 'threads mode: no taskset before QEMU');
  t.match(launcher.stderr(), /pin QEMU's other threads .* to CPUs 0-1,8-9: done \(logged, not run: taskset -a -p -c 0-1,8-9 \d+ /);
  t.match(launcher.stderr(), /pin each vCPU thread to its own CPU \(0→2 1→10 .*\), SCHED_OTHER nice -20: done \(logged, not run: taskset -p -c 2 (\d+); chrt -R -o -p 0 \1; renice -n -20 -p \1; taskset -p -c 10 \d+; /, 'each vCPU by the thread id QMP gave, with the default scheduler');
  t.match(launcher.stderr(), /start the guest: done \(not checked: nothing was pinned on this host; the guest runs\)/);
  t.match(changes(before, snapshot(root)).join('\n'), /hugepages-1048576kB\/nr_hugepages: 0 → 16/);
  launcher.child.kill('SIGINT');
  const result = await launcher.done;
  t.equal(result.status, 0);
  t.match(result.stderr, /cpu-shield: undone \(logged, not run: systemctl set-property --runtime user\.slice AllowedCPUs= /);
  t.strictSame(changes(before, snapshot(root)), ['+/var/lib/boot-vm/nvram/gaming-9900k_VARS.fd: fake firmware variables'], 'all but the UEFI variable store, which is kept');
});

// A UEFI guest without pinning (so QEMU needs no QMP from the launcher) on the lab host, whose
// OVMF files are Debian's.
const UEFI = 'memory: { size: 1G }\nfirmware: { type: ovmf }\n';
const TEMPLATE = 'usr/share/OVMF/OVMF_VARS_4M.fd';

t.test('NVRAM: the first launch makes the variable store from the template, a second keeps it, --reset-nvram makes it again', async (t) => {
  const root = copyHost(t, 'lab');
  const profile = join(writeTree({ 'uefi.yaml': UEFI }), 'uefi.yaml');
  const vars = join(root, 'var/lib/boot-vm/nvram/uefi_VARS.fd');
  const before = snapshot(root);
  const first = await launch(profile, root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(first.status, 0, first.stderr);
  t.match(first.stderr, /^boot-vm: \[\d+\/\d+\] prepare: create the UEFI variable store \/var\/lib\/boot-vm\/nvram\/uefi_VARS\.fd from \/usr\/share\/OVMF\/OVMF_VARS_4M\.fd, mode 0600: done$/m);
  t.equal(readFileSync(vars, 'utf8'), readFileSync(join(root, TEMPLATE), 'utf8'), "the template's copy");
  t.equal(statSync(vars).mode & 0o777, 0o600);
  t.strictSame(changes(before, snapshot(root)), ['+/var/lib/boot-vm/nvram/uefi_VARS.fd: fake firmware variables', '+/var/lib/boot-vm/nvram: dir', '+/var/lib/boot-vm: dir', '+/var/lib: dir', '+/var: dir'].sort(), 'kept after the launch: the guest\'s UEFI state; nothing else');
  writeFileSync(vars, 'boot entries the guest wrote');
  const second = await launch(profile, root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(second.status, 0, second.stderr);
  t.match(second.stderr, /prepare: create the UEFI variable store \S+: skipped \(it exists; --reset-nvram makes it again from the template\)$/m);
  t.equal(readFileSync(vars, 'utf8'), 'boot entries the guest wrote', 'a second launch keeps it as the guest left it');
  const reset = await launch(profile, root, ['--reset-nvram'], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(reset.status, 0, reset.stderr);
  t.match(reset.stderr, /prepare: re-create \(--reset-nvram\) the UEFI variable store \/var\/lib\/boot-vm\/nvram\/uefi_VARS\.fd from \S+, mode 0600: done$/m);
  t.equal(readFileSync(vars, 'utf8'), readFileSync(join(root, TEMPLATE), 'utf8'), '--reset-nvram: the template again');
  t.equal(statSync(vars).mode & 0o777, 0o600);
  const dryRun = renderSteps(planOn(profile, 'lab', { sysroot: new Sysroot(root), resetNvram: true }).steps, root);
  t.ok(dryRun.includes(`install -D -m 0600 ${join(root, TEMPLATE)} ${vars}`), 'the dry-run shows it');
});

t.test('tpm on a fake host: the state directory is made under the sysroot and kept; swtpm_setup and swtpm are logged, not run', async (t) => {
  const root = copyHost(t, 'lab');
  const profile = join(writeTree({ 'tpm.yaml': 'memory: { size: 1G }\ntpm: true\n' }), 'tpm.yaml');
  // Stand-ins that would leave a mark if run: PATH finds them (and node, for the fake QEMU), the launch must not run them.
  const bin = writeTree({ swtpm: `#!/bin/sh\ntouch ${root}.ran\n`, swtpm_setup: `#!/bin/sh\ntouch ${root}.ran\n` });
  for (const name of ['swtpm', 'swtpm_setup']) chmodSync(join(bin, name), 0o755);
  const before = snapshot(root);
  const result = await launch(profile, root, [], { FAKE_QEMU_EXIT: '0', PATH: `${bin}:${dirname(process.execPath)}` }).launcher.done;
  t.equal(result.status, 0, result.stderr);
  t.match(result.stderr, /^boot-vm: \[\d+\/\d+\] launch: manufacture the guest's TPM 2\.0 in \/var\/lib\/boot-vm\/tpm\/tpm \(made, mode 0700\): endorsement keys created, NVRAM locked: done \(logged, not run: swtpm_setup --tpm2 --tpm-state \/var\/lib\/boot-vm\/tpm\/tpm --createek --lock-nvram --not-overwrite \(.* is not the live host\)\)$/m);
  t.match(result.stderr, /^boot-vm: \[\d+\/\d+\] launch: start swtpm for the guest's TPM, its socket \/run\/boot-vm\/tpm\/swtpm\.sock: done \(logged, not run: swtpm socket --tpm2 .* --terminate 2> \/var\/lib\/boot-vm\/tpm\/tpm\/swtpm\.log \(.* is not the live host\)\)$/m);
  t.notOk(fileExists(`${root}.ran`), 'neither program ran');
  t.strictSame(changes(before, snapshot(root)), ['+/var/lib/boot-vm/tpm/tpm: dir', '+/var/lib/boot-vm/tpm: dir', '+/var/lib/boot-vm: dir', '+/var/lib: dir', '+/var: dir'].sort(), "kept: the TPM's directory; /run/boot-vm/tpm is gone with the run");
  t.equal(statSync(join(root, 'var/lib/boot-vm/tpm/tpm')).mode & 0o7777, 0o700);
});

t.test('host.runAs: QEMU\'s user gets the VFIO node, hugetlbfs, the variable store and its own /run directory while it runs; all given back after', { skip: process.getuid?.() !== 0 && 'only root gives files away' }, async (t) => {
  const root = copyHost(t, 'i9-9900k');
  // What the kernel has here: the hugetlbfs mount's directory, and the group's node once its devices are on vfio-pci.
  mkdirSync(join(root, 'dev/hugepages1G'));
  mkdirSync(join(root, 'dev/vfio'));
  writeFileSync(join(root, 'dev/vfio/1'), '', { mode: 0o600 });
  const profile = join(writeTree({ 'unpriv.yaml': `memory: { size: 2G, hugepages: 1G }\nfirmware: { type: ovmf }\npassthrough:\n  - { host: "01:00.0", vga: true }\n  - { host: "01:00.1" }\nhost: { runAs: qemu }\n` }), 'unpriv.yaml');
  const before = snapshot(root);
  const owners = () => Object.fromEntries(['run/boot-vm/unpriv', 'dev/vfio/1', 'dev/hugepages1G', 'var/lib/boot-vm/nvram/unpriv_VARS.fd'].map((path) => {
    const stat = statSync(join(root, path));
    return [path, `${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}`];
  }));
  const { launcher, qemu, record } = launch(profile, root);
  await waitForLine(launcher, /QEMU started/);
  await waitFor('the pidfile in the VM\'s own directory', () => fileExists(join(root, 'run/boot-vm/unpriv/qemu.pid')));
  // The fake writes its pidfile before its record: under load the record comes a moment later.
  await waitFor("the fake QEMU's record", () => fileExists(record));
  t.match(qemu().argv.join(' '), /-pidfile \/run\/boot-vm\/unpriv\/qemu\.pid .* -runas qemu/);
  t.strictSame(owners(), {
    'run/boot-vm/unpriv': '107:107 755',
    'dev/vfio/1': '107:107 600',
    'dev/hugepages1G': '107:107 755',
    'var/lib/boot-vm/nvram/unpriv_VARS.fd': '107:107 600',
  }, 'the user owns what QEMU uses as that user');
  t.equal(statSync(join(root, 'run/boot-vm')).uid, 0, "the journals' directory stays root's");
  launcher.child.kill('SIGTERM');
  const result = await launcher.done;
  t.equal(result.status, 0, result.stderr);
  t.match(result.stderr, /launch: undo run-as qemu: undone/);
  t.strictSame(changes(before, snapshot(root)), ['+/var/lib/boot-vm/nvram/unpriv_VARS.fd: fake firmware variables', '+/var/lib/boot-vm/nvram: dir', '+/var/lib/boot-vm: dir', '+/var/lib: dir', '+/var: dir'].sort(), 'its own directory gone, the store kept');
  const after = (path: string) => {
    const stat = statSync(join(root, path));
    return `${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}`;
  };
  t.strictSame([after('dev/vfio/1'), after('dev/hugepages1G'), after('var/lib/boot-vm/nvram/unpriv_VARS.fd')], ['0:0 600', '0:0 755', '107:107 600'], 'owners and modes back; the store is the user\'s, as it was made');
});

const SHARED = `lookingGlass: { resolution: 2560x1440, kvmfr: true, owner: "alice:kvm" }
sharedMemory:
  - { name: scream-ivshmem, size: 2M, owner: alice, mode: "0640" }
`;

t.test('Looking Glass on kvmfr and Scream on /dev/shm: the file made with its owner and mode, the device given to the user, both only while QEMU runs', { skip: process.getuid?.() !== 0 && 'only root gives files away and makes device nodes' }, async (t) => {
  const root = copyHost(t, 'i7-4790k');
  // kvmfr loaded here, with its device (a character device, as the kernel makes it).
  mkdirSync(join(root, 'sys/module/kvmfr'));
  writeFileSync(join(root, 'sys/module/kvmfr/initstate'), 'live\n');
  mkdirSync(join(root, 'sys/class/kvmfr/kvmfr0'), { recursive: true });
  writeFileSync(join(root, 'sys/class/kvmfr/kvmfr0/dev'), '242:0\n');
  execFileSync('mknod', ['-m', '0600', join(root, 'dev/kvmfr0'), 'c', '1', '3']);
  const profile = join(writeTree({ 'desktop.yaml': `memory: { size: 1G }\n${SHARED}` }), 'desktop.yaml');
  const before = snapshot(root);
  const access = (path: string) => {
    const stat = statSync(join(root, path));
    return `${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}`;
  };
  const { launcher, qemu, record } = launch(profile, root);
  await waitForLine(launcher, /QEMU started/);
  await waitFor("the fake QEMU's record", () => fileExists(record));
  t.match(qemu().argv.join(' '), /mem-path=\/dev\/kvmfr0,size=64M,share=on .*,mem-path=\/dev\/shm\/scream-ivshmem,size=2M,share=on/);
  t.strictSame([access('dev/shm/scream-ivshmem'), access('dev/kvmfr0')], ['1000:1000 640', '1000:992 660'], 'the desktop user can open both while the VM runs');
  t.match(launcher.stderr(), /launch: check that \/dev\/kvmfr0 is the kvmfr device, and give it to alice:kvm \(1000:992\) with mode 0660 for the run: done/);
  launcher.child.kill('SIGTERM');
  const result = await launcher.done;
  t.equal(result.status, 0, result.stderr);
  t.strictSame(changes(before, snapshot(root)), [], 'the file removed');
  t.equal(access('dev/kvmfr0'), '0:0 600', "the device's owner and mode given back");
});

t.test('a kvmfr device that is not there when QEMU would start fails the launch, and the /dev/shm file made before is removed', async (t) => {
  const root = copyHost(t, 'i7-4790k');
  const profile = join(writeTree({ 'desktop.yaml': `memory: { size: 1G }\n${SHARED}` }), 'desktop.yaml');
  const before = snapshot(root);
  const { launcher, record } = launch(profile, root);
  const result = await launcher.done;
  t.equal(result.status, 1, result.stderr);
  t.match(result.stderr, /prepare: load the kvmfr module with \/dev\/kvmfr0 of 64M: done \(logged, not run: modprobe kvmfr static_size_mb=64/);
  t.match(result.stderr, /prepare: create \/dev\/shm\/scream-ivshmem, owned by alice \(1000:1000\) with mode 0640: done/);
  t.match(result.stderr, new RegExp(`^step \\d+ \\(check that /dev/kvmfr0 is the kvmfr device, .*\\) failed: there is no ${root}/dev/kvmfr0 \\(${root} is not the live host: nothing makes devices there\\); everything done before it was undone$`, 'm'));
  t.notOk(fileExists(record), 'QEMU never started');
  t.strictSame(changes(before, snapshot(root)), [], 'nothing left');
});

t.test("QEMU's exit status is the launcher's, after teardown", async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher } = launch('mediapc', root, [], { FAKE_QEMU_EXIT: '3' });
  const result = await launcher.done;
  t.equal(result.status, 3);
  t.match(result.stderr, /QEMU exited with status 3; putting the host back/);
  t.strictSame(changes(before, snapshot(root)), []);
});

t.test('a QEMU that cannot start: everything undone, named', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const launcher = start('boot-vm.mjs', ['mediapc', '--sysroot', root, '--qemu-binary', join(root, 'no-such-qemu'), '--qemu-version', '7.2']);
  const result = await launcher.done;
  t.equal(result.status, 1);
  t.match(result.stderr, /^cannot start QEMU: .*no-such-qemu: no such file \(ENOENT\)$/m);
  t.strictSame(changes(before, snapshot(root)), []);
});

t.test("--json logs one object per line, the plan's warnings too; --quiet prints only the warnings when all goes well", async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const json = await launch('mediapc', root, ['--json'], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(json.status, 0);
  const events = json.stderr.trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; n?: number; result?: string });
  t.strictSame(events.filter((event) => event.event === 'step' && event.result === 'done').map((event) => event.n).slice(0, 12), [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15], 'the prepare and launch steps that change something');
  t.notOk(events.some((event) => event.result === 'failed'), 'none failed (the IRQ step stops following when QEMU exits at once)');
  t.match(events[0], { event: 'warning', message: /^profiles\/mediapc\.yaml:25:24: pinning\.scheduler\.policy: a SCHED_RR vCPU/ }, 'the warning first, as an event');
  const quiet = await launch('mediapc', root, ['--quiet'], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(quiet.status, 0);
  t.match(quiet.stderr, /^boot-vm: warning: profiles\/mediapc\.yaml:25:24: pinning\.scheduler\.policy: a SCHED_RR vCPU [^\n]*\n$/, "quiet: the plan's warnings only");
});

// Each step that changes the Z77 host, made to fail by turning the file it writes first into a
// directory (the kernel refusing the write): the step is named, what came before is undone.
const FAULTS: [step: number, title: RegExp, file: string][] = [
  [2, /let KVM ignore guest accesses/, 'sys/module/kvm/parameters/ignore_msrs'],
  [3, /set vm\.stat_interval = 120/, 'proc/sys/vm/stat_interval'],
  [4, /set kernel\.watchdog = 0/, 'proc/sys/kernel/watchdog'],
  [5, /set kernel\.nmi_watchdog = 0/, 'proc/sys/kernel/nmi_watchdog'],
  [6, /run writeback threads on CPUs 0-1 only/, 'sys/bus/workqueue/devices/writeback/cpumask'],
  [7, /unbind the virtual consoles and framebuffers/, 'sys/bus/platform/drivers/efi-framebuffer/unbind'],
  [10, /bind 0000:00:1a\.0/, 'sys/bus/pci/drivers/ehci-pci/unbind'],
  [11, /bind 0000:00:1d\.0/, 'sys/bus/pci/devices/0000:00:1d.0/driver_override'],
  [12, /bind 0000:00:14\.0/, 'sys/bus/pci/drivers/xhci_hcd/unbind'],
  [13, /reserve 4096 more huge pages of 2M/, 'proc/sys/vm/compact_memory'],
  [14, /set the performance governor/, 'sys/devices/system/cpu/cpu3/cpufreq/scaling_governor'],
];

for (const [n, title, file] of FAULTS) {
  t.test(`step ${n} fails: named, and the host is put back`, async (t) => {
    const root = copyHost(t, 'z77-i5-2500');
    rmSync(join(root, file));
    mkdirSync(join(root, file));
    const before = snapshot(root);
    const result = await launch('mediapc', root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
    t.equal(result.status, 1);
    const last = result.stderr.trimEnd().split('\n').at(-1)!;
    t.match(last, new RegExp(`^step ${n} \\(${title.source}.*\\) failed: .*${file.replaceAll('.', '\\.')}: EISDIR .*; everything done before it was undone$`));
    t.notMatch(result.stderr, /QEMU started/, 'QEMU never started');
    t.strictSame(changes(before, snapshot(root)), [], 'byte-identical to before the launch');
  });
}

t.test('SIGKILL after prepare: teardown.mjs refuses while QEMU runs, --stop stops it and restores the tree, twice is a no-op', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher, qemu } = launch('mediapc', root);
  await waitForLine(launcher, RUNNING);
  launcher.child.kill('SIGKILL');
  await launcher.done;
  const { pid } = qemu();
  t.ok(alive(pid), 'QEMU outlives its launcher');
  const again = await launch('mediapc', root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(again.status, 1);
  t.match(again.stderr, new RegExp(`^mediapc's QEMU \\(pid ${pid}\\) is still running, and its launcher is gone; stop it, or run scripts/teardown\\.mjs mediapc --stop$`, 'm'));
  const refused = await start('scripts/teardown.mjs', ['mediapc', '--sysroot', root]).done;
  t.equal(refused.status, 1);
  t.equal(refused.stderr, `mediapc's QEMU (pid ${pid}) is still running; stop it first, or pass --stop to send it SIGTERM and wait\n`);
  const stopped = await start('scripts/teardown.mjs', ['mediapc', '--sysroot', root, '--stop']).done;
  t.equal(stopped.status, 0, stopped.stderr);
  t.match(stopped.stdout, /^mediapc: the host is back as it was \(\d+ changes undone\)\n$/);
  t.notOk(alive(pid));
  t.strictSame(changes(before, snapshot(root)), [], 'byte-identical');
  const twice = await start('scripts/teardown.mjs', ['mediapc', '--sysroot', root]).done;
  t.equal(twice.status, 0);
  t.equal(twice.stdout, `mediapc: nothing to undo (no journal at ${root}/run/boot-vm/mediapc.journal)\n`);
});

t.test('SIGKILL with QEMU gone too: teardown.mjs alone restores the tree', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher, qemu } = launch('mediapc', root);
  await waitForLine(launcher, RUNNING);
  launcher.child.kill('SIGKILL');
  await launcher.done;
  process.kill(qemu().pid, 'SIGKILL');
  await waitFor('QEMU to die', () => !alive(qemu().pid));
  const leftover = await launch('mediapc', root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(leftover.status, 1);
  t.match(leftover.stderr, /a run of mediapc ended without putting the host back \(.*mediapc\.journal is left over\); run scripts\/teardown\.mjs mediapc first/);
  const teardown = await start('scripts/teardown.mjs', ['mediapc', '--sysroot', root]).done;
  t.equal(teardown.status, 0, teardown.stderr);
  t.match(teardown.stderr, `removed what the exited QEMU left: ${root}/run/boot-vm/mediapc.pid`);
  // Only the killed QEMU's IRQ lines stay (the fake's kernel would free them); its pidfile is gone, and /run/boot-vm with it.
  t.strictSame(changes(before, snapshot(root)).filter((line) => !/^(\/proc\/interrupts|\+\/proc\/irq\/20\d)/.test(line)), []);
});

t.test('a second launch while the first runs is refused and changes nothing', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const { launcher } = launch('mediapc', root);
  await waitForLine(launcher, RUNNING);
  const during = snapshot(root);
  const second = await launch('mediapc', root, [], { FAKE_QEMU_EXIT: '0', FAKE_QEMU_RECORD: `${root}.second.json` }).launcher.done;
  t.equal(second.status, 1);
  t.match(second.stderr, new RegExp(`^mediapc is already running: boot-vm \\(pid ${launcher.child.pid}\\) holds .*mediapc\\.journal; it puts the host back when QEMU exits$`, 'm'));
  t.strictSame(changes(during, snapshot(root)), []);
  launcher.child.kill('SIGTERM');
  t.equal((await launcher.done).status, 0);
});

t.test('a second VM that passes a device the first holds is refused before any change, naming the first', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const { launcher } = launch('mediapc', root);
  await waitForLine(launcher, RUNNING);
  const during = snapshot(root);
  const other = writeTree({ 'profiles/htpc.yaml': `extends: ${join(REPO, 'profiles/mediapc.yaml')}\n` });
  const second = await start('boot-vm.mjs', [join(other, 'profiles/htpc.yaml'), '--sysroot', root, '--qemu-binary', FAKE_QEMU, '--qemu-version', '7.2'], { FAKE_QEMU_EXIT: '0' }).done;
  t.equal(second.status, 1);
  t.match(second.stderr, new RegExp(`^0000:01:00\\.0 is in use by VM mediapc \\(boot-vm pid ${launcher.child.pid}\\); stop it first \\(scripts/vm\\.mjs stop mediapc\\)$`, 'm'));
  t.strictSame(changes(during, snapshot(root)), [], 'nothing changed, not even a journal');
  launcher.child.kill('SIGTERM');
  t.equal((await launcher.done).status, 0);
  t.notOk(fileExists(join(root, 'run/boot-vm/devices')), 'the reservations went with the run');
});

t.test('a reservation left by a dead launcher is taken over', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const { launcher } = launch('mediapc', root);
  await waitForLine(launcher, RUNNING);
  launcher.child.kill('SIGKILL');
  await launcher.done;
  const teardown = await start('scripts/teardown.mjs', ['mediapc', '--sysroot', root, '--stop']).done;
  t.equal(teardown.status, 0, teardown.stderr);
  // As if teardown had not released it: the reservation names the dead launcher.
  mkdirSync(join(root, 'run/boot-vm/devices'), { recursive: true });
  const dead = JSON.stringify({ vm: 'htpc', launcher: { pid: launcher.child.pid, start: '1' } });
  for (const device of ['0000:01:00.0', '0000:00:14.0']) writeFileSync(join(root, `run/boot-vm/devices/${device}`), dead);
  const again = launch('mediapc', root);
  await waitForLine(again.launcher, RUNNING);
  t.match(JSON.parse(readFileSync(join(root, 'run/boot-vm/devices/0000:01:00.0'), 'utf8')), { vm: 'mediapc', launcher: { pid: again.launcher.child.pid } });
  again.launcher.child.kill('SIGTERM');
  t.equal((await again.launcher.done).status, 0);
  t.strictSame(changes(before, snapshot(root)), ['+/run/boot-vm: dir'], 'the tree is as before, but for /run/boot-vm, which the test made');
});

t.test('prepare-host then a launch: the launch keeps the prepare steps, teardown.mjs undoes them', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const prepared = await start('scripts/prepare-host.mjs', ['mediapc', '--sysroot', root, '--qemu-version', '7.2']).done;
  t.equal(prepared.status, 0, prepared.stderr);
  t.match(prepared.stdout, /^mediapc: the host is prepared; boot-vm mediapc keeps these steps/);
  t.notMatch(prepared.stderr, /governor|locked-memory|IRQ/, 'launch and running steps wait for a launch');
  const again = await start('scripts/prepare-host.mjs', ['mediapc', '--sysroot', root, '--qemu-version', '7.2']).done;
  t.equal(again.status, 0);
  t.match(again.stdout, /^mediapc: the host is prepared already/);
  const changed = writeTree({ 'profiles/mediapc.yaml': `extends: ${join(REPO, 'profiles/mediapc.yaml')}\nhost: { ignoreMsrs: false }\n` });
  const other = await start('boot-vm.mjs', [join(changed, 'profiles/mediapc.yaml'), '--sysroot', root, '--qemu-binary', FAKE_QEMU, '--qemu-version', '7.2'], { FAKE_QEMU_EXIT: '0' }).done;
  t.equal(other.status, 1);
  t.match(other.stderr, /^prepare-host prepared this host from another version of mediapc's plan; run scripts\/teardown\.mjs mediapc, then launch again$/m);
  // What the kernel does on the binds the fake tree only records: the USB controllers are on vfio-pci now, so the launch's plan skips their binding.
  const drivers = { '0000:00:1a.0': 'ehci-pci', '0000:00:1d.0': 'ehci-pci', '0000:00:14.0': 'xhci_hcd' };
  const link = (device: string, driver: string) => {
    rmSync(join(root, 'sys/bus/pci/devices', device, 'driver'));
    symlinkSync(`../../drivers/${driver}`, join(root, 'sys/bus/pci/devices', device, 'driver'));
  };
  for (const device of Object.keys(drivers)) link(device, 'vfio-pci');
  const bound = snapshot(root);
  const run = await launch('mediapc', root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(run.status, 0, run.stderr);
  t.match(run.stderr, /the prepare steps were applied by prepare-host; keeping them/);
  t.strictSame(changes(bound, snapshot(root)).filter((line) => !line.includes('mediapc.journal')), [], 'after the VM, the host is as prepare-host left it');
  for (const [device, driver] of Object.entries(drivers)) link(device, driver);
  const teardown = await start('scripts/teardown.mjs', ['mediapc', '--sysroot', root]).done;
  t.equal(teardown.status, 0, teardown.stderr);
  t.strictSame(changes(before, snapshot(root)), []);
});

t.test('the plan a launch applies is the dry-run plan', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const plan = planOn(join(REPO, 'profiles/mediapc.yaml'), 'z77-i5-2500', { sysroot: new Sysroot(root), qemuVersion: { major: 7, minor: 2 } });
  const result = await launch('mediapc', root, ['--json'], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  const titles = result.stderr.trimEnd().split('\n').map((line) => JSON.parse(line)).filter((event) => event.event === 'step' && !String(event.title).startsWith('undo'));
  t.strictSame(titles.map((event) => `${event.n} ${event.title}`), plan.steps.map((step) => `${step.n} ${step.title}`));
});

// Single-GPU handoff on the i9-9900k, whose only GPU (the boot VGA) is on the Nvidia driver: the
// modules as the kernel shows them there (nvidia_uvm not loaded), and a profile that hands the GPU over.
const SINGLE_GPU = `memory: { size: 1G }
passthrough:
  - { host: "01:00.0", vga: true }
  - { host: "01:00.1" }
host:
  stopServices: [display-manager]
  unloadModules: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia]
`;

/** A copy of the i9-9900k with the Nvidia modules loaded, each used only by the next one down. */
function nvidiaHost(t: Test): { root: string; profile: string } {
  const root = copyHost(t, 'i9-9900k');
  const modules: [string, number, string[]][] = [['nvidia_drm', 0, []], ['nvidia_modeset', 1, ['nvidia_drm']], ['nvidia', 1, ['nvidia_modeset']]];
  for (const [module, refcnt, holders] of modules) {
    mkdirSync(join(root, `sys/module/${module}/holders`), { recursive: true });
    writeFileSync(join(root, `sys/module/${module}/refcnt`), `${refcnt}\n`);
    writeFileSync(join(root, `sys/module/${module}/initstate`), 'live\n');
    for (const holder of holders) symlinkSync(`../../${holder}`, join(root, `sys/module/${module}/holders/${holder}`));
  }
  return { root, profile: join(writeTree({ 'single-gpu.yaml': SINGLE_GPU }), 'single-gpu.yaml') };
}

/** The step lines of a launch's log, without the sysroot's "not the live host" remarks. */
const stepLines = (stderr: string, root: string) =>
  stderr
    .split('\n')
    .filter((line) => /^boot-vm: \[\d+\/\d+\]/.test(line))
    .map((line) => line.replaceAll(` (${root} is not the live host)`, '').replace(/^boot-vm: /, ''));

t.test('single-GPU handoff: display manager stopped, consoles unbound, modules unloaded, vfio-pci bound; restored in reverse', async (t) => {
  const { root, profile } = nvidiaHost(t);
  const before = snapshot(root);
  const result = await launch(profile, root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(result.status, 0, result.stderr);
  t.strictSame(stepLines(result.stderr, root).filter((line) => !/load kernel modules vfio|locked-memory/.test(line)), [
    '[2/7] prepare: stop display-manager, to free the GPU: done (logged, not run: systemctl is-active --quiet display-manager && systemctl stop display-manager)',
    '[3/7] prepare: unbind the virtual consoles and framebuffers from the boot GPU: done',
    '[4/7] prepare: unload kernel modules nvidia_drm, nvidia_modeset, nvidia: done (logged, not run: rmmod nvidia_drm; rmmod nvidia_modeset; rmmod nvidia)',
    '[5/7] prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci: done (did not wait for 0000:01:00.0 to be on vfio-pci: ' + root + ' is not the live host)',
    '[6/7] prepare: bind 0000:01:00.1 [10de:10ef] to vfio-pci: done (did not wait for 0000:01:00.1 to be on vfio-pci: ' + root + ' is not the live host)',
    '[6/7] prepare: undo bind-vfio 0000:01:00.1: undone',
    '[5/7] prepare: undo bind-vfio 0000:01:00.0: undone',
    '[4/7] prepare: undo unload-modules: undone (logged, not run: modprobe nvidia; logged, not run: modprobe nvidia_modeset; logged, not run: modprobe nvidia_drm)',
    '[3/7] prepare: undo unbind-consoles: undone',
    '[2/7] prepare: undo stop-services: undone (logged, not run: systemctl start display-manager)',
  ], 'in order: stop, unbind, unload, bind; then unbind from vfio-pci, reload in reverse, rebind, start');
  t.strictSame(changes(before, snapshot(root)), [], 'byte-identical after');
});

t.test('single-GPU handoff refused while a process holds the GPU after the display manager stopped: named, everything undone', async (t) => {
  const { root, profile } = nvidiaHost(t);
  mkdirSync(join(root, 'proc/4242/fd'), { recursive: true });
  writeFileSync(join(root, 'proc/4242/comm'), 'Xorg\n');
  symlinkSync('/dev/nvidia0', join(root, 'proc/4242/fd/11'));
  const before = snapshot(root);
  const result = await launch(profile, root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(result.status, 1);
  t.match(result.stderr.trimEnd().split('\n').at(-1), /^step 4 \(unload kernel modules nvidia_drm, nvidia_modeset, nvidia\) failed: refusing to unload nvidia_drm, nvidia_modeset, nvidia while still in use: Xorg \(pid 4242\) has \/dev\/nvidia0 open; .*; everything done before it was undone$/);
  t.match(result.stderr, /undo stop-services: undone \(logged, not run: systemctl start display-manager /, 'the display manager is started again');
  t.notMatch(result.stderr, /rmmod|QEMU started/, 'no module unloaded, QEMU never started');
  t.strictSame(changes(before, snapshot(root)), [], 'byte-identical to before');
});

t.test('a framebuffer rebind that fails while restoring: reported, the console, the modules and the display manager still come back', async (t) => {
  const { root, profile } = nvidiaHost(t);
  // The kernel refusing efi-framebuffer's bind (as when the reloaded driver took the memory first).
  rmSync(join(root, 'sys/bus/platform/drivers/efi-framebuffer/bind'));
  mkdirSync(join(root, 'sys/bus/platform/drivers/efi-framebuffer/bind'));
  const before = snapshot(root);
  const result = await launch(profile, root, [], { FAKE_QEMU_EXIT: '0' }).launcher.done;
  t.equal(result.status, 1, 'the launch fails, after restoring all it could');
  t.match(result.stderr.trimEnd().split('\n').at(-1), /^1 change could not be undone \(put it back by hand\): step 3 \(unbind-consoles\): writing "efi-framebuffer\.0" to \S+\/efi-framebuffer\/bind: EISDIR/);
  const undo = stepLines(result.stderr, root).filter((line) => line.includes('undo'));
  t.match(undo, [/undo bind-vfio 0000:01:00\.1: undone/, /undo bind-vfio 0000:01:00\.0: undone/, /undo unload-modules: undone \(.*modprobe nvidia_drm\)/, /undo unbind-consoles: undo-failed \(writing .*EISDIR/, /undo stop-services: undone \(logged, not run: systemctl start display-manager\)/]);
  t.strictSame(changes(before, snapshot(root)), [], 'vtcon1 is bound again, and nothing else is left changed');
});
