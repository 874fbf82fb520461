// scripts/check-iommu.mjs, cpu-topology.mjs and doctor.mjs as a user runs them: output, exit codes, bad input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkIommuCli, cpuTopologyCli, doctorCli, runCli } from '../fixtures/cli.js';
import { FIXTURES, commandPart, hostRoot } from '../fixtures/helpers.js';
import { tree, writeScript } from '../fixtures/trees.js';

const Z77 = hostRoot('z77-i5-2500');
const golden = (name: string) => readFileSync(join(FIXTURES, 'inspect', name), 'utf8');

t.test('each prints its usage with --help', async (t) => {
  for (const [cli, usage] of [[checkIommuCli, /^Usage: check-iommu /], [cpuTopologyCli, /^Usage: cpu-topology /], [doctorCli, /^Usage: doctor <profile> /]] as const) {
    const result = cli(['--help']);
    t.equal(result.status, 0);
    t.match(result.stdout, usage);
  }
});

t.test('the scripts print what the library renders (the golden files)', async (t) => {
  t.equal(checkIommuCli(['--sysroot', Z77]).stdout, golden('check-iommu-z77-i5-2500.txt'));
  t.equal(checkIommuCli(['--sysroot', Z77, '--json']).stdout, golden('check-iommu-z77-i5-2500.json'));
  t.equal(checkIommuCli(['--sysroot', Z77, '--profile', 'mediapc']).stdout, golden('check-iommu-z77-i5-2500-profile.txt'));
  t.equal(cpuTopologyCli(['--sysroot', hostRoot('i7-12700k')]).stdout, golden('cpu-topology-i7-12700k.txt'));
  t.equal(cpuTopologyCli(['--sysroot', hostRoot('epyc-2s'), '--json']).stdout, golden('cpu-topology-epyc-2s.json'));
  const suggest = cpuTopologyCli(['--sysroot', hostRoot('epyc-2s'), '--suggest', '8', '--profile', 'test/fixtures/inspect/profiles/epyc-render.yaml', '--json']);
  t.equal(suggest.stdout, golden('cpu-topology-epyc-2s-suggest.json'));
  t.equal(suggest.stderr, '');
});

t.test('doctor exits 1 on a FAIL and 0 without; --json and --boot-config', async (t) => {
  const env = { PATH: '', HOME: '/nonexistent' };
  const failing = doctorCli(['mediapc', '--sysroot', Z77], { env });
  t.equal(failing.status, 1, 'no QEMU on PATH is a FAIL');
  t.match(failing.stdout, /^FAIL {2}QEMU: qemu-system-x86_64 was not found on PATH$/m);
  t.match(failing.stdout, /\nmediapc: 1 fail, 6 warn, \d+ pass\n$/);
  const qemuDir = tree(t, {});
  writeScript(qemuDir, 'qemu-system-x86_64', `case "$*" in *help*) /bin/cat '${join(FIXTURES, 'inspect/vfio-pci-help-7.2.txt')}';; *) echo "QEMU emulator version 7.2.0";; esac`);
  const passing = doctorCli(['mediapc', '--sysroot', Z77, '--json'], { env: { PATH: qemuDir, HOME: join(qemuDir, 'home') } });
  t.equal(passing.status, 0, passing.stdout);
  const json = JSON.parse(passing.stdout);
  t.equal(json.ok, true);
  t.match(json.checks[0], { status: 'pass', check: 'CPU virtualization', detail: 'the CPU has vmx' });
  const config = doctorCli(['mediapc', '--sysroot', Z77, '--boot-config']);
  t.equal(config.status, 0);
  t.match(config.stdout, /^options vfio-pci ids=10de:1b81,10de:10f0,/m);
});

const BAD = [
  { cli: checkIommuCli, args: ['--sysroot', '/nonexistent/host'], stderr: '--sysroot: /nonexistent/host is not a directory' },
  { cli: checkIommuCli, args: ['mediapc'], stderr: 'check-iommu takes no arguments, got mediapc (a profile goes with --profile)' },
  { cli: checkIommuCli, args: ['--profile'], stderr: '--profile takes one value' },
  { cli: checkIommuCli, args: ['--profile', 'nosuchvm', '--sysroot', Z77], stderr: /^no profile named "nosuchvm" \(looked in / },
  { cli: checkIommuCli, args: ['--jsn'], stderr: 'unknown option --jsn; did you mean --json? (see --help)' },
  { cli: cpuTopologyCli, args: ['--suggest', 'eight'], stderr: '--suggest: expected a number of vCPUs like 8, got "eight"' },
  { cli: cpuTopologyCli, args: ['--suggest', '0'], stderr: '--suggest: expected a number of vCPUs like 8, got "0"' },
  { cli: cpuTopologyCli, args: ['--suggest', '4', '--suggest', '8'], stderr: '--suggest takes one value' },
  { cli: cpuTopologyCli, args: ['--profile', 'mediapc'], stderr: '--profile goes with --suggest N' },
  { cli: cpuTopologyCli, args: ['--sysroot', Z77, '--suggest', '4'], stderr: 'cannot give 4 vCPUs whole cores here: this host has 3 CPUs besides its first core (0)' },
  { cli: cpuTopologyCli, args: ['--sysroot', FIXTURES], stderr: `no CPUs under ${FIXTURES}/sys/devices/system/cpu: is --sysroot a host tree?` },
  { cli: doctorCli, args: [], stderr: 'which profile? (see --help)' },
  { cli: doctorCli, args: ['a', 'b'], stderr: 'one profile at a time, got a, b' },
  { cli: doctorCli, args: ['mediapc', '--qemu-version', 'new'], stderr: '--qemu-version: expected a version like 7.2, got "new"' },
  { cli: doctorCli, args: ['mediapc', '--boot-config', '--json'], stderr: '--boot-config prints configuration lines; it has no --json' },
];

for (const [i, { cli, args, stderr }] of BAD.entries()) {
  t.test(`bad input ${i + 1}: ${args.join(' ') || '(none)'}`, async (t) => {
    const result = cli(args);
    t.equal(result.status, 2);
    t.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    t.equal(lines.length, 1, 'one line, no stack trace');
    if (typeof stderr === 'string') t.equal(lines[0], stderr);
    else t.match(lines[0], stderr);
  });
}

t.test('a broken profile is reported by file and line', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory: { size: 8X }\n' });
  const result = doctorCli(['vm.yaml'], { cwd: dir });
  t.equal(result.status, 2);
  t.equal(result.stderr, 'vm.yaml:1:17: memory.size: expected a size like 8G\n');
});

t.test('pinning: auto in the dry-run: ./boot-vm.mjs <profile> --dry-run', async (t) => {
  const result = runCli('boot-vm.mjs', ['test/fixtures/inspect/profiles/hybrid-gaming.yaml', '--dry-run', '--sysroot', hostRoot('i7-12700k'), '--qemu-version', '7.2']);
  t.equal(result.status, 0, result.stderr);
  t.match(commandPart(result.stdout), /^prlimit --memlock=\S+ \\\nqemu-system-x86_64 \\\n/);
  t.match(result.stdout, /^# \d+ running: pin each vCPU thread to its own CPU \(0→2 1→3 2→4 3→5 4→6 5→7 6→8 7→9\), SCHED_OTHER nice -20  ← pinning, pinning.scheduler$/m, 'the vCPUs auto chose, one thread each');
  t.match(result.stdout, /-smp 8,sockets=1,cores=4,threads=2/);
  const small = runCli('boot-vm.mjs', ['test/fixtures/inspect/profiles/hybrid-gaming.yaml', '--dry-run', '--sysroot', Z77, '--qemu-version', '7.2']);
  t.equal(small.status, 2);
  t.match(small.stderr, /^test\/fixtures\/inspect\/profiles\/hybrid-gaming\.yaml:\d+:\d+: pinning: auto: cannot give 8 vCPUs whole cores here: this host has 3 CPUs besides its first core \(0\)$/m);
});
