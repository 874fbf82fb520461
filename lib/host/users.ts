import type { Sysroot } from './sysroot.js';

/** A user's ids as `/etc/passwd` lists them: what `host.runAs` gives QEMU's files to. */
export interface UserIds {
  uid: number;
  /** The user's primary group, from the passwd line's gid. */
  gid: number;
}

/**
 * The user named `name` in the host's `/etc/passwd`, or undefined when it has none. Users from
 * other NSS sources (LDAP, systemd's dynamic users) are not there: QEMU's user is a local one.
 */
export function readUser(sysroot: Sysroot, name: string): UserIds | undefined {
  for (const line of (sysroot.readText('/etc/passwd') ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 4) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (fields[2] !== '' && fields[3] !== '' && Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  }
  return undefined;
}

/** The id of the group named `name` in the host's `/etc/group`, or undefined when it has none. */
export function readGroup(sysroot: Sysroot, name: string): number | undefined {
  for (const line of (sysroot.readText('/etc/group') ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 3 || fields[2] === '') continue;
    const gid = Number(fields[2]);
    if (Number.isInteger(gid)) return gid;
  }
  return undefined;
}

/** The primary group of the user with id `uid` in the host's `/etc/passwd`, or undefined when no user has it. */
export function readPrimaryGroupOf(sysroot: Sysroot, uid: number): number | undefined {
  for (const line of (sysroot.readText('/etc/passwd') ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4 || fields[2] === '' || Number(fields[2]) !== uid || fields[3] === '') continue;
    const gid = Number(fields[3]);
    if (Number.isInteger(gid)) return gid;
  }
  return undefined;
}
