// prepare-host, teardown and doctor take the profile as boot-vm does, a name or a path: a VM
// prepared from a path outside the profile directories is torn down by that same path.
import { join } from 'node:path';
import t from 'tap';
import { doctorCli, runCli } from '../fixtures/cli.js';
import { hostRoot, REPO } from '../fixtures/helpers.js';
import { changes, copyHost, snapshot } from '../fixtures/launch.js';
import { tree } from '../fixtures/trees.js';

/** A profile outside ./profiles whose file name, not mediapc, is the VM's name. */
const elsewhere = (t: Parameters<typeof tree>[0]) => join(tree(t, { 'vms/media-copy.yaml': `extends: ${join(REPO, 'profiles/mediapc.yaml')}\n` }), 'vms/media-copy.yaml');

t.test('prepare-host /path/to/x.yaml, then teardown /path/to/x.yaml', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const profile = elsewhere(t);
  const prepared = runCli('scripts/prepare-host.mjs', [profile, '--sysroot', root, '--qemu-version', '7.2']);
  t.equal(prepared.status, 0, prepared.stderr);
  t.match(prepared.stdout, /^media-copy: the host is prepared; /);
  t.not(changes(before, snapshot(root)).length, 0);
  const teardown = runCli('scripts/teardown.mjs', [profile, '--sysroot', root]);
  t.equal(teardown.status, 0, teardown.stderr);
  t.match(teardown.stdout, /^media-copy: the host is back as it was \(\d+ changes undone\)\n$/);
  t.strictSame(changes(before, snapshot(root)), []);
});

t.test('teardown by path needs no profile file: only its name', async (t) => {
  const root = tree(t, {});
  const result = runCli('scripts/teardown.mjs', ['/nonexistent/vms/gone.yml', '--sysroot', root]);
  t.equal(result.status, 0, result.stderr);
  t.equal(result.stdout, `gone: nothing to undo (no journal at ${root}/run/boot-vm/gone.journal)\n`);
});

t.test('teardown: a profile argument that is neither a name nor a path', async (t) => {
  const result = runCli('scripts/teardown.mjs', ['../vm', '--sysroot', tree(t, {})]);
  t.equal(result.status, 2);
  t.equal(result.stderr, '"../vm" is neither a profile name (letters, digits, . _ -) nor a path ending in .yaml\n');
});

t.test('doctor /path/to/x.yaml checks what doctor x does', async (t) => {
  const byName = doctorCli(['mediapc', '--sysroot', hostRoot('z77-i5-2500'), '--boot-config']);
  const byPath = doctorCli([join(REPO, 'profiles/mediapc.yaml'), '--sysroot', hostRoot('z77-i5-2500'), '--boot-config'], { cwd: '/' });
  t.equal(byPath.status, 0, byPath.stderr);
  t.equal(byPath.stdout, byName.stdout);
});
