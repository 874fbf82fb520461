import t from 'tap';
import { readGroup, readPrimaryGroupOf, readUser } from '../../lib/host/users.js';
import { sysrootOf } from '../fixtures/trees.js';

const PASSWD = ['root:x:0:0:root:/root:/bin/bash', '# a comment', '', 'libvirt-qemu:x:64055:108:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin', 'broken:x::', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'].join('\n') + '\n';

t.test('a user and its primary group, from /etc/passwd', async (t) => {
  const sysroot = sysrootOf(t, { 'etc/passwd': PASSWD });
  t.strictSame(readUser(sysroot, 'libvirt-qemu'), { uid: 64055, gid: 108 });
  t.strictSame(readUser(sysroot, 'nobody'), { uid: 65534, gid: 65534 });
  t.strictSame(readUser(sysroot, 'root'), { uid: 0, gid: 0 });
});

t.test('no such user, a line without ids, or no /etc/passwd: none', async (t) => {
  t.equal(readUser(sysrootOf(t, { 'etc/passwd': PASSWD }), 'qemu'), undefined);
  t.equal(readUser(sysrootOf(t, { 'etc/passwd': PASSWD }), 'broken'), undefined);
  t.equal(readUser(sysrootOf(t, { 'etc/passwd': PASSWD }), 'libvirt'), undefined, 'a prefix of a name is not the name');
  t.equal(readUser(sysrootOf(t, {}), 'root'), undefined);
});

t.test("a group's id from /etc/group, and a uid's primary group from /etc/passwd", async (t) => {
  const sysroot = sysrootOf(t, { 'etc/passwd': PASSWD, 'etc/group': 'root:x:0:\n# a comment\nkvm:x:992:alice\nbroken:x::\n' });
  t.equal(readGroup(sysroot, 'kvm'), 992);
  t.equal(readGroup(sysroot, 'root'), 0);
  t.equal(readGroup(sysroot, 'broken'), undefined, 'a line without an id');
  t.equal(readGroup(sysroot, 'kv'), undefined, 'a prefix of a name is not the name');
  t.equal(readGroup(sysrootOf(t, {}), 'kvm'), undefined, 'no /etc/group');
  t.equal(readPrimaryGroupOf(sysroot, 64055), 108);
  t.equal(readPrimaryGroupOf(sysroot, 0), 0);
  t.equal(readPrimaryGroupOf(sysroot, 1234), undefined);
});
