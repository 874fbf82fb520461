// nodeHostIo on a temporary tree: read, one-write writes, links, mkdir/rmdir/remove, the atomic
// `replace` (parents made, no temporary file left, old file replaced, mode 0600), the exclusive
// `createExclusive` (an existing file kept, nothing left beside it) and describeError.
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { describeError, nodeHostIo } from '../../lib/apply/host-io.js';
import { tree } from '../fixtures/trees.js';

t.test('read and write whole files', async (t) => {
  const dir = tree(t, { 'value': 'old text that is longer\n' });
  t.equal(nodeHostIo.read(join(dir, 'value')), 'old text that is longer\n');
  nodeHostIo.write(join(dir, 'value'), 'new\n');
  t.equal(readFileSync(join(dir, 'value'), 'utf8'), 'new\n', 'truncates before writing');
  t.throws(() => nodeHostIo.read(join(dir, 'missing')), { code: 'ENOENT' });
  t.throws(() => nodeHostIo.write(join(dir, 'no/such/dir/file'), 'x'), { code: 'ENOENT' });
});

t.test('readLink and exists', async (t) => {
  const dir = tree(t, { 'drivers/vfio-pci/bind': '' });
  symlinkSync('../../drivers/vfio-pci', join(dir, 'driver'));
  t.equal(nodeHostIo.readLink(join(dir, 'driver')), '../../drivers/vfio-pci', 'the target as written');
  t.equal(nodeHostIo.readLink(join(dir, 'drivers/vfio-pci/bind')), undefined, 'a plain file');
  t.equal(nodeHostIo.readLink(join(dir, 'missing')), undefined);
  t.equal(nodeHostIo.exists(join(dir, 'drivers/vfio-pci')), true);
  t.equal(nodeHostIo.exists(join(dir, 'missing')), false);
});

t.test('mkdir makes parents, rmdir only an empty directory, remove tolerates a missing file', async (t) => {
  const dir = tree(t, {});
  nodeHostIo.mkdir(join(dir, 'a/b/c'));
  t.ok(statSync(join(dir, 'a/b/c')).isDirectory());
  nodeHostIo.mkdir(join(dir, 'a/b/c'));
  t.pass('mkdir of an existing directory is no error');
  t.throws(() => nodeHostIo.rmdir(join(dir, 'a/b')), { code: 'ENOTEMPTY' });
  nodeHostIo.rmdir(join(dir, 'a/b/c'));
  t.equal(nodeHostIo.exists(join(dir, 'a/b/c')), false);
  writeFileSync(join(dir, 'a/file'), 'x');
  nodeHostIo.remove(join(dir, 'a/file'));
  t.equal(nodeHostIo.exists(join(dir, 'a/file')), false);
  t.doesNotThrow(() => nodeHostIo.remove(join(dir, 'a/file')), 'removing it again');
});

t.test('replace writes a new file, making its directories, and leaves no temporary file', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, 'run/boot-vm/vm.journal');
  nodeHostIo.replace(file, '{"a":1}\n');
  t.equal(readFileSync(file, 'utf8'), '{"a":1}\n');
  t.strictSame(readdirSync(join(dir, 'run/boot-vm')), ['vm.journal']);
  t.equal(statSync(file).mode & 0o777, 0o600, 'only root reads the journal');
});

t.test('replace swaps an existing file for a new inode with the whole new text', async (t) => {
  const dir = tree(t, { 'vm.journal': 'a much longer old text than the new one\n' });
  const file = join(dir, 'vm.journal');
  const before = statSync(file).ino;
  nodeHostIo.replace(file, 'new\n');
  t.equal(readFileSync(file, 'utf8'), 'new\n');
  t.not(statSync(file).ino, before, 'renamed over, not rewritten in place');
  t.strictSame(readdirSync(dir), ['vm.journal']);
});

t.test('replace fails when the place is a directory, and says so', async (t) => {
  const dir = tree(t, {});
  mkdirSync(join(dir, 'taken/inner'), { recursive: true });
  t.throws(() => nodeHostIo.replace(join(dir, 'taken'), 'x'), { code: 'EISDIR' });
  t.strictSame(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'the temporary file is not left behind');
});

t.test('createExclusive creates a whole file once; an existing one is kept', async (t) => {
  const dir = tree(t, {});
  const file = join(dir, '0000:01:00.0');
  t.equal(nodeHostIo.createExclusive(file, '{"vm":"a"}\n'), true);
  t.equal(readFileSync(file, 'utf8'), '{"vm":"a"}\n');
  t.equal(statSync(file).mode & 0o777, 0o644, 'readable by status commands');
  t.equal(nodeHostIo.createExclusive(file, '{"vm":"b"}\n'), false);
  t.equal(readFileSync(file, 'utf8'), '{"vm":"a"}\n', 'the first one stays');
  t.strictSame(readdirSync(dir), ['0000:01:00.0'], 'no temporary file left');
  t.throws(() => nodeHostIo.createExclusive(join(dir, 'missing/file'), 'x'), { code: 'ENOENT' }, 'the directory must exist');
});

t.test('describeError keeps the kernel answer without Node wording', async (t) => {
  const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
  t.equal(describeError(eio), 'EIO (i/o error)');
  const busy = Object.assign(new Error('EBUSY: resource busy or locked, open \'/sys/x\''), { code: 'EBUSY' });
  t.equal(describeError(busy), 'EBUSY (resource busy or locked)');
  t.equal(describeError(Object.assign(new Error('something else'), { code: 'EPERM' })), 'EPERM', 'a message in another form: the code alone');
  t.equal(describeError(new Error('plain')), 'plain');
  t.equal(describeError('a string'), 'a string');
  t.equal(describeError(42), '42');
  try {
    nodeHostIo.read('/nonexistent-boot-vm-test/file');
    t.fail('read should fail');
  } catch (error) {
    t.equal(describeError(error), 'ENOENT (no such file or directory)', 'a real error from fs');
  }
});

t.test('fileKind: a file, a directory, a character device (links followed), or nothing', async (t) => {
  const dir = tree(t, { 'shm/file': '' });
  symlinkSync('/dev/null', join(dir, 'null'));
  t.strictSame(['shm/file', 'shm', 'null', 'missing'].map((path) => nodeHostIo.fileKind(join(dir, path))), ['file', 'directory', 'char-device', undefined]);
});
