// A real launch with `tpm: true` on this machine (root, real QEMU under TCG with SeaBIOS, real
// swtpm): boot-vm manufactures the TPM in /var/lib/boot-vm/tpm/<vm>, starts swtpm, QEMU sees the
// TPM (QMP query-tpm), and once QEMU has exited swtpm is gone and the state directory is kept with
// the TPM in it. What the test made is removed in a teardown whatever happens. Without root or
// swtpm the file is skipped, or fails under REQUIRE_QEMU=1 (set by .ci/run).
import { existsSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import t from 'tap';
import type { JournalState } from '../../lib/apply/journal.js';
import { findExecutable } from '../../lib/apply/probe-qemu.js';
import { isAlive, type ProcessRef } from '../../lib/apply/processes.js';
import { withQmp } from '../../lib/apply/qmp.js';
import { writeTree } from '../fixtures/helpers.js';
import { start, waitForLine } from '../fixtures/launch.js';
import { qemuUnavailable } from '../fixtures/qemu-run.js';

const NAME = `boot-vm-tpm-test-${process.pid}`;
const STATE = `/var/lib/boot-vm/tpm/${NAME}`;
const JOURNAL = `/run/boot-vm/${NAME}.journal`;

/** True when this machine cannot run the test (not root, no swtpm); then skipped, or failed under REQUIRE_QEMU=1. */
function tpmUnavailable(): boolean {
  const why = process.getuid?.() !== 0 ? 'not root' : ['swtpm', 'swtpm_setup'].filter((name) => !findExecutable(name, process.env)).map((name) => `${name} is not on PATH (apt install swtpm swtpm-tools)`).join('; ') || undefined;
  if (why === undefined) return false;
  if (process.env.REQUIRE_QEMU === '1') t.fail(`REQUIRE_QEMU=1 but ${why}`);
  else t.plan(0, `a real launch with a TPM needs root and swtpm: ${why}`);
  return true;
}

if (!tpmUnavailable() && !qemuUnavailable(t)) {
  t.test('boot-vm manufactures the TPM, starts swtpm, QEMU sees it; after QEMU exits swtpm is gone and the state is kept', async (t) => {
    // Only the directories this test makes: /var/lib/boot-vm may hold other VMs' state.
    const made = ['/var/lib/boot-vm', '/var/lib/boot-vm/tpm'].filter((dir) => !existsSync(dir));
    let swtpm: ProcessRef | undefined;
    t.teardown(() => {
      if (isAlive(swtpm)) process.kill(swtpm.pid, 'SIGKILL');
      rmSync(STATE, { recursive: true, force: true });
      for (const dir of made.reverse()) if (existsSync(dir)) rmdirSync(dir);
      rmSync(JOURNAL, { force: true });
    });
    const dir = writeTree({ [`${NAME}.yaml`]: ['machine: { accel: tcg }', 'cpu: { model: max }', 'memory: { size: 64M }', 'tpm: true', ''].join('\n') });
    // A guest with no OS ignores the ACPI power button: QEMU quits after a second.
    const launcher = start('boot-vm.mjs', [`${dir}/${NAME}.yaml`, '--stop-timeout', '1'], { PATH: process.env.PATH });
    await waitForLine(launcher, /QEMU started \(pid \d+\)/);
    const journal = JSON.parse(readFileSync(JOURNAL, 'utf8')) as JournalState;
    swtpm = journal.entries.find((entry) => entry.step === 'swtpm' && entry.process)?.process;
    t.ok(isAlive(swtpm), 'the journaled swtpm runs');
    t.match(readFileSync(`/proc/${swtpm!.pid}/cmdline`, 'utf8').split('\0'), ['swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${STATE},mode=0600`]);
    t.equal(statSync(STATE).mode & 0o7777, 0o700, 'the state directory is mode 0700');
    const tpms = await withQmp(`/run/boot-vm/${NAME}.qmp`, { timeoutMs: 20_000, isAlive: () => launcher.child.exitCode === null }, (qmp) => qmp.execute<unknown[]>('query-tpm'));
    t.strictSame(tpms, [{ model: 'tpm-crb', id: 'tpm0', options: { type: 'emulator', data: { chardev: 'chrtpm' } } }], 'QEMU has the TPM on swtpm');
    launcher.child.kill('SIGTERM');
    const result = await launcher.done;
    t.equal(result.status, 0, result.stderr);
    t.match(result.stderr, /manufacture the guest's TPM 2\.0 in .* \(made, mode 0700\): endorsement keys created, NVRAM locked: done/);
    t.match(result.stderr, /start swtpm for the guest's TPM, its socket .*: done \(pid \d+\)/);
    t.match(result.stderr, /undo swtpm: undone \(swtpm (had exited|\(pid \d+\) stopped)\)/);
    t.notOk(isAlive(swtpm), 'swtpm is gone');
    t.ok(existsSync(`${STATE}/tpm2-00.permall`), "the state directory is kept, with swtpm's TPM in it");
    t.notOk(existsSync(`/run/boot-vm/${NAME}`), "the socket's directory is removed");
    t.notOk(existsSync(JOURNAL), 'and the journal');
  });
}
