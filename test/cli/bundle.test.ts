// The dry-run's startup: the CLI bundles import execa and zx only dynamically (when a launch runs
// something), and a dry-run never resolves them.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { hostRoot, REPO, writeTree } from '../fixtures/helpers.js';

for (const name of ['boot-vm', 'prepare-host', 'teardown']) {
  t.test(`dist/cli/${name}.bundle.js imports execa and zx only on demand`, async (t) => {
    const bundle = readFileSync(join(REPO, 'dist/cli', `${name}.bundle.js`), 'utf8');
    t.notMatch(bundle, /^import .* from ["'](execa|zx)["'];?$/m, 'no static import');
    if (name !== 'teardown') t.match(bundle, /import\(["']execa["']\)/, 'a dynamic one, for when something runs');
  });
}

// A module hook that makes resolving execa or zx fail: a dry-run that touched them would fail.
const HOOKS = `export async function resolve(specifier, context, next) {
  if (specifier === 'execa' || specifier === 'zx') throw new Error('resolved ' + specifier);
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

t.test('a dry-run resolves neither execa nor zx', async (t) => {
  const run = (script: string, args: string[]) =>
    spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, join(REPO, script), ...args], { cwd: REPO, encoding: 'utf8', env: { PATH: '', HOME: '/nonexistent' } });
  const dryRun = run('boot-vm.mjs', ['mediapc', '--dry-run', '--sysroot', hostRoot('z77-i5-2500'), '--qemu-version', '7.2']);
  t.equal(dryRun.status, 0, dryRun.stderr);
  const hooked = join(writeTree({ 'vm.yaml': `memory: { size: 1G }\nhooks: ${join(REPO, 'test/fixtures/hooks.mjs')}\n` }), 'vm.yaml');
  const withHooks = run('boot-vm.mjs', [hooked, '--dry-run', '--sysroot', hostRoot('lab'), '--qemu-version', '7.2']);
  t.equal(withHooks.status, 0, withHooks.stderr);
  t.match(withHooks.stdout, /^# \d+ stop: run the afterStop hook of /m, 'nor does one that shows hooks (a zx script)');
  const launch = run('boot-vm.mjs', ['x.yaml', '--sysroot', hostRoot('z77-i5-2500')]);
  t.not(launch.status, 0, 'the hook does bite: a launch that gets as far as planning…');
  const helpOnly = run('scripts/teardown.mjs', ['--help']);
  t.equal(helpOnly.status, 0, helpOnly.stderr);
});
