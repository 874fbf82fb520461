// ./boot-vm.mjs as a user runs it: output streams, exit codes and options.
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bootVm } from '../fixtures/cli.js';
import { FIXTURES, REPO, commandPart, hostRoot, readBackShell, writeTree } from '../fixtures/helpers.js';

const Z77 = hostRoot('z77-i5-2500');
const golden = (name: string) => readFileSync(join(FIXTURES, 'argv', `${name}.args`), 'utf8').trimEnd().split('\n');

t.test('--help prints the usage and exits 0', async (t) => {
  const result = bootVm(['--help']);
  t.equal(result.status, 0);
  t.match(result.stdout, /^Usage: boot-vm <profile> \[--dry-run/);
  t.match(result.stdout, /--sysroot DIR/);
  t.equal(result.stderr, '');
});

t.test('without a profile it asks which one', async (t) => {
  const result = bootVm([]);
  t.equal(result.status, 2);
  t.equal(result.stderr, 'which profile? (see --help)\n');
});

t.test('the README command: mediapc --dry-run on a machine without its hardware or QEMU', async (t) => {
  const result = bootVm(['mediapc', '--dry-run']);
  t.equal(result.status, 0, 'a dry-run works on any Linux box');
  t.match(commandPart(result.stdout), /^chrt -r 1 \\\ntaskset -c 2-3 \\\nqemu-system-x86_64 \\\n/);
  t.match(result.stderr, /^warning: profiles\/mediapc\.yaml:\d+:\d+: qemu\.binary: qemu-system-x86_64 was not found on PATH; planning for QEMU 10\.1 \(give --qemu-version X\.Y to plan for another\)$/m);
  t.same(result.stderr.trimEnd().split('\n').filter((line) => !line.startsWith('warning: ')), [], 'every stderr line is a warning');
});

t.test("dry-run against the blog host prints exactly the golden command, with one warning: the blog's chrt -r 1 is RT-throttled", async (t) => {
  const result = bootVm(['mediapc', '--dry-run', '--sysroot', Z77, '--qemu-version', '7.2']);
  t.equal(result.status, 0);
  t.match(result.stderr, /^warning: profiles\/mediapc\.yaml:25:24: pinning\.scheduler\.policy: a SCHED_RR vCPU that never idles stalls 50 ms once a second [^\n]*\n$/);
  // Read back by a shell, the printed command is exactly the golden argv, after the launch steps' wrapper.
  t.same(readBackShell(commandPart(result.stdout)), ['prlimit', '--memlock=9663676416:9663676416', ...golden('mediapc')]);
  t.match(result.stdout, /^# 1 prepare: load kernel modules vfio, vfio_pci, vfio_iommu_type1, kvm_intel — skipped: all loaded already {2}← host\.modules$/m, 'the steps come first');
});

t.test('--json follows the contract: profile, qemuVersion, the exact argv, steps', async (t) => {
  const result = bootVm(['mediapc', '--dry-run', '--json', '--sysroot', Z77, '--qemu-version', '7.2']);
  t.equal(result.status, 0);
  const json = JSON.parse(result.stdout);
  t.same(Object.keys(json), ['profile', 'qemuVersion', 'argv', 'steps']);
  t.same({ ...json, steps: [] }, { profile: 'mediapc', qemuVersion: '7.2', argv: golden('mediapc'), steps: [] });
  t.same(json.steps.map((step: { n: number; id: string }) => `${step.n} ${step.id}`).slice(0, 3), ['1 load-modules', '2 kvm-ignore-msrs', '3 sysctl vm.stat_interval']);
});

t.test('--explain lists keys and rules; with --json it adds them per option', async (t) => {
  const text = bootVm(['mediapc', '--dry-run', '--explain', '--sysroot', Z77, '--qemu-version', '7.2']);
  t.equal(text.status, 0);
  t.match(text.stdout, /↳ hv-vpindex=on ← added: cpu\.hyperv\.synic needs it/);
  const json = JSON.parse(bootVm(['mediapc', '--dry-run', '--explain', '--json', '--sysroot', Z77, '--qemu-version', '7.2']).stdout);
  t.equal(json.explain.length > 10, true);
  t.same(json.explain.flatMap((arg: { words: string[] }) => arg.words), json.argv, 'the explained options are the argv, in order');
});

t.test('--explain needs --dry-run; --quiet needs a launch', async (t) => {
  const explain = bootVm(['mediapc', '--explain']);
  t.equal(explain.status, 2);
  t.equal(explain.stderr, '--explain goes with --dry-run\n');
  const quiet = bootVm(['mediapc', '-n', '--quiet']);
  t.equal(quiet.status, 2);
  t.equal(quiet.stderr, '--quiet goes with a launch, not --dry-run\n');
});

t.test('with --sysroot, what the host lacks is an error; without, a warning', async (t) => {
  const dir = writeTree({ 'x.yaml': 'memory: { size: 2G }\npinning: { vcpus: [6] }\n' });
  const strict = bootVm(['x.yaml', '-n', '--sysroot', Z77, '--qemu-version', '7.2'], { cwd: dir });
  t.equal(strict.status, 2);
  t.equal(strict.stderr, 'x.yaml:2:19: pinning.vcpus: host CPU 6 does not exist here (this host has 0-3)\n');
  const lenient = bootVm(['x.yaml', '-n', '--qemu-version', '7.2'], { cwd: dir });
  t.equal(lenient.status, 0);
  const present = readFileSync('/sys/devices/system/cpu/present', 'utf8').trim();
  if (present.split(/[-,]/).map(Number).includes(6)) t.equal(lenient.stderr, '');
  else t.match(lenient.stderr, /^warning: x\.yaml:2:19: pinning\.vcpus: host CPU 6 does not exist here/);
  t.match(lenient.stdout, /^taskset -p -c 6 <thread-id of vCPU 0>/m, 'the plan is made all the same');
});

t.test('launching validates strictly before it changes anything', async (t) => {
  const noQemu = bootVm(['mediapc', '--sysroot', Z77]);
  t.equal(noQemu.status, 2, 'a launch needs a QEMU to ask its version');
  t.match(noQemu.stderr, /^profiles\/mediapc\.yaml:1:1: qemu\.binary: qemu-system-x86_64 was not found on PATH\n$/);
});

t.test('profiles are found in ./profiles, then $BOOT_VM_PROFILES, or by path', async (t) => {
  const dir = writeTree({
    'profiles/a.yaml': 'description: from ./profiles\nmemory: { size: 1G }\n',
    'extra/a.yaml': 'memory: { size: 2G }\n',
    'extra/b.yml': 'memory: { size: 3G }\n',
    'elsewhere/c.yaml': 'memory: { size: 4G }\n',
  });
  const env = { PATH: '', HOME: '/nonexistent', BOOT_VM_PROFILES: join(dir, 'extra') };
  const size = (ref: string) => {
    const result = bootVm([ref, '-n', '--json', '--qemu-version', '7.2'], { cwd: dir, env });
    return JSON.parse(result.stdout).argv[JSON.parse(result.stdout).argv.indexOf('-m') + 1];
  };
  t.equal(size('a'), '1G', './profiles wins');
  t.equal(size('b'), '3G', 'then $BOOT_VM_PROFILES, .yml too');
  t.equal(size('elsewhere/c.yaml'), '4G', 'a .yaml path is used directly');
  t.equal(JSON.parse(bootVm(['elsewhere/c.yaml', '-n', '--json', '--qemu-version', '7.2'], { cwd: dir, env }).stdout).profile, 'c');
});

t.test('--qemu-binary replaces qemu.binary and its version is asked', async (t) => {
  const dir = writeTree({ 'bin/my-qemu': '#!/bin/sh\necho "QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)"\n', 'x.yaml': 'memory: { size: 1G }\n' });
  const { chmodSync } = await import('node:fs');
  chmodSync(join(dir, 'bin/my-qemu'), 0o755);
  const env = { PATH: '/usr/bin:/bin', HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') };
  const result = bootVm(['x.yaml', '-n', '--json', '--qemu-binary', join(dir, 'bin/my-qemu')], { cwd: dir, env });
  t.equal(result.status, 0, result.stderr);
  const json = JSON.parse(result.stdout);
  t.equal(json.qemuVersion, '8.2');
  t.equal(json.argv[0], join(dir, 'bin/my-qemu'));
});

t.test('without dist/ it says to build, not a module-not-found trace', async (t) => {
  const dir = writeTree({});
  cpSync(join(REPO, 'scripts'), join(dir, 'scripts'), { recursive: true });
  cpSync(join(REPO, 'boot-vm.mjs'), join(dir, 'boot-vm.mjs'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'profiles'));
  writeFileSync(join(dir, 'profiles/x.yaml'), 'memory: { size: 1G }\n');
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(process.execPath, [join(dir, 'boot-vm.mjs'), 'x', '-n'], { cwd: dir, encoding: 'utf8' });
  t.equal(result.status, 1);
  t.match(result.stderr, /^boot-vm: Cannot find module '.*\/dist\/cli\/boot-vm\.bundle\.js'.*\nRun `npm ci` \(or `npm run build`\) in .* first\.\n$/);
});
