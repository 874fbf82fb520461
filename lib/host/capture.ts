/**
 * A host capture: what the readers read (lib/host/recording-sysroot.ts), copied from a host root
 * into a tree `--sysroot` accepts. Links stay links, directories listed keep their entries'
 * names, files tested only for existence or size become empty files of that size (sparse), and
 * nothing else is copied. Files whose content is private are cut to what the readers use.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { HostReads } from './recording-sysroot.js';
import { Sysroot } from './sysroot.js';

export type CaptureEntry = { kind: 'dir' } | { kind: 'file'; data: Buffer } | { kind: 'sparse'; size: number } | { kind: 'link'; target: string };

/** Host path → what the capture holds there; parents are implied. */
export type Capture = Map<string, CaptureEntry>;

const MAX_LINKS = 40;
const FD_LINK = /^\/proc\/\d+\/fd\/\d+$/;
const PID_PATH = /^\/proc\/\d+(\/|$)/;
// Device files a process may hold that say nothing about a device boot-vm hands over (terminals, pseudo-devices, shared memory).
const COMMON_DEVICE = /^\/dev\/(null|zero|full|random|urandom|ptmx|console|tty.*|pts\/.*|shm\/.*|mqueue\/.*|kmsg|rfkill|fuse|net\/tun|autofs|log)$/;
const SYSTEM_ID_LIMIT = 1000;

/** What a process's open file may be kept as: only device files that could be a passed device's. */
const keptHeldFile = (target: string) => target.startsWith('/dev/') && !COMMON_DEVICE.test(target);

/**
 * /etc/passwd and /etc/group, cut to names and ids: system accounts (id below 1000) and the users
 * named in `users` (host.runAs); no home, shell, full name or group members.
 */
function accountLines(text: string, users: ReadonlySet<string>, group: boolean): string {
  const lines = text.split('\n').flatMap((line) => {
    const [name = '', , id = '', gid = ''] = line.split(':');
    if (name === '' || !/^\d+$/.test(id) || (Number(id) >= SYSTEM_ID_LIMIT && !users.has(name))) return [];
    return [group ? `${name}:x:${id}:` : `${name}:x:${id}:${gid}::/:/usr/sbin/nologin`];
  });
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The file's content as the capture keeps it. */
function filtered(hostPath: string, data: Buffer, users: ReadonlySet<string>): Buffer {
  if (hostPath === '/etc/passwd') return Buffer.from(accountLines(data.toString('utf8'), users, false));
  if (hostPath === '/etc/group') return Buffer.from(accountLines(data.toString('utf8'), users, true));
  // Mounts of disks and under users' directories name them; what the readers look for (hugetlbfs) is a virtual file system.
  if (/^\/proc\/(\d+\/)?mounts$/.test(hostPath)) {
    const kept = data.toString('utf8').split('\n').filter((line) => {
      const [source = '', point = ''] = line.split(' ');
      return source !== '' && !source.startsWith('/') && !/^\/(home|media|mnt|run\/user)(\/|$)/.test(point);
    });
    return Buffer.from(kept.length > 0 ? `${kept.join('\n')}\n` : '');
  }
  return data;
}

function readLink(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}

export interface CaptureOptions {
  /** Users the profiles name (host.runAs), kept in /etc/passwd besides the system accounts. */
  users?: ReadonlySet<string>;
}

/** Builds the capture of `root` (a host root, `/` for this machine) from what the readers read there. */
export function captureReads(root: string, reads: HostReads, options: CaptureOptions = {}): Capture {
  const users = options.users ?? new Set<string>();
  const capture: Capture = new Map();
  const source = new Sysroot(root);
  const real = (hostPath: string) => source.path(hostPath);
  const lstat = (hostPath: string): Stats | undefined => {
    try {
      return lstatSync(real(hostPath));
    } catch {
      return undefined;
    }
  };
  const put = (hostPath: string, entry: CaptureEntry) => {
    const had = capture.get(hostPath);
    // Content read beats a placeholder; a directory or link stays what it is.
    if (had && (had.kind === 'dir' || had.kind === 'link' || (had.kind === 'file' && entry.kind !== 'file'))) return;
    capture.set(hostPath, entry);
  };
  const privateLink = (hostPath: string, target: string) => FD_LINK.test(hostPath) && !keptHeldFile(target);

  /** Walks a host path as the kernel would, keeping the links on the way; the real path it ends at, or undefined. */
  const walk = (hostPath: string, followLast: boolean, depth = 0): string | undefined => {
    const parts = posix.normalize(hostPath).split('/').filter((part) => part !== '');
    let at = '';
    for (const [i, part] of parts.entries()) {
      if (part === '..') {
        at = posix.dirname(at || '/');
        if (at === '/') at = '';
        continue;
      }
      const next = `${at}/${part}`;
      const stat = lstat(next);
      if (!stat) return undefined;
      const last = i === parts.length - 1;
      if (stat.isSymbolicLink()) {
        const target = readLink(real(next));
        if (target === undefined || privateLink(next, target)) return undefined;
        put(next, { kind: 'link', target });
        if (last && !followLast) return next;
        if (depth >= MAX_LINKS) return undefined;
        const resolved = walk(posix.isAbsolute(target) ? target : posix.join(at || '/', target), true, depth + 1);
        if (resolved === undefined) return undefined;
        at = resolved === '/' ? '' : resolved;
      } else {
        if (stat.isDirectory()) put(next, { kind: 'dir' });
        at = next;
      }
    }
    return at || '/';
  };

  // Sizes only where a reader asked for one: a disk image tested for existence stays empty.
  const placeholder = (hostPath: string, stat: Stats, sized = false) => {
    if (stat.isDirectory()) put(hostPath, { kind: 'dir' });
    else if (stat.isSymbolicLink()) {
      const target = readLink(real(hostPath));
      if (target !== undefined && !privateLink(hostPath, target)) put(hostPath, { kind: 'link', target });
    } else put(hostPath, { kind: 'sparse', size: sized && stat.isFile() ? stat.size : 0 });
  };

  for (const dir of reads.listed) {
    const at = walk(dir, true);
    if (at === undefined) continue;
    let names: string[];
    try {
      names = readdirSync(real(at));
    } catch {
      continue;
    }
    for (const name of names) {
      const entry = posix.join(at, name);
      // Processes appear through what the readers read of them (a held device, /proc/self), not by listing.
      if (PID_PATH.test(entry)) continue;
      const stat = lstat(entry);
      if (stat) placeholder(entry, stat);
    }
  }
  for (const link of reads.links) {
    const parent = walk(posix.dirname(link), true);
    if (parent === undefined) continue;
    const at = posix.join(parent, posix.basename(link));
    const stat = lstat(at);
    if (stat?.isSymbolicLink()) placeholder(at, stat);
  }
  for (const path of [...reads.probed, ...reads.sized]) {
    const at = walk(path, true);
    const stat = at === undefined ? undefined : lstat(at);
    if (at !== undefined && stat) placeholder(at, stat, reads.sized.has(path));
  }
  const holders = new Set([...capture.keys()].filter((key) => FD_LINK.test(key)).map((key) => key.split('/')[2]));
  for (const [path, maxBytes] of reads.files) {
    const at = walk(path, true);
    const stat = at === undefined ? undefined : lstat(at);
    if (at === undefined || !stat) continue;
    // A held device's process name, only for the processes whose held device was kept.
    if (/^\/proc\/\d+\/comm$/.test(at) && !holders.has(at.split('/')[2])) continue;
    if (!stat.isFile()) {
      placeholder(at, stat);
      continue;
    }
    const data = source.readBytes(at, maxBytes);
    if (data === undefined) placeholder(at, stat);
    else put(at, { kind: 'file', data: filtered(at, data, users) });
  }
  return capture;
}
