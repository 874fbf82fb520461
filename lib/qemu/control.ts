/** How boot-vm and the user reach the running QEMU: its name, pidfile, QMP socket and daemon mode. */
import { dirname, normalize } from 'node:path';
import type { Profile } from '../profile/schema.js';
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps } from './props.js';

export const defaultPidfile = (name: string) => `/run/boot-vm/${name}.pid`;
export const defaultQmpSocket = (name: string) => `/run/boot-vm/${name}.qmp`;

/**
 * The VM's own directory under /run/boot-vm, for a QEMU that runs as `host.runAs`: it removes its
 * pidfile and socket on exit as that user, so they go where the user may write, and the journal's
 * directory stays root's alone.
 */
export const runDir = (name: string) => `/run/boot-vm/${name}`;

/** Where QEMU's pidfile and QMP socket are: the one place that decides, for the argv and for the plan. */
export function controlPaths(name: string, profile: Pick<Profile, 'pidfile' | 'qmp' | 'host'>): { pidfile: string; qmp: string } {
  const own = profile.host.runAs !== undefined;
  return {
    pidfile: profile.pidfile ?? (own ? `${runDir(name)}/qemu.pid` : defaultPidfile(name)),
    qmp: profile.qmp ?? (own ? `${runDir(name)}/qmp.sock` : defaultQmpSocket(name)),
  };
}

/** `-name` (thread names let later steps find vCPU threads) and the options that drop QEMU's implicit devices and config. */
export function buildIdentity({ name }: BuildInput): Arg[] {
  return [
    arg(['-name', formatProps(undefined, [['guest', name], ['debug-threads', 'on']])], [], ['guest name ← the profile file name; debug-threads=on names vCPU threads "CPU n/KVM"']),
    arg(['-nodefaults'], [], ['no implicit devices: every device comes from the profile']),
    arg(['-no-user-config'], [], ['ignore /etc/qemu/*.conf so the profile alone decides']),
  ];
}

/**
 * With host.runAs, the pidfile's and the socket's directories are given to that user for the run:
 * each must be one of their own, not the journals' (root's) or a shared one such as /run. Why
 * `dir` cannot be given, or undefined when it can.
 */
export function runAsDirProblem(dir: string): string | undefined {
  const real = normalize(dir);
  if (real === '/run/boot-vm') return "it holds the journals, which stay root's";
  if (dirname(real) === '/') return 'it is shared';
  return undefined;
}

function checkRunAsDirs({ name, profile, diagnostics }: BuildInput): void {
  const user = profile.host.runAs;
  if (user === undefined) return;
  // A profile file named `...yaml` would make `..` the VM's own directory.
  if ((profile.pidfile === undefined || profile.qmp === undefined) && (name === '' || normalize(runDir(name)) !== runDir(name))) {
    diagnostics.error('host.runAs', `the VM's name "${name}" (its profile's file name) names no directory of its own under /run/boot-vm; rename the profile file`);
  }
  for (const key of ['pidfile', 'qmp'] as const) {
    const path = profile[key];
    const problem = path === undefined ? undefined : runAsDirProblem(dirname(path));
    if (problem) diagnostics.error(key, `with host.runAs, ${dirname(path!)} would be given to ${user} for the run, and ${problem}; put ${key === 'pidfile' ? 'the pidfile' : 'the socket'} in a directory of its own, or leave ${key} out (then it goes in /run/boot-vm/<name>/)`);
  }
}

export function buildControl(input: BuildInput): Arg[] {
  const { name, profile } = input;
  checkRunAsDirs(input);
  const { pidfile, qmp } = controlPaths(name, profile);
  const where = profile.host.runAs === undefined ? 'default' : `default with host.runAs (${runDir(name)} is given to ${profile.host.runAs} for the run)`;
  // -chardev with path= (not -qmp unix:PATH) keeps a path containing '=' from being read as a key.
  const args = [
    arg(['-pidfile', pidfile], profile.pidfile ? ['pidfile'] : profile.host.runAs ? ['host.runAs'] : [], profile.pidfile ? [] : [`${where}: ${pidfile}`]),
    arg(['-chardev', formatProps('socket', [['id', 'qmp'], ['path', qmp], ['server', 'on'], ['wait', 'off']])], profile.qmp ? ['qmp'] : profile.host.runAs ? ['host.runAs'] : [], profile.qmp ? [] : [`QMP socket, ${where}: ${qmp}`]),
    arg(['-mon', formatProps(undefined, [['chardev', 'qmp'], ['mode', 'control']])], profile.qmp ? ['qmp'] : []),
  ];
  if (profile.daemonize) args.push(arg(['-daemonize'], ['daemonize']));
  return args;
}

/** `extraArgs`, appended verbatim: the escape hatch boot-vm does not check. */
export function buildExtraArgs({ profile }: BuildInput): Arg[] {
  return profile.extraArgs.map((word, i) => arg([word], [`extraArgs[${i}]`], ['appended verbatim, not checked']));
}
