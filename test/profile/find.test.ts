import { join } from 'node:path';
import t from 'tap';
import { ProfileError, UsageError } from '../../lib/errors.js';
import { extendsSearchPath, findProfile, listProfiles, profileSearchPath, vmNameOf } from '../../lib/profile/find.js';
import { loadProfile } from '../../lib/profile/load.js';
import { errorLines, tree } from '../fixtures/trees.js';

t.test('the search path: ./profiles, then $BOOT_VM_PROFILES, then /etc/boot-vm/profiles', async (t) => {
  t.strictSame(profileSearchPath('/home/u/vms', {}), ['/home/u/vms/profiles', '/etc/boot-vm/profiles']);
  t.strictSame(profileSearchPath('/home/u/vms', { BOOT_VM_PROFILES: '/srv/a::rel/b:../c' }), [
    '/home/u/vms/profiles',
    '/srv/a',
    '/home/u/vms/rel/b',
    '/home/u/c',
    '/etc/boot-vm/profiles',
  ], 'colon-separated, empty entries dropped, relative ones resolved against the working directory');
});

t.test('a name is looked up in each directory in turn', async (t) => {
  const dir = tree(t, { 'one/both.yaml': '', 'two/both.yaml': '', 'two/second.yaml': '' });
  const dirs = [join(dir, 'one'), join(dir, 'two')];
  t.equal(findProfile('both', dirs, dir, {}), join(dir, 'one/both.yaml'), 'the first directory wins');
  t.equal(findProfile('second', dirs, dir, {}), join(dir, 'two/second.yaml'));
});

t.test('.yaml before .yml, but a .yml in an earlier directory before a .yaml in a later one', async (t) => {
  const dir = tree(t, { 'one/vm.yaml': '', 'one/vm.yml': '', 'one/old.yml': '', 'two/old.yaml': '' });
  const dirs = [join(dir, 'one'), join(dir, 'two')];
  t.equal(findProfile('vm', dirs, dir, {}), join(dir, 'one/vm.yaml'));
  t.equal(findProfile('old', dirs, dir, {}), join(dir, 'one/old.yml'));
});

t.test('the search path in use: ./profiles before $BOOT_VM_PROFILES', async (t) => {
  const dir = tree(t, { 'profiles/vm.yaml': '', 'extra/vm.yaml': '', 'extra/only-extra.yaml': '' });
  const dirs = profileSearchPath(dir, { BOOT_VM_PROFILES: 'extra' });
  t.equal(findProfile('vm', dirs, dir, {}), join(dir, 'profiles/vm.yaml'));
  t.equal(findProfile('only-extra', dirs, dir, {}), join(dir, 'extra/only-extra.yaml'));
});

t.test('a reference ending in .yaml or .yml is a path, relative to the given directory', async (t) => {
  const dir = tree(t, { 'sub/vm.yaml': '', 'sub/vm.yml': '', 'profiles/sub/vm.yaml': '' });
  t.equal(findProfile('sub/vm.yaml', [join(dir, 'profiles')], dir, {}), join(dir, 'sub/vm.yaml'), 'not looked up in the directories');
  t.equal(findProfile('vm.yml', [], join(dir, 'sub'), {}), join(dir, 'sub/vm.yml'));
  t.equal(findProfile(join(dir, 'sub/vm.yaml'), [], '/nonexistent', {}), join(dir, 'sub/vm.yaml'), 'an absolute path');
});

t.test('a missing path names the reference as written', async (t) => {
  const dir = tree(t, {});
  t.strictSame(errorLines(t, () => findProfile('nope/vm.yaml', [], dir, {})), ['profile file nope/vm.yaml does not exist']);
});

t.test('a reference that is neither a name nor a .yaml path', async (t) => {
  for (const reference of ['sub/vm', '-vm', '.hidden', 'my vm', '']) {
    t.strictSame(errorLines(t, () => findProfile(reference, ['/nonexistent'], '/', {})), [`"${reference}" is neither a profile name (letters, digits, . _ -) nor a path ending in .yaml`], JSON.stringify(reference));
  }
});

t.test('an unknown name says where it looked, in order', async (t) => {
  const dir = tree(t, {});
  const dirs = profileSearchPath(dir, { BOOT_VM_PROFILES: '/srv/vms' });
  t.strictSame(errorLines(t, () => findProfile('ghost', dirs, dir, {})), [`no profile named "ghost" (looked in ${dir}/profiles, /srv/vms, /etc/boot-vm/profiles)`]);
});

t.test('the error is located where the reference was written', async (t) => {
  const where = { file: 'profiles/child.yaml', line: 3, column: 10, key: 'extends' };
  try {
    findProfile('ghost', [], '/', where);
    t.fail('expected a ProfileError');
  } catch (error) {
    t.type(error, ProfileError);
  }
  t.strictSame(errorLines(t, () => findProfile('ghost', [], '/', where)), ['profiles/child.yaml:3:10: extends: no profile named "ghost" (looked in )']);
});

t.test('extends looks beside the extending file first, without repeating that directory', async (t) => {
  t.strictSame(extendsSearchPath('/srv/vms/child.yaml', ['/home/u/profiles', '/srv/vms', '/etc/boot-vm/profiles']), ['/srv/vms', '/home/u/profiles', '/etc/boot-vm/profiles']);
  t.strictSame(extendsSearchPath('/srv/vms/child.yaml', ['/srv/vms/']), ['/srv/vms'], 'the same directory written with a trailing slash');
});

t.test('vmNameOf: the VM a name or a path stands for, without reading the profile', async (t) => {
  t.equal(vmNameOf('gaming'), 'gaming');
  t.equal(vmNameOf('win11.v2'), 'win11.v2');
  t.equal(vmNameOf('/srv/vms/gaming.yaml'), 'gaming', 'an absolute path');
  t.equal(vmNameOf('../old/mediapc.yml'), 'mediapc', 'a relative .yml path');
  t.equal(vmNameOf('/nonexistent/gone.yaml'), 'gone', 'the file need not exist any more');
  for (const reference of ['sub/vm', '-vm', '.hidden', 'my vm', '']) {
    t.strictSame(errorLines(t, () => vmNameOf(reference)), [`"${reference}" is neither a profile name (letters, digits, . _ -) nor a path ending in .yaml`], JSON.stringify(reference));
  }
  t.throws(() => vmNameOf('a/b'), UsageError);
});

t.test('vmNameOf of a path is the name loadProfile gives the VM', async (t) => {
  const dir = tree(t, { 'elsewhere/my-vm.yml': 'memory: { size: 2G }\n' });
  t.equal(vmNameOf(join(dir, 'elsewhere/my-vm.yml')), loadProfile(join(dir, 'elsewhere/my-vm.yml'), { cwd: dir, env: {} }).name);
});

t.test('listProfiles: each name once, the first on the search path, missing directories skipped', async (t) => {
  const dir = tree(t, { 'a/win.yaml': '', 'a/linux.yml': '', 'a/notes.txt': '', 'b/win.yaml': '', 'b/htpc.yaml': '' });
  t.strictSame(listProfiles([join(dir, 'a'), join(dir, 'missing'), join(dir, 'b')]), [
    { name: 'linux', file: join(dir, 'a/linux.yml') },
    { name: 'win', file: join(dir, 'a/win.yaml') },
    { name: 'htpc', file: join(dir, 'b/htpc.yaml') },
  ]);
});
