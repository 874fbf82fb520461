// The shell export run for real: bash with ROOT on a copy of a fake host and the fake QEMU on
// PATH. While QEMU runs the tree has the steps applied (the same files, with the same values, as a
// boot-vm launch against it changes); once the script has exited it is byte-identical to before,
// whether QEMU was stopped, exited by itself or failed. Every shipped profile's script parses
// (bash -n); mediapc's is compared with a golden file. BOOT_VM_REGENERATE=1 rewrites it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { shellScript } from '../../lib/export/shell.js';
import { planShipped, shippedProfiles } from '../fixtures/export.js';
import { FIXTURES, REPO, hostRoot } from '../fixtures/helpers.js';
import { changes, copyHost, FAKE_QEMU, mediapcZ77Running, snapshot, waitFor, alive } from '../fixtures/launch.js';

t.setTimeout(120_000);

const regenerate = process.env.BOOT_VM_REGENERATE === '1';

interface Run {
  pid: number;
  stderr(): string;
  done: Promise<{ status: number | null; stderr: string }>;
}

/** The profile's script, written beside a bin directory whose qemu-system-x86_64 is the fake QEMU; run with ROOT=root. */
function runScript(t: Test, profile: string, root: string, env: NodeJS.ProcessEnv = {}): Run & { record: string; warnings: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'boot-vm-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const warnings: string[] = [];
  writeFileSync(join(dir, 'vm.sh'), shellScript(planShipped(profile), (message) => warnings.push(message)));
  mkdirSync(join(dir, 'bin'));
  symlinkSync(FAKE_QEMU, join(dir, 'bin', 'qemu-system-x86_64'));
  const record = join(dir, 'qemu.json');
  const child = spawn('bash', [join(dir, 'vm.sh')], {
    env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: '/nonexistent', ROOT: root, FAKE_QEMU_SYSROOT: root, FAKE_QEMU_RECORD: record, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stderr })));
  return { pid: child.pid!, stderr: () => stderr, done, record, warnings };
}

const qemuOf = (record: string) => JSON.parse(readFileSync(record, 'utf8')) as { pid: number; argv: string[] };

t.test("mediapc on the blog's Z77 host: the on-boot.sh changes while QEMU runs, nothing left after SIGTERM", async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const run = runScript(t, 'mediapc', root);
  // The IRQ follower moves the vfio IRQs once the fake QEMU has added them: the last change the script makes.
  await waitFor(`the vfio IRQs on the guest's CPUs:\n${run.stderr()}`, () => existsSync(join(root, 'proc/irq/204/smp_affinity_list')) && readFileSync(join(root, 'proc/irq/204/smp_affinity_list'), 'utf8') === '2-3\n');
  const plan = planShipped('mediapc');
  t.strictSame(qemuOf(run.record).argv, plan.args.slice(plan.wrappers + 1).flatMap((arg) => arg.words), 'QEMU got the planned argv; chrt, taskset and prlimit were printed, not run');
  const running = mediapcZ77Running(before, snapshot(root));
  t.strictSame(running.actual, running.expected, 'exactly the files a boot-vm launch changes, with the same values');
  for (let irq = 200; irq <= 204; irq++) t.equal(readFileSync(join(root, `proc/irq/${irq}/smp_affinity_list`), 'utf8'), '2-3\n', `vfio IRQ ${irq} is on the guest's CPUs`);
  process.kill(run.pid, 'SIGTERM');
  const result = await run.done;
  t.equal(result.status, 0, "QEMU quit on the script's SIGTERM; the script exits with its status");
  t.notOk(alive(qemuOf(run.record).pid), 'QEMU is gone');
  t.strictSame(changes(before, snapshot(root)), [], 'the tree is byte-identical to before');
  t.match(result.stderr, /^mediapc: \[10\/16\] prepare: bind 0000:00:1a\.0 \[8086:1e2d\] to vfio-pci$/m, 'one line per step');
  t.match(result.stderr, /^mediapc: logged, not run: prlimit --memlock=9663676416:9663676416 chrt -r 1 taskset -c 2-3 \(.* is not the live host\); QEMU runs without them$/m);
  t.strictSame(run.warnings, [], 'process mode has a shell form for every step');
});

t.test('a QEMU that exits by itself, failing (exit 1): the tree is put back and the script exits with its status', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  const result = await runScript(t, 'mediapc', root, { FAKE_QEMU_EXIT: '1' }).done;
  t.equal(result.status, 1, "QEMU's status");
  t.strictSame(changes(before, snapshot(root)), [], 'byte-identical');
  t.match(result.stderr, /putting the host back/);
});

t.test('threads mode: QEMU without -S under taskset -c <emulator CPUs>, each vCPU thread found by its name', async (t) => {
  const root = copyHost(t, 'i9-9900k');
  const before = snapshot(root);
  const run = runScript(t, 'gaming-9900k', root);
  await waitFor(`the 12 vCPUs pinned:\n${run.stderr()}`, () => (run.stderr().match(/logged, not run: renice -n -20 -p \d+ /g) ?? []).length === 12);
  const { argv } = qemuOf(run.record);
  t.notOk(argv.includes('-S'), 'the guest is not paused: only QMP could start it');
  const tids = [...run.stderr().matchAll(/logged, not run: taskset -p -c (\d+) (\d+) /g)];
  t.strictSame(
    tids.map((match) => Number(match[1])),
    [2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15],
    'each vCPU to its CPU, in vCPU order',
  );
  for (const [vcpu, match] of tids.entries()) t.equal(readFileSync(`/proc/${qemuOf(run.record).pid}/task/${match[2]}/comm`, 'utf8').trim(), `CPU ${vcpu}/TCG`, `vCPU ${vcpu}'s thread`);
  t.match(run.stderr(), /logged, not run: systemd-run --scope --quiet --slice=machine\.slice --unit=boot-vm-gaming-9900k prlimit --memlock=\S+ taskset -c 0-1,8-9 \(/, 'the emulator CPUs as the innermost wrapper');
  t.match(run.warnings.join('\n'), /pinning\.mode threads: .*without -S/);
  process.kill(run.pid, 'SIGTERM');
  const result = await run.done;
  t.equal(result.status, 0);
  t.strictSame(
    changes(before, snapshot(root)),
    ['+/var/lib/boot-vm/nvram/gaming-9900k_VARS.fd: fake firmware variables', '+/var/lib/boot-vm/nvram: dir', '+/var/lib/boot-vm: dir', '+/var/lib: dir', '+/var: dir'].sort(),
    'all but the UEFI variable store, which is kept (as boot-vm keeps it)',
  );
});

t.test("windows11: the Looking Glass file made for the run, swtpm printed, the TPM's and UEFI's state kept", async (t) => {
  const root = copyHost(t, 'i7-12700k');
  const before = snapshot(root);
  const run = runScript(t, 'windows11', root);
  await waitFor(`the vCPUs pinned:\n${run.stderr()}`, () => (run.stderr().match(/logged, not run: renice /g) ?? []).length === 8);
  const shm = statSync(join(root, 'dev/shm/looking-glass'));
  t.strictSame([shm.mode & 0o777, shm.uid, shm.gid], [0o660, 1000, 1000], "the desktop user's, mode 0660, while QEMU runs");
  t.match(run.stderr(), /logged, not run: swtpm socket --tpm2 .* 2> \S+\/var\/lib\/boot-vm\/tpm\/windows11\/swtpm\.log /, 'swtpm printed, its log under ROOT');
  process.kill(run.pid, 'SIGTERM');
  const result = await run.done;
  t.equal(result.status, 0, result.stderr);
  t.strictSame(
    changes(before, snapshot(root)),
    ['+/var/lib/boot-vm: dir', '+/var/lib/boot-vm/nvram: dir', '+/var/lib/boot-vm/nvram/windows11_VARS.fd: fake firmware variables', '+/var/lib/boot-vm/tpm: dir', '+/var/lib/boot-vm/tpm/windows11: dir'].sort(),
    'kept: the UEFI variable store and the TPM state directory; nothing else',
  );
});

t.test('a step that fails before QEMU starts: the steps done so far are undone', async (t) => {
  const root = copyHost(t, 'z77-i5-2500');
  const before = snapshot(root);
  // A missing governor file fails step 14, after the prepare steps changed the tree.
  rmSync(join(root, 'sys/devices/system/cpu/cpu3/cpufreq/scaling_governor'));
  delete before['/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor'];
  const result = await runScript(t, 'mediapc', root).done;
  t.equal(result.status, 1, 'the failed step stops the script');
  t.match(result.stderr, /scaling_governor: No such file or directory/);
  t.notMatch(result.stderr, /QEMU started/);
  t.strictSame(changes(before, snapshot(root)), [], 'what the steps before it changed is put back');
});

t.test("every shipped profile's script parses", async (t) => {
  for (const profile of shippedProfiles()) {
    const script = shellScript(planShipped(profile), () => {});
    const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    t.equal(check.status, 0, `${profile}: bash -n ${check.stderr}`);
    t.ok(script.startsWith('#!/bin/bash\n') && script.includes('\nset -euo pipefail\n'), `${profile}: bash, strict`);
  }
});

t.test('the hooks and the QMP steps are warned about, never dropped silently', async (t) => {
  const warnings: string[] = [];
  const script = shellScript(planShipped('windows11'), (message) => warnings.push(message));
  t.strictSame(
    warnings.map((warning) => warning.replace(/: .*/, '')),
    ['step 1', 'pinning.mode threads', 'step 17', 'step 18', 'step 19'],
    'one warning each, in the order of the steps',
  );
  for (const hook of ['beforePrepare', 'afterStart', 'beforeStop', 'afterStop']) t.match(script, new RegExp(`^# not run: ${hook}\\(\\) of .* is JavaScript`, 'm'));
});

t.test('golden: mediapc on the Z77 host', async (t) => {
  const golden = join(FIXTURES, 'export', 'mediapc.sh');
  const text = shellScript(planShipped('mediapc'), () => {}).replaceAll(hostRoot('z77-i5-2500'), '$SYSROOT').replaceAll(REPO, '$REPO/');
  if (regenerate) writeFileSync(golden, text);
  t.equal(text, readFileSync(golden, 'utf8'), 'test/fixtures/export/mediapc.sh (BOOT_VM_REGENERATE=1 rewrites it)');
});
