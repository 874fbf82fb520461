/**
 * `tpm`: the guest's TPM 2.0, emulated by swtpm. Its state directory is made once and kept (it is
 * the guest's TPM: its keys, what BitLocker seals with them); a new one is manufactured as libvirt
 * does on a first start, with swtpm_setup; swtpm is started just before QEMU and stopped after it.
 */
import { dirname } from 'node:path';
import type { Profile } from '../../profile/schema.js';
import type { Diagnostics } from '../../qemu/arg.js';
import { controlPaths, runDir } from '../../qemu/control.js';
import { tpmPaths, tpmProblem } from '../../qemu/tpm.js';
import type { StepAction, StepDraft } from '../step.js';
import type { StepContext } from './context.js';

/** A program's absolute path on PATH, or undefined (lib/apply/probe-qemu.ts's findExecutable; tests pass stand-ins). */
export type ProgramFinder = (name: string) => string | undefined;

/** The programs the TPM needs on this machine, with the Debian package of each. */
export const TPM_PROGRAMS = [
  { program: 'swtpm', package: 'swtpm' },
  { program: 'swtpm_setup', package: 'swtpm-tools' },
] as const;

/** swtpm's TPM 2.0 state file: present once the TPM has been manufactured or run. */
export const TPM_STATE_FILE = 'tpm2-00.permall';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** The TPM programs missing from PATH, as one message naming their packages; undefined when none is. */
export function missingTpmPrograms(findProgram: ProgramFinder): string | undefined {
  const missing = TPM_PROGRAMS.filter(({ program }) => findProgram(program) === undefined);
  if (missing.length === 0) return undefined;
  return `${missing.map(({ program }) => program).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH; install ${missing.length > 1 ? 'them' : 'it'} (Debian: apt install ${missing.map((item) => item.package).join(' ')})`;
}

/** Missing TPM programs stop a launch, and are a warning otherwise, as a QEMU that cannot be found is. */
export function checkTpmPrograms(profile: Profile, findProgram: ProgramFinder, launching: boolean, diagnostics: Diagnostics): void {
  if (profile.tpm === false) return;
  const message = missingTpmPrograms(findProgram);
  if (message === undefined) return;
  if (launching) diagnostics.error('tpm', message);
  else diagnostics.warn('tpm', message);
}

export function planTpm({ name, profile, sysroot, runAs }: StepContext): StepDraft[] {
  const tpm = profile.tpm;
  // A name or path swtpm cannot take is the command line's error (lib/qemu/tpm.ts).
  if (tpm === false || tpmProblem(name, tpm)) return [];
  const { stateDir, socket, log } = tpmPaths(name, tpm);
  const user = runAs ? ['host.runAs'] : [];
  const stateFrom = ['tpm', ...(tpm.stateDir ? ['tpm.stateDir'] : []), ...user];
  const state: StepDraft = { id: 'tpm-state', phase: 'launch', title: `manufacture the guest's TPM 2.0 in ${stateDir}`, from: stateFrom };
  const steps: StepDraft[] = [];
  if (sysroot.exists(`${stateDir}/${TPM_STATE_FILE}`)) {
    steps.push({ ...state, title: `keep the guest's TPM in ${stateDir}`, skip: `it holds one (${TPM_STATE_FILE})` });
  } else {
    const actions: StepAction[] = [];
    if (!sysroot.exists(stateDir)) actions.push({ do: { kind: 'make-kept-dir', path: stateDir, mode: 0o700, ...(runAs ? { owner: runAs } : {}) }, undo: [] });
    // libvirt's first start, less the EK and platform certificates: swtpm_localca would sign them
    // with a CA it makes under /var/lib/swtpm-localca, a host change outside the VM's own files,
    // and readable by root alone when swtpm runs as host.runAs. Windows 11 needs the TPM, not them.
    const setup = ['swtpm_setup', '--tpm2', '--tpm-state', stateDir, '--createek', '--lock-nvram', '--not-overwrite', ...(runAs ? ['--runas', runAs.user] : [])];
    actions.push({ do: { kind: 'run', argv: setup }, undo: [] });
    const made = actions.length > 1 ? ` (made, mode 0700${runAs ? `, owned by ${runAs.user}` : ''})` : '';
    steps.push({
      ...state,
      title: `manufacture the guest's TPM 2.0 in ${stateDir}${made}: endorsement keys created, NVRAM locked`,
      notes: [`kept afterwards: it is the guest's TPM (its keys, and what BitLocker seals with them); remove it to give the guest a new TPM`],
      actions,
    });
  }
  const actions: StepAction[] = [];
  const paths = controlPaths(name, profile);
  // With host.runAs the run-as step makes the VM's directory and gives it to the user, unless the pidfile and socket are elsewhere.
  if (!runAs || ![dirname(paths.pidfile), dirname(paths.qmp)].includes(runDir(name))) {
    actions.push({ do: { kind: 'mkdir', path: runDir(name) }, undo: [{ kind: 'remove-dir', path: runDir(name) }] });
    if (runAs) actions.push({ do: { kind: 'chown', path: runDir(name), owner: runAs }, undo: [{ kind: 'restore-owner', path: runDir(name) }] });
  }
  const swtpm = ['swtpm', 'socket', '--tpm2', '--tpmstate', `dir=${stateDir},mode=0600`, '--ctrl', `type=unixio,path=${socket},mode=0600`, '--terminate', ...(runAs ? ['--runas', runAs.user] : [])];
  actions.push({ do: { kind: 'start-helper', name: 'swtpm', argv: swtpm, socket, log, timeoutMs: START_TIMEOUT_MS }, undo: [{ kind: 'stop-helper', name: 'swtpm', timeoutMs: STOP_TIMEOUT_MS }] });
  steps.push({
    id: 'swtpm',
    phase: 'launch',
    title: `start swtpm for the guest's TPM${runAs ? ` as ${runAs.user}` : ''}, its socket ${socket}`,
    from: ['tpm', ...user],
    notes: [`its messages go to ${log}; --terminate: it also exits when QEMU closes the connection`],
    actions,
  });
  return steps;
}
