import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ProfileError } from '../../lib/errors.js';
import { profileCacheDir, readProfileFile } from '../../lib/profile/parse-cache.js';
import { parseYaml } from '../../lib/profile/parse-yaml.js';
import { FIXTURES, REPO, writeTree } from '../fixtures/helpers.js';

const setup = (text = 'memory: { size: 8G }\ncpu:\n  cores: 2\n') => {
  const dir = writeTree({ 'x.yaml': text });
  const env = { XDG_CACHE_HOME: join(dir, 'cache') };
  return { dir, env, file: join(dir, 'x.yaml'), entries: () => (existsSync(profileCacheDir(env)) ? readdirSync(profileCacheDir(env)) : []) };
};

t.test('a parse is cached and read back exactly', async (t) => {
  const { env, file, entries } = setup();
  const fresh = readProfileFile(file, 'x.yaml', env);
  t.strictSame(fresh, parseYaml('memory: { size: 8G }\ncpu:\n  cores: 2\n', 'x.yaml'));
  t.equal(entries().length, 1, 'one cache file');
  t.strictSame(readProfileFile(file, 'x.yaml', env), fresh, 'the cached parse equals the fresh one');
  t.strictSame(fresh.origins['cpu.cores'], { key: { line: 3, column: 3 }, value: { line: 3, column: 10 } });
});

t.test('an edited file is parsed again', async (t) => {
  const { env, file } = setup();
  readProfileFile(file, 'x.yaml', env);
  writeFileSync(file, 'memory: { size: 16G }\n');
  t.strictSame(readProfileFile(file, 'x.yaml', env).data, { memory: { size: '16G' } });
});

t.test('a damaged cache entry is ignored and replaced', async (t) => {
  const { env, file, entries } = setup();
  readProfileFile(file, 'x.yaml', env);
  writeFileSync(join(profileCacheDir(env), entries()[0]!), '{"key": "x", "parsed": nu');
  t.strictSame(readProfileFile(file, 'x.yaml', env).data, { memory: { size: '8G' }, cpu: { cores: 2 } });
  t.strictSame(readProfileFile(file, 'x.yaml', env).data, { memory: { size: '8G' }, cpu: { cores: 2 } });
});

t.test('a cache that cannot be written only costs time', async (t) => {
  const { dir, file } = setup();
  writeFileSync(join(dir, 'not-a-dir'), '');
  t.strictSame(readProfileFile(file, 'x.yaml', { XDG_CACHE_HOME: join(dir, 'not-a-dir') }).data, { memory: { size: '8G' }, cpu: { cores: 2 } });
});

t.test('values JSON would change (.inf, -0) are not cached', async (t) => {
  const { env, file, entries } = setup('memory: { size: .inf }\ncpu: { cores: -0 }\n');
  t.strictSame(readProfileFile(file, 'x.yaml', env).data, { memory: { size: Infinity }, cpu: { cores: -0 } });
  t.strictSame(entries(), []);
});

t.test('YAML errors are not cached: they are reported every time', async (t) => {
  const { env, file, entries } = setup('memory: { size: 8G\n');
  for (let i = 0; i < 2; i++) t.throws(() => readProfileFile(file, 'x.yaml', env), ProfileError);
  t.strictSame(entries(), []);
});

t.test('an unreadable file is a profile error', async (t) => {
  const { dir, env } = setup();
  t.throws(() => readProfileFile(join(dir, 'gone.yaml'), 'gone.yaml', env), { message: /^gone\.yaml: cannot read the profile: ENOENT/ });
  if (process.getuid?.() !== 0) {
    chmodSync(join(dir, 'x.yaml'), 0);
    t.throws(() => readProfileFile(join(dir, 'x.yaml'), 'x.yaml', env), ProfileError);
  }
});

t.test('a dry-run with the profile cached does not load the yaml package', async (t) => {
  const dir = writeTree({});
  const env = { PATH: '', HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') };
  const run = () =>
    spawnSync(process.execPath, ['--import', join(FIXTURES, 'report-yaml-loaded.mjs'), join(REPO, 'boot-vm.mjs'), 'mediapc', '-n', '--qemu-version', '7.2'], { cwd: REPO, env, encoding: 'utf8' });
  const first = run();
  t.equal(first.status, 0, first.stderr);
  t.match(first.stderr, /^yaml-loaded true$/m, 'the first run parses');
  const second = run();
  t.equal(second.stdout, first.stdout, 'the same plan');
  t.match(second.stderr, /^yaml-loaded false$/m, 'the second reads both files from the cache');
});
