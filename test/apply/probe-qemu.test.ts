import { mkdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { detectQemuVersion, findExecutable } from '../../lib/apply/probe-qemu.js';
import { tree, writeScript } from '../fixtures/trees.js';

const VERSION_OUTPUT = 'echo "QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)"\necho "Copyright (c) 2003-2023 Fabrice Bellard and the QEMU Project developers"';

/** A directory with a fake QEMU that counts its runs in `runs`, and a private cache. */
function fakeQemu(t: Parameters<typeof tree>[0], output = VERSION_OUTPUT) {
  const dir = tree(t, { runs: '' });
  const binary = writeScript(dir, 'qemu-system-x86_64', `echo run >> '${dir}/runs'\n${output}`);
  const env = { PATH: '', HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache') };
  return {
    dir,
    binary,
    env,
    cacheFile: join(dir, 'cache/boot-vm/qemu-versions.json'),
    runs: () => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length,
  };
}

const cacheKey = (file: string) => {
  const real = realpathSync(file);
  const stat = statSync(real);
  return `${real}:${stat.size}:${stat.mtimeMs}:${stat.ino}`;
};

t.test('findExecutable searches PATH in order for a bare name', async (t) => {
  const dir = tree(t, {});
  for (const sub of ['a', 'b', 'c', 'd/qemu']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'a/qemu'), 'not executable');
  const inB = writeScript(join(dir, 'b'), 'qemu', 'true');
  writeScript(join(dir, 'c'), 'qemu', 'true');
  t.equal(findExecutable('qemu', { PATH: `${dir}/d::${dir}/a:${dir}/b:${dir}/c` }), inB, 'skips a directory, an empty entry and a file without x');
  t.equal(findExecutable('qemu', { PATH: `${dir}/a` }), undefined);
  t.equal(findExecutable('qemu', { PATH: '' }), undefined);
  t.equal(findExecutable('qemu', {}), undefined, 'no PATH at all');
});

t.test('findExecutable takes a name with a slash as a path, ignoring PATH', async (t) => {
  const dir = tree(t, { 'plain': '' });
  const script = writeScript(dir, 'qemu', 'true');
  t.equal(findExecutable(script, { PATH: '' }), script);
  t.equal(findExecutable(`${dir}/missing`, { PATH: dir }), undefined);
  t.equal(findExecutable(`${dir}/plain`, { PATH: '' }), undefined, 'not executable');
  t.equal(findExecutable('qemu', { PATH: '' }), undefined, 'a bare name is not looked up in the working directory');
});

t.test('detectQemuVersion runs <binary> --version and reads the version', async (t) => {
  const fake = fakeQemu(t);
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 8, minor: 2 }, path: fake.binary });
  t.strictSame(detectQemuVersion('qemu-system-x86_64', { ...fake.env, PATH: `/nonexistent:${fake.dir}` }), { version: { major: 8, minor: 2 }, path: fake.binary }, 'found on PATH');
});

t.test('the answer is cached per binary and the cache is used', async (t) => {
  const fake = fakeQemu(t);
  detectQemuVersion(fake.binary, fake.env);
  t.equal(fake.runs(), 1);
  t.strictSame(JSON.parse(readFileSync(fake.cacheFile, 'utf8')), { [cacheKey(fake.binary)]: '8.2' });
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 8, minor: 2 }, path: fake.binary });
  t.equal(fake.runs(), 1, 'the second call did not run the binary');
});

t.test('a cached answer is believed without running the binary', async (t) => {
  const fake = fakeQemu(t);
  mkdirSync(join(fake.dir, 'cache/boot-vm'), { recursive: true });
  writeFileSync(fake.cacheFile, JSON.stringify({ [cacheKey(fake.binary)]: '6.1' }));
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 6, minor: 1 }, path: fake.binary });
  t.equal(fake.runs(), 0);
});

t.test('a changed binary runs again and its stale entry is dropped, others kept', async (t) => {
  const fake = fakeQemu(t);
  mkdirSync(join(fake.dir, 'cache/boot-vm'), { recursive: true });
  writeFileSync(fake.cacheFile, JSON.stringify({ '/usr/bin/qemu-system-x86_64:100:5:7': '7.2' }));
  detectQemuVersion(fake.binary, fake.env);
  const before = cacheKey(fake.binary);
  writeScript(fake.dir, 'qemu-system-x86_64', `echo run >> '${fake.dir}/runs'\necho "QEMU emulator version 9.0.50 (v9.0.0-1234-gdeadbeef)"`);
  t.not(cacheKey(fake.binary), before, 'the key changes with the binary');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 9, minor: 0 }, path: fake.binary });
  t.equal(fake.runs(), 2);
  t.strictSame(JSON.parse(readFileSync(fake.cacheFile, 'utf8')), { '/usr/bin/qemu-system-x86_64:100:5:7': '7.2', [cacheKey(fake.binary)]: '9.0' });
});

t.test('the cache is keyed by the real path behind a symlink', async (t) => {
  const fake = fakeQemu(t);
  const link = join(fake.dir, 'qemu-link');
  symlinkSync(fake.binary, link);
  t.strictSame(detectQemuVersion(link, fake.env), { version: { major: 8, minor: 2 }, path: link }, 'the path found is reported');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 8, minor: 2 }, path: fake.binary });
  t.equal(fake.runs(), 1, 'both names share one entry');
});

t.test('without XDG_CACHE_HOME the cache lives in $HOME/.cache', async (t) => {
  const fake = fakeQemu(t);
  detectQemuVersion(fake.binary, { PATH: '', HOME: fake.env.HOME });
  t.strictSame(JSON.parse(readFileSync(join(fake.env.HOME, '.cache/boot-vm/qemu-versions.json'), 'utf8')), { [cacheKey(fake.binary)]: '8.2' });
});

t.test('an unwritable cache only costs a run', async (t) => {
  const fake = fakeQemu(t);
  writeFileSync(join(fake.dir, 'cache'), 'a file where the cache directory should be');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 8, minor: 2 }, path: fake.binary });
  detectQemuVersion(fake.binary, fake.env);
  t.equal(fake.runs(), 2);
});

t.test('a garbled cache file is ignored and rewritten', async (t) => {
  const fake = fakeQemu(t);
  mkdirSync(join(fake.dir, 'cache/boot-vm'), { recursive: true });
  writeFileSync(fake.cacheFile, '{"truncated": ');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 8, minor: 2 }, path: fake.binary });
  t.strictSame(JSON.parse(readFileSync(fake.cacheFile, 'utf8')), { [cacheKey(fake.binary)]: '8.2' });
});

t.test('a cache file holding JSON null is ignored too', async (t) => {
  const fake = fakeQemu(t);
  mkdirSync(join(fake.dir, 'cache/boot-vm'), { recursive: true });
  writeFileSync(fake.cacheFile, 'null\n');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { version: { major: 8, minor: 2 }, path: fake.binary });
});

t.test('a missing binary is a problem, not an exception', async (t) => {
  t.strictSame(detectQemuVersion('qemu-system-x86_64', { PATH: '', HOME: '/nonexistent' }), { problem: 'qemu-system-x86_64 was not found on PATH' });
  t.strictSame(detectQemuVersion('/nonexistent/qemu', { PATH: '', HOME: '/nonexistent' }), { problem: '/nonexistent/qemu was not found' });
});

t.test('a binary whose --version fails is a problem', async (t) => {
  const fake = fakeQemu(t, 'echo "broken" >&2\nexit 3');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { problem: `${fake.binary} --version failed: Command failed: ${fake.binary} --version` });
});

t.test('output without a version is a problem, and is not cached', async (t) => {
  const fake = fakeQemu(t, 'echo "Usage: qemu [options]"\necho "second line"');
  t.strictSame(detectQemuVersion(fake.binary, fake.env), { problem: `cannot read a version from ${fake.binary} --version: Usage: qemu [options]` });
  detectQemuVersion(fake.binary, fake.env);
  t.equal(fake.runs(), 2);
});
