/**
 * Processes boot-vm started, recognised by pid and start time so a reused pid is not mistaken for
 * them. This reads this machine's /proc even with a fake sysroot: the processes run here.
 */
import { readFileSync } from 'node:fs';

export interface ProcessRef {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. */
  start: string;
}

function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function refOf(pid: number): ProcessRef | undefined {
  const start = startOf(pid);
  return start === undefined ? undefined : { pid, start };
}

export const isAlive = (ref: ProcessRef | undefined): ref is ProcessRef => ref !== undefined && startOf(ref.pid) === ref.start;
