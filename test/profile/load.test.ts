import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ProfileError } from '../../lib/errors.js';
import { loadProfile } from '../../lib/profile/load.js';
import { errorLines, tree } from '../fixtures/trees.js';

const ENV = { PATH: '', HOME: '/nonexistent' };
const load = (reference: string, cwd: string, env: NodeJS.ProcessEnv = ENV) => loadProfile(reference, { cwd, env });

t.test('name is the file stem; file is shown relative to the working directory', async (t) => {
  const dir = tree(t, { 'profiles/media.pc.yaml': 'memory: { size: 1G }\n', 'old.yml': 'memory: { size: 1G }\n' });
  const byName = load('media.pc', dir);
  t.equal(byName.name, 'media.pc');
  t.equal(byName.file, 'profiles/media.pc.yaml');
  t.strictSame(byName.files, ['profiles/media.pc.yaml']);
  t.equal(load('old.yml', dir).name, 'old');
  const outside = load(join(dir, 'old.yml'), join(dir, 'profiles'));
  t.equal(outside.file, join(dir, 'old.yml'), 'a file outside the working directory is shown absolute');
});

t.test('the profile is validated and defaults are filled in', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 2G }\npinning: { vcpus: "2-3" }\n' });
  const { profile } = load('vm.yaml', dir);
  t.equal(profile.memory.size, 2 * 2 ** 30);
  t.strictSame(profile.pinning?.vcpus, [2, 3]);
  t.equal(profile.qemu.binary, 'qemu-system-x86_64');
  t.strictSame(profile.firmware, { type: 'seabios' });
});

t.test('extends is looked up beside the extending file first', async (t) => {
  const dir = tree(t, {
    'vms/child.yaml': 'extends: base\nmemory: { size: 1G }\n',
    'vms/base.yaml': 'description: beside\n',
    'profiles/base.yaml': 'description: search path\n',
  });
  const loaded = load('vms/child.yaml', dir);
  t.equal(loaded.profile.description, 'beside');
  t.strictSame(loaded.files, ['vms/base.yaml', 'vms/child.yaml']);
});

t.test('then on the search path', async (t) => {
  const dir = tree(t, {
    'vms/child.yaml': 'extends: base\nmemory: { size: 1G }\n',
    'shared/base.yaml': 'description: from BOOT_VM_PROFILES\n',
  });
  t.equal(load('vms/child.yaml', dir, { ...ENV, BOOT_VM_PROFILES: 'shared' }).profile.description, 'from BOOT_VM_PROFILES');
});

t.test('an extends path is relative to the extending file', async (t) => {
  const dir = tree(t, { 'vms/child.yaml': 'extends: ../common/base.yaml\nmemory: { size: 1G }\n', 'common/base.yaml': 'description: by path\n' });
  t.equal(load('vms/child.yaml', dir).profile.description, 'by path');
});

t.test('extends nests, the nearest file winning', async (t) => {
  const dir = tree(t, {
    'profiles/a.yaml': 'extends: b\nmemory: { size: 1G }\ndescription: a\n',
    'profiles/b.yaml': 'extends: c\nvga: std\ndescription: b\n',
    'profiles/c.yaml': 'display: gtk\nvga: qxl\ndescription: c\n',
  });
  const loaded = load('a', dir);
  t.strictSame(loaded.files, ['profiles/c.yaml', 'profiles/b.yaml', 'profiles/a.yaml']);
  t.strictSame([loaded.profile.description, loaded.profile.vga, loaded.profile.display], ['a', 'std', 'gtk']);
  t.equal('extends' in loaded.profile, false, 'extends itself is not part of the profile');
});

const BASE = [
  'machine:',
  '  type: q35',
  '  vmport: true',
  'cpu:',
  '  hyperv: { relaxed: true, vapic: true }',
  '  flags: [invtsc, -hypervisor]',
  'pidfile: /run/base.pid',
  'passthrough:',
  '  - host: "01:00.0"',
  '  - host: "01:00.1"',
  '',
].join('\n');

const CHILD = [
  'extends: base',
  'machine:',
  '  accel: tcg',
  'cpu:',
  '  hyperv: { vapic: null, synic: true }',
  '  flags: [l3-cache=on]',
  'pidfile: null',
  'passthrough:',
  '  - host: "02:00.0"',
  'memory: { size: 2G }',
  '',
].join('\n');

t.test('merging: mappings merge deeply, lists replace, null removes a base key', async (t) => {
  const dir = tree(t, { 'profiles/base.yaml': BASE, 'profiles/child.yaml': CHILD });
  const { profile } = load('child', dir);
  t.strictSame(profile.machine, { type: 'q35', accel: 'tcg', vmport: true, dumpGuestCore: false });
  t.strictSame(profile.cpu.hyperv, { relaxed: true, synic: true });
  t.strictSame(profile.cpu.flags, ['l3-cache=on']);
  t.equal(profile.pidfile, undefined);
  t.strictSame(profile.passthrough, [{ host: '02:00.0', vga: false }]);
});

t.test('written() gives where each merged key was written, undefined when it was not', async (t) => {
  const dir = tree(t, { 'profiles/base.yaml': BASE, 'profiles/child.yaml': CHILD });
  const { written } = load('child', dir);
  t.strictSame(written('machine.type'), { file: 'profiles/base.yaml', line: 2, column: 9 }, 'inherited: the value in the base');
  t.strictSame(written('machine.accel'), { file: 'profiles/child.yaml', line: 3, column: 10 });
  t.strictSame(written('machine'), { file: 'profiles/child.yaml', line: 3, column: 3 }, 'a merged mapping: where the child wrote it');
  t.strictSame(written('cpu.hyperv.relaxed'), { file: 'profiles/base.yaml', line: 5, column: 22 });
  t.strictSame(written('passthrough[0].host'), { file: 'profiles/child.yaml', line: 9, column: 11 });
  t.strictSame(written('passthrough[0]'), { file: 'profiles/child.yaml', line: 9, column: 5 });
  t.equal(written('passthrough[1]'), undefined, 'a replaced list leaves no trace of the base items');
  t.equal(written('passthrough[1].host'), undefined);
  t.equal(written('cpu.flags[1]'), undefined);
  t.equal(written('cpu.hyperv.vapic'), undefined, 'removed by null');
  t.equal(written('pidfile'), undefined, 'removed by null');
  t.equal(written('qemu.binary'), undefined, 'a default');
  t.equal(written('machine.dumpGuestCore'), undefined, 'a default inside a written mapping');
});

t.test('locate() falls back to the closest written parent, then to the top of the file', async (t) => {
  const dir = tree(t, { 'profiles/base.yaml': BASE, 'profiles/child.yaml': CHILD });
  const { locate } = load('child', dir);
  t.strictSame(locate('machine.accel'), { file: 'profiles/child.yaml', line: 3, column: 10, key: 'machine.accel' }, 'written: its value');
  t.strictSame(locate('machine.dumpGuestCore'), { file: 'profiles/child.yaml', line: 2, column: 1, key: 'machine.dumpGuestCore' }, "the parent's key");
  t.strictSame(locate('passthrough[0].romfile'), { file: 'profiles/child.yaml', line: 9, column: 5, key: 'passthrough[0].romfile' }, 'a list item');
  t.strictSame(locate('passthrough[3].host'), { file: 'profiles/child.yaml', line: 8, column: 1, key: 'passthrough[3].host' });
  t.strictSame(locate('cpu.hyperv.stimer'), { file: 'profiles/child.yaml', line: 5, column: 3, key: 'cpu.hyperv.stimer' });
  t.strictSame(locate('qemu.binary'), { file: 'profiles/child.yaml', line: 1, column: 1, key: 'qemu.binary' }, 'nothing written: the top of the profile file');
});

t.test('an error in a base file points into the base, one in the child into the child', async (t) => {
  const dir = tree(t, {
    'profiles/base.yaml': 'description: base\nmachine:\n  accel: xen\n',
    'profiles/child.yaml': 'extends: base\nmemory: { size: 2G }\nvga: cirrus\n',
  });
  t.strictSame(errorLines(t, () => load('child', dir)), [
    'profiles/base.yaml:3:10: machine.accel: expected kvm or tcg',
    'profiles/child.yaml:3:6: vga: expected none, std, virtio or qxl',
  ]);
});

t.test('an unknown key in a base file points at the key in the base', async (t) => {
  const dir = tree(t, { 'profiles/base.yaml': 'power:\n  s5: false\n', 'profiles/child.yaml': 'extends: base\nmemory: { size: 2G }\n' });
  t.strictSame(errorLines(t, () => load('child', dir)), ['profiles/base.yaml:2:3: power.s5: unknown key; did you mean s3?']);
});

t.test('a cycle is an error at the extends that closes it, naming the chain', async (t) => {
  const dir = tree(t, { 'profiles/a.yaml': 'extends: b\nmemory: { size: 1G }\n', 'profiles/b.yaml': '# b\nextends: a.yaml\n' });
  t.strictSame(errorLines(t, () => load('a', dir)), ['profiles/b.yaml:2:10: extends: extends forms a cycle: profiles/a.yaml → profiles/b.yaml → profiles/a.yaml']);
});

t.test('a profile extending itself is a cycle', async (t) => {
  const dir = tree(t, { 'profiles/self.yaml': 'memory: { size: 1G }\nextends: self\n' });
  t.strictSame(errorLines(t, () => load('self', dir)), ['profiles/self.yaml:2:10: extends: extends forms a cycle: profiles/self.yaml → profiles/self.yaml']);
});

t.test('a base that cannot be found is an error at the extends key', async (t) => {
  const dir = tree(t, { 'profiles/child.yaml': 'memory: { size: 1G }\nextends: ghost\n' });
  t.strictSame(errorLines(t, () => load('child', dir)), [`profiles/child.yaml:2:10: extends: no profile named "ghost" (looked in ${dir}/profiles, /etc/boot-vm/profiles)`]);
});

t.test('extends must name a profile', async (t) => {
  const dir = tree(t, { 'a.yaml': 'extends: [base]\nmemory: { size: 1G }\n', 'b.yaml': 'memory: { size: 1G }\nextends: ""\n' });
  t.strictSame(errorLines(t, () => load('a.yaml', dir)), ['a.yaml:1:10: extends: expected the name or .yaml path of a base profile']);
  t.strictSame(errorLines(t, () => load('b.yaml', dir)), ['b.yaml:2:10: extends: expected the name or .yaml path of a base profile']);
});

t.test('extends: null is no base at all', async (t) => {
  const dir = tree(t, { 'a.yaml': 'extends: null\nmemory: { size: 1G }\n' });
  t.strictSame(load('a.yaml', dir).files, ['a.yaml']);
});

t.test('YAML errors are located', async (t) => {
  const dir = tree(t, {
    'duplicate.yaml': 'memory: { size: 1G }\nvga: std\nvga: qxl\n',
    'indent.yaml': 'memory:\n  size: 1G\n lock: true\n',
    'documents.yaml': 'memory: { size: 1G }\n---\nvga: std\n',
    'empty.yaml': '',
    'comments.yaml': '# nothing but a comment\n',
    'list.yaml': '# a list, not a mapping\n- memory: { size: 1G }\n',
    'scalar.yaml': '\n\n  just words\n',
  });
  t.strictSame(errorLines(t, () => load('duplicate.yaml', dir)), ['duplicate.yaml:3:1: invalid YAML: Map keys must be unique']);
  t.strictSame(errorLines(t, () => load('indent.yaml', dir)), ['indent.yaml:3:1: invalid YAML: All mapping items must start at the same column']);
  t.strictSame(errorLines(t, () => load('documents.yaml', dir)), ['documents.yaml:2:1: invalid YAML: Source contains multiple documents; please use YAML.parseAllDocuments()']);
  t.strictSame(errorLines(t, () => load('empty.yaml', dir)), ['empty.yaml:1:1: the profile is empty']);
  t.strictSame(errorLines(t, () => load('comments.yaml', dir)), ['comments.yaml:1:1: the profile is empty']);
  t.strictSame(errorLines(t, () => load('list.yaml', dir)), ['list.yaml:2:1: expected a mapping of profile keys at the top level']);
  t.strictSame(errorLines(t, () => load('scalar.yaml', dir)), ['scalar.yaml:3:3: expected a mapping of profile keys at the top level']);
});

t.test('every YAML error in a file is reported', async (t) => {
  const dir = tree(t, { 'two.yaml': 'vga: std\nvga: qxl\nmemory: { size: 1G }\nmemory: { size: 2G }\n' });
  t.strictSame(errorLines(t, () => load('two.yaml', dir)), ['two.yaml:2:1: invalid YAML: Map keys must be unique', 'two.yaml:4:1: invalid YAML: Map keys must be unique']);
});

t.test('an unresolved alias is invalid YAML', async (t) => {
  const dir = tree(t, { 'alias.yaml': 'memory:\n  size: 1G\nvga: *missing\n' });
  const lines = errorLines(t, () => load('alias.yaml', dir));
  t.equal(lines.length, 1);
  t.match(lines[0], /^alias\.yaml:\d+:\d+: invalid YAML: Unresolved alias \(the anchor must be set before the alias\): missing$/);
});

t.test('an unresolved alias is located at the alias', async (t) => {
  const dir = tree(t, { 'alias.yaml': 'memory:\n  size: 1G\nvga: *missing\n' });
  t.strictSame(errorLines(t, () => load('alias.yaml', dir)), ['alias.yaml:3:6: invalid YAML: Unresolved alias (the anchor must be set before the alias): missing']);
});

t.test('a file that cannot be read', async (t) => {
  const dir = tree(t, {});
  mkdirSync(join(dir, 'dir.yaml'));
  t.strictSame(errorLines(t, () => load('dir.yaml', dir)), ['dir.yaml: cannot read the profile: EISDIR: illegal operation on a directory, read']);
});

t.test('an unknown key suggests the known key it resembles', async (t) => {
  const dir = tree(t, {
    'vm.yaml': ['memory: { size: 1G }', 'machine:', '  dump_guest_core: true', 'firmware: { type: ovmf, secure_boot: true }', 'cpu: { hyperv: { vendor_id: abc } }', 'memroy: {}', ''].join('\n'),
  });
  t.strictSame(errorLines(t, () => load('vm.yaml', dir)), [
    'vm.yaml:3:3: machine.dump_guest_core: unknown key; did you mean dumpGuestCore?',
    'vm.yaml:4:25: firmware.secure_boot: unknown key; did you mean secureBoot?',
    'vm.yaml:5:18: cpu.hyperv.vendor_id: unknown key; did you mean vendorId?',
    'vm.yaml:6:1: memroy: unknown key; did you mean memory?',
  ]);
});

t.test('an unknown key far from any known one lists the known keys', async (t) => {
  const dir = tree(t, {
    'vm.yaml': ['memory: { size: 1G }', 'power: { hibernate: true }', 'passthrough: [{ host: "01:00.0", rom: /x.rom }]', 'network: [{ user: { net: 10.0.0.0/8 } }]', ''].join('\n'),
  });
  t.strictSame(errorLines(t, () => load('vm.yaml', dir)), [
    'vm.yaml:2:10: power.hibernate: unknown key; known keys: s3, s4',
    'vm.yaml:3:34: passthrough[0].rom: unknown key; known keys: host, vga, romfile, rombar, subsystemVendor, subsystemDevice',
    'vm.yaml:4:21: network[0].user.net: unknown key',
  ]);
});

t.test('a missing required key is located at its closest written parent', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'vga: std\nmemory:\n  hugepages: 2M\n', 'none.yaml': 'vga: std\n' });
  t.strictSame(errorLines(t, () => load('vm.yaml', dir)), ['vm.yaml:2:1: memory.size: required key is missing']);
  t.strictSame(errorLines(t, () => load('none.yaml', dir)), ['none.yaml:1:1: memory: required key is missing']);
});

t.test('every problem is reported, in file order', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'vga: cirrus\nmachine: { accel: xen }\nmemory: { size: 8G, hugepages: 4M }\ndisks: [{ path: relative.img }]\n' });
  const lines = errorLines(t, () => load('vm.yaml', dir));
  t.strictSame(lines, [
    'vm.yaml:1:6: vga: expected none, std, virtio or qxl',
    'vm.yaml:2:19: machine.accel: expected kvm or tcg',
    'vm.yaml:3:32: memory.hugepages: expected 2M, 1G or false',
    'vm.yaml:4:17: disks[0].path: expected an absolute path',
  ]);
  try {
    load('vm.yaml', dir);
  } catch (error) {
    t.type(error, ProfileError);
  }
});

t.test('a reversed CPU range in a profile is an error', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 1G }\npinning: { vcpus: "3-1" }\n' });
  t.strictSame(errorLines(t, () => load('vm.yaml', dir)), ['vm.yaml:2:19: pinning.vcpus: expected a CPU list like [2, 3] or "2-3,6", or auto']);
});

t.test('null for a nested key with nothing underneath means unset, as it does at the top level', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 1G, path: null }\npidfile: null\n' });
  const { profile } = load('vm.yaml', dir);
  t.equal(profile.memory.path, undefined);
  t.equal(profile.pidfile, undefined);
});

t.test('a malformed value is reported once, with what was expected', async (t) => {
  const dir = tree(t, { 'size.yaml': 'memory: { size: lots }\n', 'sockets.yaml': 'memory: { size: 1G }\ncpu: { sockets: 0.5 }\n' });
  t.strictSame(errorLines(t, () => load('size.yaml', dir)), ['size.yaml:1:17: memory.size: expected a size like 8G']);
  t.strictSame(errorLines(t, () => load('sockets.yaml', dir)), ['sockets.yaml:2:17: cpu.sockets: expected a number of sockets from 1 to 64']);
});
