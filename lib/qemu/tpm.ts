/**
 * `tpm`: a TPM 2.0 for the guest (Windows 11 will not install without one), emulated by swtpm. QEMU's
 * `emulator` backend talks to swtpm over its control socket; swtpm itself is started by a host step
 * (lib/plan/steps/tpm.ts) and keeps the TPM's state in a directory that outlives the run.
 */
import { normalize } from 'node:path';
import type { Tpm } from '../profile/schema.js';
import { arg, type Arg, type BuildInput } from './arg.js';
import { runDir } from './control.js';
import { formatProps } from './props.js';

export interface TpmPaths {
  /** swtpm's state (tpm2-00.permall), kept between runs. */
  stateDir: string;
  /** swtpm's control socket, with the VM's other run-time files. */
  socket: string;
  /** Where swtpm's messages (its stderr) go: beside the state, kept for after the run. */
  log: string;
}

export const defaultTpmStateDir = (name: string) => `/var/lib/boot-vm/tpm/${name}`;

export function tpmPaths(name: string, tpm: Tpm): TpmPaths {
  const stateDir = tpm.stateDir ?? defaultTpmStateDir(name);
  return { stateDir, socket: `${runDir(name)}/swtpm.sock`, log: `${stateDir}/swtpm.log` };
}

/** Why `tpm` cannot be planned for this VM name and profile, with the key to blame; undefined when it can. */
export function tpmProblem(name: string, tpm: Tpm): { key: string; message: string } | undefined {
  // A profile file named `...yaml` would make `..` the VM's own directory.
  if (name === '' || normalize(runDir(name)) !== runDir(name)) return { key: 'tpm', message: `the VM's name "${name}" (its profile's file name) names no directory of its own under /run/boot-vm for swtpm's socket; rename the profile file` };
  const { stateDir, socket } = tpmPaths(name, tpm);
  // swtpm splits its option values (dir=…,mode=…) on every comma, with no way to write a literal one.
  if (stateDir.includes(',')) return { key: tpm.stateDir ? 'tpm.stateDir' : 'tpm', message: `swtpm cannot take a state directory with a comma in its path (${stateDir})${tpm.stateDir ? '' : '; set tpm.stateDir'}` };
  if (socket.includes(',')) return { key: 'tpm', message: `swtpm cannot take a socket path with a comma (${socket}); rename the profile file` };
  return undefined;
}

/** `-chardev socket,…` to swtpm, `-tpmdev emulator,…` on it, and the TPM device: CRB (TPM 2.0's own interface) unless `tpm.model` says TIS. */
export function buildTpm({ name, profile, diagnostics }: BuildInput): Arg[] {
  const tpm = profile.tpm;
  if (tpm === false) return [];
  const problem = tpmProblem(name, tpm);
  if (problem) {
    diagnostics.error(problem.key, problem.message);
    return [];
  }
  const { socket } = tpmPaths(name, tpm);
  const model = tpm.model ?? 'tpm-crb';
  return [
    arg(['-chardev', formatProps('socket', [['id', 'chrtpm'], ['path', socket]])], ['tpm'], [`swtpm's control socket: ${socket} (the swtpm step starts it before QEMU)`]),
    arg(['-tpmdev', formatProps('emulator', [['id', 'tpm0'], ['chardev', 'chrtpm']])], ['tpm']),
    arg(['-device', formatProps(model, [['tpmdev', 'tpm0']])], tpm.model ? ['tpm.model'] : ['tpm'], tpm.model ? [] : ['tpm-crb ← default: the interface TPM 2.0 defines (tpm.model: tpm-tis for the older one)']),
  ];
}
