/** How boot-vm and the user reach the running QEMU: its name, pidfile, QMP socket and daemon mode. */
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps } from './props.js';

import type { Profile } from '../profile/schema.js';

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

export function buildControl({ name, profile }: BuildInput): Arg[] {
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
