// lib/plan/steps/tpm.ts and lib/qemu/tpm.ts: the TPM's state directory (default or tpm.stateDir)
// made mode 0700 and kept, manufactured when it holds no TPM yet and skipped when it does; swtpm
// started just before QEMU and stopped after it; host.runAs's user for both; swtpm and swtpm_setup
// looked up on PATH (a warning for a dry-run, an error for a launch, naming the Debian packages);
// names and paths swtpm cannot take are profile errors; the dry-run and --json show the exact commands.
import t, { type Test } from 'tap';
import { InputError } from '../../../lib/errors.js';
import type { StepContext } from '../../../lib/plan/steps/context.js';
import { renderJson, renderShell } from '../../../lib/plan/render.js';
import { checkTpmPrograms, planTpm } from '../../../lib/plan/steps/tpm.js';
import { buildTpm } from '../../../lib/qemu/tpm.js';
import { buildInput } from '../../fixtures/build-input.js';
import { planOn } from '../../fixtures/helpers.js';
import { profileOf, recorder, sysrootOf, tree } from '../../fixtures/trees.js';

const QEMU = { user: 'qemu', uid: 107, gid: 107 };
const SWTPM_STEP = (stateDir: string, extra: string[] = []) => ({
  id: 'swtpm',
  phase: 'launch',
  title: `start swtpm for the guest's TPM${extra.length > 0 ? ' as qemu' : ''}, its socket /run/boot-vm/vm/swtpm.sock`,
  from: ['tpm', ...(extra.length > 0 ? ['host.runAs'] : [])],
  notes: [`its messages go to ${stateDir}/swtpm.log; --terminate: it also exits when QEMU closes the connection`],
});
const START = (stateDir: string, extra: string[] = []) => ({
  do: {
    kind: 'start-helper',
    name: 'swtpm',
    argv: ['swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${stateDir},mode=0600`, '--ctrl', 'type=unixio,path=/run/boot-vm/vm/swtpm.sock,mode=0600', '--terminate', ...extra],
    socket: '/run/boot-vm/vm/swtpm.sock',
    log: `${stateDir}/swtpm.log`,
    timeoutMs: 10_000,
  },
  undo: [{ kind: 'stop-helper', name: 'swtpm', timeoutMs: 10_000 }],
});
const RUN_DIR = { do: { kind: 'mkdir', path: '/run/boot-vm/vm' }, undo: [{ kind: 'remove-dir', path: '/run/boot-vm/vm' }] };

function contextOf(t: Test, files: Record<string, string>, data: Record<string, unknown>, extra: Partial<StepContext> = {}): StepContext {
  return { name: 'vm', profile: profileOf({ memory: { size: '4G' }, ...data }), sysroot: sysrootOf(t, files), report: recorder().report, ...extra };
}

t.test('tpm: true on a host without its state: /var/lib/boot-vm/tpm/<vm> made mode 0700 and kept, a TPM manufactured in it, then swtpm started', async (t) => {
  t.strictSame(planTpm(contextOf(t, {}, { tpm: true })), [
    {
      id: 'tpm-state',
      phase: 'launch',
      title: "manufacture the guest's TPM 2.0 in /var/lib/boot-vm/tpm/vm (made, mode 0700): endorsement keys created, NVRAM locked",
      from: ['tpm'],
      notes: ["kept afterwards: it is the guest's TPM (its keys, and what BitLocker seals with them); remove it to give the guest a new TPM"],
      actions: [
        // Nothing undoes either: the directory and the TPM in it are the guest's.
        { do: { kind: 'make-kept-dir', path: '/var/lib/boot-vm/tpm/vm', mode: 0o700 }, undo: [] },
        { do: { kind: 'run', argv: ['swtpm_setup', '--tpm2', '--tpm-state', '/var/lib/boot-vm/tpm/vm', '--createek', '--lock-nvram', '--not-overwrite'] }, undo: [] },
      ],
    },
    { ...SWTPM_STEP('/var/lib/boot-vm/tpm/vm'), actions: [RUN_DIR, START('/var/lib/boot-vm/tpm/vm')] },
  ]);
});

t.test('a state directory that holds a TPM is kept as it is; one that exists without a TPM gets one', async (t) => {
  const [kept, started] = planTpm(contextOf(t, { 'srv/vm/tpm/tpm2-00.permall': 'the guest TPM' }, { tpm: { stateDir: '/srv/vm/tpm' } }));
  t.strictSame(kept, { id: 'tpm-state', phase: 'launch', title: "keep the guest's TPM in /srv/vm/tpm", from: ['tpm', 'tpm.stateDir'], skip: 'it holds one (tpm2-00.permall)' });
  t.strictSame(started, { ...SWTPM_STEP('/srv/vm/tpm'), actions: [RUN_DIR, START('/srv/vm/tpm')] });
  const [empty] = planTpm(contextOf(t, { 'srv/vm/tpm/.keep': '' }, { tpm: { stateDir: '/srv/vm/tpm' } }));
  t.equal(empty!.title, "manufacture the guest's TPM 2.0 in /srv/vm/tpm: endorsement keys created, NVRAM locked");
  t.strictSame(
    empty!.actions!.map((action) => action.do.kind),
    ['run'],
    'the directory exists: only swtpm_setup',
  );
});

t.test("with host.runAs both run as that user, in a state directory it owns; the run-as step's directory holds the socket", async (t) => {
  const [state, started] = planTpm(contextOf(t, {}, { tpm: true, host: { runAs: 'qemu' } }, { runAs: QEMU }));
  t.equal(state!.title, "manufacture the guest's TPM 2.0 in /var/lib/boot-vm/tpm/vm (made, mode 0700, owned by qemu): endorsement keys created, NVRAM locked");
  t.strictSame(state!.from, ['tpm', 'host.runAs']);
  t.strictSame(state!.actions, [
    { do: { kind: 'make-kept-dir', path: '/var/lib/boot-vm/tpm/vm', mode: 0o700, owner: QEMU }, undo: [] },
    { do: { kind: 'run', argv: ['swtpm_setup', '--tpm2', '--tpm-state', '/var/lib/boot-vm/tpm/vm', '--createek', '--lock-nvram', '--not-overwrite', '--runas', 'qemu'] }, undo: [] },
  ]);
  // /run/boot-vm/vm is made and given to qemu by the run-as step (it holds the pidfile and QMP socket).
  t.strictSame(started, { ...SWTPM_STEP('/var/lib/boot-vm/tpm/vm', ['--runas', 'qemu']), actions: [START('/var/lib/boot-vm/tpm/vm', ['--runas', 'qemu'])] });
  // With the pidfile and QMP socket elsewhere, the TPM step makes the directory and gives it to qemu itself.
  const [, own] = planTpm(contextOf(t, {}, { tpm: true, host: { runAs: 'qemu' }, pidfile: '/run/qemu-vm/vm.pid', qmp: '/run/qemu-vm/vm.qmp' }, { runAs: QEMU }));
  t.strictSame(own!.actions!.slice(0, 2), [RUN_DIR, { do: { kind: 'chown', path: '/run/boot-vm/vm', owner: QEMU }, undo: [{ kind: 'restore-owner', path: '/run/boot-vm/vm' }] }]);
});

t.test('no TPM, no steps and no options', async (t) => {
  t.strictSame(planTpm(contextOf(t, {}, { tpm: false })), []);
  t.strictSame(buildTpm(buildInput({})), []);
});

t.test('names and paths swtpm cannot take are errors of the profile, and plan no steps', async (t) => {
  const comma = buildInput({ tpm: { stateDir: '/srv/a,b' } });
  t.strictSame(buildTpm(comma), []);
  t.strictSame(comma.diagnostics.errors, [{ key: 'tpm.stateDir', message: 'swtpm cannot take a state directory with a comma in its path (/srv/a,b)' }]);
  t.strictSame(planTpm(contextOf(t, {}, { tpm: { stateDir: '/srv/a,b' } })), []);
  const named = buildInput({ tpm: true }, { name: 'a,b' });
  buildTpm(named);
  t.strictSame(named.diagnostics.errors, [{ key: 'tpm', message: 'swtpm cannot take a state directory with a comma in its path (/var/lib/boot-vm/tpm/a,b); set tpm.stateDir' }]);
  const dots = buildInput({ tpm: true }, { name: '..' });
  buildTpm(dots);
  t.match(dots.diagnostics.errors, [{ key: 'tpm', message: /^the VM's name "\.\." \(its profile's file name\) names no directory of its own under \/run\/boot-vm/ }]);
});

t.test('swtpm and swtpm_setup on PATH: missing ones stop a launch and warn a dry-run, naming their Debian packages', async (t) => {
  const profile = profileOf({ memory: { size: '1G' }, tpm: true });
  const onlySwtpm = (name: string) => (name === 'swtpm' ? '/usr/bin/swtpm' : undefined);
  const launch = recorder();
  checkTpmPrograms(profile, () => undefined, true, launch.diagnostics);
  t.strictSame(launch.diagnostics.errors, ['tpm: swtpm and swtpm_setup are not on PATH; install them (Debian: apt install swtpm swtpm-tools)']);
  const dryRun = recorder();
  checkTpmPrograms(profile, onlySwtpm, false, dryRun.diagnostics);
  t.strictSame(dryRun.diagnostics.warnings, ['tpm: swtpm_setup is not on PATH; install it (Debian: apt install swtpm-tools)']);
  t.strictSame(dryRun.diagnostics.errors, []);
  const off = recorder();
  checkTpmPrograms(profileOf({ memory: { size: '1G' } }), () => undefined, true, off.diagnostics);
  t.strictSame([...off.diagnostics.errors, ...off.diagnostics.warnings], [], 'no TPM: nothing is looked up');
});

t.test('through the plan: a launch without swtpm stops before any step, a dry-run warns at the key', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'qemu: { version: "7.2" }\nmemory: { size: 1G }\ntpm: true\n' });
  const launching = () => planOn('vm.yaml', 'lab', { launching: true, findProgram: () => undefined }, dir);
  t.throws(launching, InputError);
  try {
    launching();
  } catch (error) {
    t.strictSame((error as InputError).lines(), ['vm.yaml:3:6: tpm: swtpm and swtpm_setup are not on PATH; install them (Debian: apt install swtpm swtpm-tools)']);
  }
  const plan = planOn('vm.yaml', 'lab', { findProgram: () => undefined }, dir);
  t.strictSame(plan.warnings, [{ file: 'vm.yaml', line: 3, column: 6, key: 'tpm', message: 'swtpm and swtpm_setup are not on PATH; install them (Debian: apt install swtpm swtpm-tools)' }]);
  t.strictSame(
    plan.steps.map((step) => `${step.phase} ${step.id}`).slice(-2),
    ['launch tpm-state', 'launch swtpm'],
    'still planned, last before QEMU',
  );
});

t.test('the dry-run shows the exact swtpm commands and their undo; --json carries them as data', async (t) => {
  const dir = tree(t, { 'vm.yaml': 'qemu: { version: "7.2" }\nmemory: { size: 1G }\ntpm: true\n' });
  const plan = planOn('vm.yaml', 'lab', {}, dir);
  const text = renderShell(plan).split('\n');
  // The files boot-vm itself makes are under the sysroot; the commands' words are as run on the host.
  const at = plan.sysroot;
  for (const line of [
    `install -d -m 0700 ${at}/var/lib/boot-vm/tpm/vm`,
    'swtpm_setup --tpm2 --tpm-state /var/lib/boot-vm/tpm/vm --createek --lock-nvram --not-overwrite',
    `swtpm socket --tpm2 --tpmstate dir=/var/lib/boot-vm/tpm/vm,mode=0600 --ctrl type=unixio,path=/run/boot-vm/vm/swtpm.sock,mode=0600 --terminate 2> ${at}/var/lib/boot-vm/tpm/vm/swtpm.log &  # then wait up to 10s for ${at}/run/boot-vm/vm/swtpm.sock`,
    '#   undo: kill <swtpm pid>  # then wait for it to exit; SIGKILL after 10s',
  ]) {
    t.ok(text.includes(line), line);
  }
  const json = JSON.parse(renderJson(plan, false)) as { steps: { id: string; actions: { do: { kind: string } }[] }[] };
  t.strictSame(json.steps.find((step) => step.id === 'swtpm')!.actions.at(-1), START('/var/lib/boot-vm/tpm/vm'));
});
