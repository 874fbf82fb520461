/** How boot-vm and the user reach the running QEMU: its name, pidfile, QMP socket and daemon mode. */
import { arg, type Arg, type BuildInput } from './arg.js';
import { formatProps } from './props.js';

export const defaultPidfile = (name: string) => `/run/boot-vm/${name}.pid`;
export const defaultQmpSocket = (name: string) => `/run/boot-vm/${name}.qmp`;

/** `-name` (thread names let later steps find vCPU threads) and the options that drop QEMU's implicit devices and config. */
export function buildIdentity({ name }: BuildInput): Arg[] {
  return [
    arg(['-name', formatProps(undefined, [['guest', name], ['debug-threads', 'on']])], [], ['guest name ← the profile file name; debug-threads=on names vCPU threads "CPU n/KVM"']),
    arg(['-nodefaults'], [], ['no implicit devices: every device comes from the profile']),
    arg(['-no-user-config'], [], ['ignore /etc/qemu/*.conf so the profile alone decides']),
  ];
}

export function buildControl({ name, profile }: BuildInput): Arg[] {
  const pidfile = profile.pidfile ?? defaultPidfile(name);
  const qmp = profile.qmp ?? defaultQmpSocket(name);
  // -chardev with path= (not -qmp unix:PATH) keeps a path containing '=' from being read as a key.
  const args = [
    arg(['-pidfile', pidfile], profile.pidfile ? ['pidfile'] : [], profile.pidfile ? [] : [`default: ${pidfile}`]),
    arg(['-chardev', formatProps('socket', [['id', 'qmp'], ['path', qmp], ['server', 'on'], ['wait', 'off']])], profile.qmp ? ['qmp'] : [], profile.qmp ? [] : [`QMP socket, default: ${qmp}`]),
    arg(['-mon', formatProps(undefined, [['chardev', 'qmp'], ['mode', 'control']])], profile.qmp ? ['qmp'] : []),
  ];
  if (profile.daemonize) args.push(arg(['-daemonize'], ['daemonize']));
  return args;
}

/** `extraArgs`, appended verbatim: the escape hatch boot-vm does not check. */
export function buildExtraArgs({ profile }: BuildInput): Arg[] {
  return profile.extraArgs.map((word, i) => arg([word], [`extraArgs[${i}]`], ['appended verbatim, not checked']));
}
