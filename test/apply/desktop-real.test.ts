// A real launch of a Windows 11 desktop guest's keys on this machine (root, real QEMU under TCG,
// real swtpm, Debian's Secure Boot OVMF): boot-vm manufactures the TPM in /var/lib/boot-vm/tpm/<vm>,
// starts swtpm, QEMU sees the TPM (QMP query-tpm); the firmware enforces Secure Boot (it refuses
// its own unsigned EFI shell); Looking Glass's /dev/shm file is the desktop user's while QEMU runs.
// Once QEMU has exited swtpm is gone, the shm file removed, the TPM state and the UEFI variable
// store kept. What the test made is removed in a teardown whatever happens. Without root or swtpm
// the file is skipped, or fails under REQUIRE_QEMU=1 (set by .ci/run).
import { existsSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { pollUntil } from '../../lib/apply/poll.js';
import type { JournalState } from '../../lib/apply/journal.js';
import { findExecutable } from '../../lib/apply/probe-qemu.js';
import { isAlive, type ProcessRef } from '../../lib/apply/processes.js';
import { withQmp } from '../../lib/apply/qmp.js';
import { writeTree } from '../fixtures/helpers.js';
import { start, waitForLine } from '../fixtures/launch.js';
import { qemuUnavailable } from '../fixtures/qemu-run.js';

// OVMF under TCG takes seconds to reach its boot menu, more on a loaded machine.
t.setTimeout(180_000);

const NAME = `boot-vm-tpm-test-${process.pid}`;
const STATE = `/var/lib/boot-vm/tpm/${NAME}`;
const JOURNAL = `/run/boot-vm/${NAME}.journal`;
const NVRAM = `/var/lib/boot-vm/nvram/${NAME}_VARS.fd`;
const SHM = `/dev/shm/${NAME}-lg`;
// The desktop user the Looking Glass client runs as (by number: this machine may have no such user).
const DESKTOP = 1000;
const SERIAL = join(tmpdir(), `${NAME}.serial`);

/** True when this machine cannot run the test (not root, no swtpm); then skipped, or failed under REQUIRE_QEMU=1. */
function tpmUnavailable(): boolean {
  const why = process.getuid?.() !== 0 ? 'not root' : ['swtpm', 'swtpm_setup'].filter((name) => !findExecutable(name, process.env)).map((name) => `${name} is not on PATH (apt install swtpm swtpm-tools)`).join('; ') || undefined;
  if (why === undefined) return false;
  if (process.env.REQUIRE_QEMU === '1') t.fail(`REQUIRE_QEMU=1 but ${why}`);
  else t.plan(0, `a real launch with a TPM needs root and swtpm: ${why}`);
  return true;
}

if (!tpmUnavailable() && !qemuUnavailable(t)) {
  t.test('Windows 11 keys under TCG: the TPM on swtpm, Secure Boot enforced, the shm file the desktop user\'s; after QEMU exits swtpm and the file are gone, the TPM and UEFI state kept', async (t) => {
    // Only the directories this test makes: /var/lib/boot-vm may hold other VMs' state.
    const made = ['/var/lib/boot-vm', '/var/lib/boot-vm/tpm', '/var/lib/boot-vm/nvram'].filter((dir) => !existsSync(dir));
    let swtpm: ProcessRef | undefined;
    t.teardown(() => {
      if (isAlive(swtpm)) process.kill(swtpm.pid, 'SIGKILL');
      rmSync(STATE, { recursive: true, force: true });
      rmSync(NVRAM, { force: true });
      rmSync(SHM, { force: true });
      rmSync(SERIAL, { force: true });
      for (const dir of made.reverse()) if (existsSync(dir)) rmdirSync(dir);
      rmSync(JOURNAL, { force: true });
    });
    const dir = writeTree({
      [`${NAME}.yaml`]: [
        'machine: { accel: tcg }',
        'cpu: { model: max }',
        'memory: { size: 128M }',
        'firmware: { type: ovmf, secureBoot: true }',
        'tpm: true',
        `lookingGlass: { resolution: 1920x1080, name: ${NAME}-lg, owner: "${DESKTOP}:${DESKTOP}" }`,
        // The firmware's console, to see what it does with Secure Boot on.
        `extraArgs: [-serial, "file:${SERIAL}"]`,
        '',
      ].join('\n'),
    });
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
    const shm = statSync(SHM);
    t.strictSame([shm.uid, shm.gid, shm.mode & 0o777, shm.size], [DESKTOP, DESKTOP, 0o660, 32 * 1024 * 1024], 'the Looking Glass file: the desktop user\'s, 0660, 32M for 1920x1080');
    // With Microsoft's keys enrolled and Secure Boot on, OVMF's own shell (not signed by them) is refused.
    const what = 'OVMF to refuse its unsigned EFI shell on the serial console';
    await pollUntil(() => (existsSync(SERIAL) && /EFI Internal Shell.*Security Violation/.test(readFileSync(SERIAL, 'latin1')) ? true : undefined), { what, timeoutMs: 120_000 });
    t.pass('Secure Boot is enforced: "Security Violation" for the unsigned shell');
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
    t.notOk(existsSync(SHM), 'the Looking Glass file is removed');
    t.ok(existsSync(NVRAM), 'the UEFI variable store is kept');
    t.match(result.stderr, /create the UEFI variable store .* from \/usr\/share\/OVMF\/OVMF_VARS_4M\.ms\.fd/, "copied from the template with Microsoft's keys");
  });
}
