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

/** Fields 3 (state) and 22 (start time) of /proc/<pid>/stat. */
function statOf(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, start: fields[19]! };
  } catch {
    return undefined;
  }
}

export function refOf(pid: number): ProcessRef | undefined {
  const stat = statOf(pid);
  return stat === undefined ? undefined : { pid, start: stat.start };
}

/** A zombie (Z: exited, its parent has not reaped it yet) or a dead one (X) has exited: it holds nothing. */
export function isAlive(ref: ProcessRef | undefined): ref is ProcessRef {
  if (ref === undefined) return false;
  const stat = statOf(ref.pid);
  return stat?.start === ref.start && stat.state !== 'Z' && stat.state !== 'X';
}
