// planSharedMemoryFiles and planKvmfrDevices (lib/plan/steps/shared-memory.ts): owners resolved
// through the host's /etc/passwd and /etc/group, a /dev/shm file made with its owner and mode and
// removed after, an existing one taken over for the run and given back, what QEMU would refuse;
// the kvmfr module loaded with the regions' sizes, or checked when loaded, and its device checked
// and given its owner before QEMU starts.
import { truncateSync } from 'node:fs';
import t, { type Test } from 'tap';
import { Sysroot } from '../../../lib/host/sysroot.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { planKvmfrDevices, planSharedMemoryFiles, resolveOwner } from '../../../lib/plan/steps/shared-memory.js';
import { lookingGlassSize } from '../../../lib/qemu/shared-memory.js';
import { profileOf, recorder, tree } from '../../fixtures/trees.js';

const USERS = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n',
  'etc/group': 'root:x:0:\nkvm:x:992:alice\nalice:x:1000:\n',
  'dev/shm/marker': '',
};

function contextOf(t: Test, data: Record<string, unknown>, files: Record<string, string> = {}): { context: StepContext; reports: string[]; root: string } {
  const root = tree(t, { ...USERS, ...files });
  const { report, reports } = recorder();
  return { context: { name: 'vm', profile: profileOf({ memory: { size: '4G' }, ...data }), sysroot: new Sysroot(root), report }, reports, root };
}

t.test('owners: names and numbers, the group from the user or given, and what the host lacks named at the key', async (t) => {
  const { context, reports, root } = contextOf(t, {});
  const resolve = (text: string) => resolveOwner(context.sysroot, text, 'lookingGlass.owner', context.report);
  t.strictSame(resolve('alice'), { user: 'alice', uid: 1000, gid: 1000 }, "the user's primary group");
  t.strictSame(resolve('alice:kvm'), { user: 'alice', uid: 1000, gid: 992 });
  t.strictSame(resolve('1000'), { user: '1000', uid: 1000, gid: 1000 }, 'a uid: its group from /etc/passwd');
  t.strictSame(resolve('4321:992'), { user: '4321', uid: 4321, gid: 992 }, 'numbers need no entry');
  t.strictSame(reports, []);
  t.equal(resolve('bob'), undefined);
  t.equal(resolve('alice:games'), undefined);
  t.equal(resolve('4321'), undefined);
  t.strictSame(reports, [
    `lookingGlass.owner: no user bob in ${root}/etc/passwd`,
    `lookingGlass.owner: no group games in ${root}/etc/group`,
    `lookingGlass.owner: no user has uid 4321 in ${root}/etc/passwd to take a group from; write it as "4321:GROUP"`,
  ]);
});

t.test('a new /dev/shm file: made with the owner and mode (0660 with an owner, 0600 without), removed afterwards', async (t) => {
  const { context, reports } = contextOf(t, {
    lookingGlass: { resolution: '1920x1080', owner: 'alice:kvm' },
    sharedMemory: [{ name: 'scream-ivshmem', size: '2M' }, { name: 'other', size: '2M', owner: 'alice', mode: '0640' }],
  });
  const steps = planSharedMemoryFiles(context);
  t.strictSame(reports, []);
  t.strictSame(steps.map(({ id, phase, title, from }) => ({ id, phase, title, from })), [
    { id: 'shared-memory /dev/shm/looking-glass', phase: 'prepare', title: 'create /dev/shm/looking-glass for Looking Glass, owned by alice:kvm (1000:992) with mode 0660', from: ['lookingGlass.name', 'lookingGlass.owner'] },
    { id: 'shared-memory /dev/shm/scream-ivshmem', phase: 'prepare', title: 'create /dev/shm/scream-ivshmem, mode 0600', from: ['sharedMemory[0].name'] },
    { id: 'shared-memory /dev/shm/other', phase: 'prepare', title: 'create /dev/shm/other, owned by alice (1000:1000) with mode 0640', from: ['sharedMemory[1].name', 'sharedMemory[1].owner', 'sharedMemory[1].mode'] },
  ]);
  t.strictSame(steps[0]!.actions, [
    { do: { kind: 'create-file', path: '/dev/shm/looking-glass', mode: 0o660, owner: { user: 'alice', uid: 1000, gid: 992 } }, undo: [{ kind: 'remove-file', path: '/dev/shm/looking-glass' }] },
  ]);
  t.strictSame(steps[1]!.actions![0]!.do, { kind: 'create-file', path: '/dev/shm/scream-ivshmem', mode: 0o600 }, 'no owner: root keeps it to itself');
  t.strictSame(steps[0]!.notes, [lookingGlassSize('1920x1080').note, 'empty until QEMU sizes it to 32M; removed afterwards'], "the size's computation shown in the plain dry-run too");
  t.strictSame(planKvmfrDevices(context), [], 'no kvmfr device');
});

t.test('an existing file is taken over for the run and given back, not removed; one QEMU would refuse is a problem', async (t) => {
  const { context, reports, root } = contextOf(t, { lookingGlass: { resolution: '2560x1440', owner: 'alice' }, sharedMemory: [{ name: 'scream', size: '2M' }, { name: 'dir', size: '2M' }] }, {
    'dev/shm/looking-glass': 'x',
    'dev/shm/scream': '',
    'dev/shm/dir/inside': '',
  });
  truncateSync(`${root}/dev/shm/looking-glass`, 32 << 20);
  const steps = planSharedMemoryFiles(context);
  t.strictSame(reports, [
    `lookingGlass.resolution: /dev/shm/looking-glass exists with 33554432 bytes, less than the 64M QEMU maps, and QEMU refuses it ("backing store size … does not match"); remove it`,
    'sharedMemory[1].name: /dev/shm/dir is a directory, not a file QEMU can map',
  ]);
  t.equal(steps[0]!.title, 'give the existing /dev/shm/looking-glass for Looking Glass to alice (1000:1000) with mode 0660 for the run');
  t.strictSame(steps[0]!.actions, [{ do: { kind: 'set-owner', path: '/dev/shm/looking-glass', owner: { user: 'alice', uid: 1000, gid: 1000 }, mode: 0o660 }, undo: [{ kind: 'restore-owner', path: '/dev/shm/looking-glass' }] }], 'given back, never removed');
  t.strictSame([steps[1]!.skip, steps[1]!.actions ?? []], ['it exists, and no owner or mode is asked', []], 'left as it is');
  const modeOnly = contextOf(t, { sharedMemory: [{ name: 'scream', size: '2M', mode: '0644' }] }, { 'dev/shm/scream': '' });
  const [step] = planSharedMemoryFiles(modeOnly.context);
  t.strictSame([step!.title, step!.actions], ['set the existing /dev/shm/scream to mode 0644 for the run', [{ do: { kind: 'set-owner', path: '/dev/shm/scream', mode: 0o644 }, undo: [{ kind: 'restore-owner', path: '/dev/shm/scream' }] }]], 'a mode alone');
  t.strictSame([steps[2]!.skip, steps[2]!.actions ?? []], ['it is a directory', []]);
});

t.test('an owner the host lacks, or a path whose directory is missing, skips the step with the problem reported', async (t) => {
  const { context, reports, root } = contextOf(t, { lookingGlass: { resolution: '1920x1080', owner: 'bob' }, sharedMemory: [{ name: 'x', size: '2M', path: '/srv/shm/x', owner: 'alice' }] });
  const steps = planSharedMemoryFiles(context);
  t.strictSame(reports, [`lookingGlass.owner: no user bob in ${root}/etc/passwd`, 'sharedMemory[0].path: /srv/shm does not exist on this host']);
  t.strictSame(steps.map((step) => step.skip), ['its owner is not on this host', '/srv/shm does not exist']);
});

t.test('kvmfr not loaded: modprobe with every device\'s size in MiB, in device order; the device checked before QEMU starts', async (t) => {
  const { context, reports } = contextOf(t, { lookingGlass: { resolution: '2560x1440', kvmfr: true, owner: 'alice:kvm' }, sharedMemory: [{ name: 'second', size: '32M', path: '/dev/kvmfr1' }] });
  const [load] = planSharedMemoryFiles(context);
  t.strictSame(reports, []);
  t.strictSame([load!.id, load!.phase, load!.title, load!.from], ['load-kvmfr', 'prepare', 'load the kvmfr module with /dev/kvmfr0 of 64M, /dev/kvmfr1 of 32M', ['lookingGlass.kvmfr', 'sharedMemory[0].path']]);
  t.strictSame(load!.actions, [{ do: { kind: 'run', argv: ['modprobe', 'kvmfr', 'static_size_mb=64,32'] }, undo: [] }], 'stays loaded afterwards');
  const devices = planKvmfrDevices(context);
  t.strictSame(devices.map(({ id, phase, title }) => ({ id, phase, title })), [
    { id: 'kvmfr-device /dev/kvmfr0', phase: 'launch', title: 'check that /dev/kvmfr0 is the kvmfr device, and give it to alice:kvm (1000:992) with mode 0660 for the run' },
    { id: 'kvmfr-device /dev/kvmfr1', phase: 'launch', title: 'check that /dev/kvmfr1 is the kvmfr device' },
  ]);
  t.strictSame(devices[0]!.actions, [
    { do: { kind: 'wait-char-device', path: '/dev/kvmfr0', timeoutMs: 5000 }, undo: [] },
    { do: { kind: 'set-owner', path: '/dev/kvmfr0', owner: { user: 'alice', uid: 1000, gid: 992 }, mode: 0o660 }, undo: [{ kind: 'restore-owner', path: '/dev/kvmfr0' }] },
  ]);
  const gap = contextOf(t, { sharedMemory: [{ name: 'second', size: '32M', path: '/dev/kvmfr1', owner: 'alice' }] });
  planSharedMemoryFiles(gap.context);
  t.strictSame(gap.reports, ['sharedMemory[0].path: kvmfr numbers its devices from 0; without a region on /dev/kvmfr0 there is no size to load it with']);
});

t.test('kvmfr loaded: each device must exist, with the size when the module shows it; a plain file where the device goes is a problem', async (t) => {
  const LG = { lookingGlass: { resolution: '2560x1440', kvmfr: true, owner: 'alice' } };
  const loaded = { 'sys/module/kvmfr/initstate': 'live\n', 'sys/class/kvmfr/kvmfr0/dev': '242:0\n' };
  const hidden = contextOf(t, LG, loaded);
  const [step] = planSharedMemoryFiles(hidden.context);
  t.strictSame(hidden.reports, []);
  t.strictSame([step!.skip, step!.notes], ['it is loaded', [lookingGlassSize('2560x1440').note, 'kvmfr does not show the size it was loaded with; /dev/kvmfr0 must have at least 64M, or QEMU cannot map it']], "upstream kvmfr's static_size_mb is unreadable");
  const shown = contextOf(t, LG, { ...loaded, 'sys/module/kvmfr/parameters/static_size_mb': '32\n' });
  planSharedMemoryFiles(shown.context);
  t.strictSame(shown.reports, ['lookingGlass.resolution: kvmfr was loaded with 32M for /dev/kvmfr0, but the region is 64M; reload it: modprobe -r kvmfr && modprobe kvmfr static_size_mb=64']);
  const matching = contextOf(t, LG, { ...loaded, 'sys/module/kvmfr/parameters/static_size_mb': '64\n' });
  t.strictSame([planSharedMemoryFiles(matching.context)[0]!.notes, matching.reports], [[lookingGlassSize('2560x1440').note], []], 'the size shown matches');
  const none = contextOf(t, LG, { 'sys/module/kvmfr/initstate': 'live\n' });
  planSharedMemoryFiles(none.context);
  t.strictSame(none.reports, ['lookingGlass.kvmfr: kvmfr is loaded without a device kvmfr0 (it makes one per size in static_size_mb); reload it: modprobe -r kvmfr && modprobe kvmfr static_size_mb=64']);
  const leftover = contextOf(t, LG, { ...loaded, 'dev/kvmfr0': '' });
  planKvmfrDevices(leftover.context);
  t.strictSame(leftover.reports, ['lookingGlass.kvmfr: /dev/kvmfr0 is a plain file, not the kvmfr device (a QEMU started before the module was loaded makes one); remove it']);
});
