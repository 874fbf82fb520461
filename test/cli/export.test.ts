// scripts/export.mjs through the real CLI: --help, a unit or a script on stdout or written to
// --out (atomically, `wrote FILE` on stderr), the dry-run's warnings on stderr one per line, and
// bad input as one line with exit 2.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { exportCli } from '../fixtures/cli.js';
import { hostRoot, REPO, writeTree } from '../fixtures/helpers.js';

const Z77 = ['--sysroot', hostRoot('z77-i5-2500'), '--qemu-version', '7.2'];

t.test('--help', async (t) => {
  const { status, stdout, stderr } = exportCli(['--help']);
  t.equal(status, 0);
  t.match(stdout, /^Usage: export <vm> --format \S*systemd\S* \[--out FILE\]/);
  t.match(stdout, /--format F +one of .*systemd.*shell/);
  t.equal(stderr, '');
});

t.test('systemd for mediapc on stdout, the dry-run warnings on stderr', async (t) => {
  const { status, stdout, stderr } = exportCli(['mediapc', '--format', 'systemd', '--qemu-version', '7.2']);
  t.equal(status, 0, stderr);
  const lines = stdout.split('\n');
  t.equal(lines[0], '# /etc/systemd/system/boot-vm-mediapc.service');
  t.ok(lines.includes(`ExecStart=${join(REPO, 'boot-vm.mjs')} mediapc --stop-timeout 120`), 'this checkout, the profile by name');
  t.ok(stderr.split('\n').filter(Boolean).every((line) => line.startsWith('warning: profiles/mediapc.yaml:')), 'one warning a line, as the dry-run gives them');
});

t.test('libvirt for mediapc: the domain on stdout, what libvirt cannot carry as warnings', async (t) => {
  const { status, stdout, stderr } = exportCli(['mediapc', '--format', 'libvirt', ...Z77]);
  t.equal(status, 0, stderr);
  t.match(stdout, /^<domain type='kvm' xmlns:qemu='http:\/\/libvirt.org\/schemas\/domain\/qemu\/1.0'>\n  <name>mediapc<\/name>\n/);
  t.match(stderr, /^warning: host: libvirt does not prepare the host \(/m, 'the host steps libvirt does not do');
  t.notMatch(stderr, /wrote/);
});

t.test('libvirt: a qemu.binary libvirt cannot name is one line, exit 2', async (t) => {
  const dir = writeTree({ 'vms/odd.yaml': 'memory: { size: 1G }\nqemu: { binary: qemu-custom }\n' });
  const { status, stdout, stderr } = exportCli(['vms/odd.yaml', '--format', 'libvirt', '--qemu-version', '7.2'], { cwd: dir });
  t.equal(status, 2);
  t.equal(stdout, '');
  t.equal(stderr, "vms/odd.yaml:2:17: qemu.binary: libvirt's <emulator> needs an absolute path, not qemu-custom; set qemu.binary to its full path (command -v qemu-custom)\n");
});

t.test('a profile outside profiles/ is named by its absolute path', async (t) => {
  const dir = writeTree({ 'vms/tiny.yaml': 'memory: { size: 1G }\n' });
  const { status, stdout } = exportCli(['vms/tiny.yaml', '--format', 'systemd', '--qemu-version', '7.2'], { cwd: dir });
  t.equal(status, 0);
  t.match(stdout, `\nExecStart=${join(REPO, 'boot-vm.mjs')} ${join(dir, 'vms/tiny.yaml')} --stop-timeout 120\n`);
});

t.test('--out: written whole, said on stderr; a shell script is executable', async (t) => {
  const dir = writeTree({});
  const out = join(dir, 'mediapc.sh');
  const { status, stdout, stderr } = exportCli(['mediapc', '--format', 'shell', '--out', out, ...Z77]);
  t.equal(status, 0, stderr);
  t.equal(stdout, '');
  t.equal(stderr.trimEnd().split('\n').at(-1), `wrote ${out}`);
  t.match(readFileSync(out, 'utf8'), /^#!\/bin\/bash\n/);
  t.equal(statSync(out).mode & 0o777, 0o755);
  t.strictSame(readdirSync(dir), ['mediapc.sh'], 'no temporary file left beside it');
});

t.test('--out naming a directory is refused before planning', async (t) => {
  const dir = writeTree({});
  mkdirSync(join(dir, 'units'));
  const { status, stdout, stderr } = exportCli(['mediapc', '--format', 'systemd', '--out', join(dir, 'units')]);
  t.equal(status, 2);
  t.equal(stdout, '');
  t.equal(stderr, `--out: ${join(dir, 'units')} is a directory; name the file to write\n`);
});

t.test('bad input: one line, exit 2', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['unknown format', ['mediapc', '--format', 'xml'], /^--format: unknown format "xml"; known: .*systemd, shell.*\n$/],
    ['no format', ['mediapc'], /^which format\? --format .*systemd, shell.*\n$/],
    ['unknown profile', ['no-such-vm', '--format', 'shell'], /^.*no-such-vm.*\n$/],
    ['unknown option', ['mediapc', '--format', 'shell', '--outt', 'x'], /^unknown option --outt; did you mean --out\? \(see --help\)\n$/],
    ['no profile', ['--format', 'shell'], /^which profile\? \(see --help\)\n$/],
    ['two formats', ['mediapc', '--format', 'shell', '--format', 'systemd'], /^--format takes one value\n$/],
  ];
  for (const [name, args, stderr] of cases) {
    const result = exportCli(args);
    t.equal(result.status, 2, name);
    t.equal(result.stdout, '', `${name}: nothing on stdout`);
    t.match(result.stderr, stderr, name);
  }
});

t.test('a host that does not fit (--sysroot): the errors, nothing written', async (t) => {
  const dir = writeTree({});
  const out = join(dir, 'x.service');
  const { status, stderr } = exportCli(['mediapc', '--format', 'systemd', '--out', out, '--sysroot', hostRoot('lab'), '--qemu-version', '7.2']);
  t.equal(status, 2);
  t.match(stderr, /^profiles\/mediapc\.yaml:\d+:\d+: /);
  t.notOk(existsSync(out));
});
