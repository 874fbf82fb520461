import t from 'tap';
import { InputError } from '../../lib/errors.js';
import { buildPlan, type PlanOptions } from '../../lib/plan/plan.js';
import { loadProfile } from '../../lib/profile/load.js';
import { NEWEST_KNOWN_QEMU, formatQemuVersion } from '../../lib/qemu/version.js';
import { everyProgram, host, noQemu } from '../fixtures/helpers.js';
import { tree } from '../fixtures/trees.js';

const NOTHING_ON_PATH = { PATH: '', HOME: '/nonexistent' };

function plan(dir: string, name: string, options: Partial<PlanOptions> = {}) {
  return buildPlan(loadProfile(name, { cwd: dir, env: NOTHING_ON_PATH }), { sysroot: host('lab'), strict: true, launching: false, probeQemuVersion: noQemu, findProgram: everyProgram, qemuVersion: { major: 7, minor: 2 }, ...options });
}

function thrown(body: () => unknown): unknown {
  try {
    body();
  } catch (error) {
    return error;
  }
  return undefined;
}

const INHERITING = {
  'profiles/base.yaml': ['# shared', 'clock:', '  hpet: false', 'vga: std', ''].join('\n'),
  'profiles/child.yaml': ['extends: base', 'memory: { size: 1G }', 'pinning: { vcpus: [2, 3], scheduler: { policy: fifo, priority: 5 } }', ''].join('\n'),
};

t.test('a plan: the argv of every arg, wrappers first', async (t) => {
  const processMode = ['extends: base', 'memory: { size: 1G }', 'pinning: { vcpus: [2, 3], scheduler: { policy: fifo, priority: 5 }, mode: process }', ''].join('\n');
  const dir = tree(t, { ...INHERITING, 'profiles/child.yaml': processMode });
  const result = plan(dir, 'child');
  t.equal(result.profile, 'child');
  t.equal(result.file, 'profiles/child.yaml');
  t.equal(result.qemuVersion, '7.2');
  t.strictSame(result.steps.map((step) => step.id), ['load-modules', 'cpu-governor', 'irq-affinity'], 'KVM needs its module; pinning brings the governor and IRQ steps');
  t.strictSame(result.argv, result.args.flatMap((arg) => arg.words));
  t.strictSame(result.argv.slice(0, 9), ['chrt', '-f', '5', 'taskset', '-c', '2-3', 'qemu-system-x86_64', '-name', 'guest=child,debug-threads=on']);
  t.equal(result.wrappers, 2, 'chrt and taskset come before the binary');
  t.equal(plan(tree(t, { 'vm.yaml': 'memory: { size: 1G }\n' }), 'vm.yaml').wrappers, 0, 'none without pinning');
  const threads = plan(tree(t, { 'vm.yaml': 'memory: { size: 1G }\npinning: { vcpus: [2, 3], scheduler: { policy: fifo, priority: 5 } }\n' }), 'vm.yaml');
  t.equal(threads.wrappers, 0, 'none in threads mode (the default)');
  t.equal(threads.argv.at(-1), '-S', 'which starts QEMU paused');
  t.strictSame(threads.steps.map((step) => step.id), ['load-modules', 'cpu-governor', 'pin-emulator', 'pin-vcpus', 'start-guest', 'irq-affinity'], 'and pins each thread once it is up');
});

t.test('devices: the passed-through addresses, as sysfs writes them', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 1G }\npassthrough:\n  - { host: "02:00.0" }\n  - { host: "0000:02:00.1" }\n' });
  t.strictSame(plan(dir, 'vm.yaml').devices, ['0000:02:00.0', '0000:02:00.1']);
  t.strictSame(plan(tree(t, { 'vm.yaml': 'memory: { size: 1G }\n' }), 'vm.yaml').devices, [], 'none without passthrough');
});

t.test('keyOrigins: defaults and keys inherited from a base; keys of the profile itself are left out', async (t) => {
  const dir = tree(t, INHERITING);
  const { keyOrigins } = plan(dir, 'child');
  t.equal(keyOrigins['qemu.binary'], 'default');
  t.equal(keyOrigins['machine.type'], 'default');
  t.equal(keyOrigins['pinning.mode'], 'default', 'a default inside a written mapping');
  t.equal(keyOrigins['clock.hpet'], 'profiles/base.yaml:3');
  t.equal(keyOrigins['vga'], 'profiles/base.yaml:4');
  t.equal('memory.size' in keyOrigins, false);
  t.equal('pinning.vcpus' in keyOrigins, false);
  t.equal('memory.hugepages' in keyOrigins, false, 'only keys some arg comes from');
});

t.test('every error is collected, sorted by file and position, in one InputError', async (t) => {
  const dir = tree(t, {
    'profiles/base.yaml': 'pinning:\n  vcpus: [70, 71]\n',
    'profiles/child.yaml': ['extends: base', 'memory: { size: 3M, hugepages: 2M }', 'passthrough:', '  - host: "09:00.0"', ''].join('\n'),
  });
  const error = thrown(() => plan(dir, 'child'));
  t.type(error, InputError);
  t.equal((error as InputError).exitCode, 2);
  t.strictSame((error as InputError).lines(), [
    'profiles/base.yaml:2:10: pinning.vcpus: host CPUs 70-71 do not exist here (this host has 0-63)',
    'profiles/child.yaml:2:17: memory.size: 3M is not a whole number of 2M huge pages',
    'profiles/child.yaml:4:11: passthrough[0].host: no PCI device 0000:09:00.0 on this host',
  ]);
});

t.test('warnings are returned with the plan, sorted by position', async (t) => {
  const dir = tree(t, { 'vm.yaml': ['memory: { size: 2G, hugepages: 1G, path: /srv/huge }', 'qemu: { binary: /opt/qemu }', 'host: { hugepages: false }', ''].join('\n') });
  const result = plan(dir, 'vm.yaml', { qemuVersion: undefined });
  t.strictSame(result.warnings, [
    { file: 'vm.yaml', line: 1, column: 42, key: 'memory.path', message: '/srv/huge is not a mounted hugetlbfs with pagesize=1G (mount -t hugetlbfs -o pagesize=1G hugetlbfs /srv/huge)' },
    { file: 'vm.yaml', line: 2, column: 17, key: 'qemu.binary', message: `/opt/qemu was not found on PATH; planning for QEMU ${formatQemuVersion(NEWEST_KNOWN_QEMU)} (give --qemu-version X.Y to plan for another)` },
  ], 'the version warning is found first but written last');
});

t.test('a missing hugetlbfs mount is a step, or a warning about memory.hugepages when host.hugepages is off', async (t) => {
  const planned = (text: string) =>
    buildPlan(loadProfile('vm.yaml', { cwd: tree(t, { 'vm.yaml': text }), env: NOTHING_ON_PATH }), { sysroot: host('z77-i5-2500'), strict: true, launching: false, probeQemuVersion: noQemu, findProgram: everyProgram, qemuVersion: { major: 7, minor: 2 } });
  const mounting = planned('memory: { size: 2G, hugepages: 1G }\n');
  t.strictSame(mounting.warnings, []);
  t.strictSame(mounting.steps.find((step) => step.id.startsWith('mount-hugetlbfs'))?.actions.map((action) => action.do), [
    { kind: 'mkdir', path: '/dev/hugepages1G' },
    { kind: 'run', argv: ['mount', '-t', 'hugetlbfs', '-o', 'pagesize=1G', 'hugetlbfs', '/dev/hugepages1G'] },
  ]);
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 2G, hugepages: 1G }\nhost: { hugepages: false }\n' });
  t.strictSame(
    buildPlan(loadProfile('vm.yaml', { cwd: dir, env: NOTHING_ON_PATH }), { sysroot: host('z77-i5-2500'), strict: true, launching: false, probeQemuVersion: noQemu, findProgram: everyProgram, qemuVersion: { major: 7, minor: 2 } }).warnings,
    [{ file: 'vm.yaml', line: 1, column: 32, key: 'memory.hugepages', message: 'no hugetlbfs with pagesize=1G is mounted; QEMU needs one at /dev/hugepages1G (mount -t hugetlbfs -o pagesize=1G hugetlbfs /dev/hugepages1G)' }],
  );
});

t.test('strict=false turns what the host lacks into warnings', async (t) => {
  const dir = tree(t, { 'vm.yaml': ['memory: { size: 1G }', 'disks: [{ path: /vm/gone.img }]', 'passthrough: [{ host: "09:00.0" }]', ''].join('\n') });
  t.strictSame((thrown(() => plan(dir, 'vm.yaml')) as InputError).lines(), [
    'vm.yaml:2:17: disks[0].path: /vm/gone.img does not exist on this host',
    'vm.yaml:3:23: passthrough[0].host: no PCI device 0000:09:00.0 on this host',
  ]);
  t.strictSame(
    plan(dir, 'vm.yaml', { strict: false }).warnings.map((warning) => `${warning.key}: ${warning.message}`),
    ['disks[0].path: /vm/gone.img does not exist on this host', 'passthrough[0].host: no PCI device 0000:09:00.0 on this host'],
  );
});

t.test('strict=false keeps profile errors errors', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 3M, hugepages: 2M }\n' });
  t.strictSame((thrown(() => plan(dir, 'vm.yaml', { strict: false })) as InputError).lines(), ['vm.yaml:1:17: memory.size: 3M is not a whole number of 2M huge pages']);
});

t.test('--qemu-binary replaces qemu.binary, in the argv and for detection', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'qemu: { binary: qemu-system-x86_64 }\nmemory: { size: 1G }\n' });
  const asked: string[] = [];
  const probeQemuVersion = (binary: string) => {
    asked.push(binary);
    return { version: { major: 9, minor: 2 }, path: binary };
  };
  const result = buildPlan(loadProfile('vm.yaml', { cwd: dir, env: NOTHING_ON_PATH }), { sysroot: host('lab'), strict: true, launching: true, probeQemuVersion, findProgram: everyProgram, qemuBinary: '/opt/qemu-9' });
  t.equal(result.argv[0], '/opt/qemu-9');
  t.strictSame(asked, ['/opt/qemu-9'], 'the replacement is the binary asked');
  t.equal(result.qemuVersion, '9.2');
  t.strictSame(result.warnings, []);
});

t.test('launching without a QEMU to ask is an error', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 1G }\n' });
  t.strictSame((thrown(() => plan(dir, 'vm.yaml', { qemuVersion: undefined, launching: true })) as InputError).lines(), ['vm.yaml:1:1: qemu.binary: qemu-system-x86_64 was not found on PATH']);
});
