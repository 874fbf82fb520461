/**
 * A running process's threads as the kernel sees them: name, allowed CPUs, scheduling policy and
 * priority, the CPU each last ran on. Read from this machine's /proc even with a fake sysroot:
 * the QEMU boot-vm started runs here, whatever host tree it was planned against.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { parseCpuList } from '../cpu-list.js';

/** Linux's SCHED_* numbers (stat field 41) by name, as chrt names them. */
const POLICY_OF_NUMBER = { 0: 'other', 1: 'fifo', 2: 'rr', 3: 'batch', 5: 'idle', 6: 'deadline' } as const;

export type ThreadPolicy = (typeof POLICY_OF_NUMBER)[keyof typeof POLICY_OF_NUMBER];

export interface ThreadState {
  tid: number;
  /** The thread's name (comm): QEMU's debug-threads=on names vCPU threads `CPU 0/TCG` or `CPU 0/KVM`. */
  name: string;
  allowed: number[];
  policy: ThreadPolicy;
  /** Real-time priority: 1–99 for fifo and rr, 0 otherwise. */
  priority: number;
  nice: number;
  /** The CPU it ran on last. */
  cpu: number;
  /** Context switches so far: voluntary (it blocked or slept) and involuntary (it was preempted). */
  switches: { voluntary: number; involuntary: number };
}

// After the last ')' (the name may hold any character), field 3 comes first: field N is at N - 3.
const STAT_NICE = 19 - 3;
const STAT_PROCESSOR = 39 - 3;
const STAT_RT_PRIORITY = 40 - 3;
const STAT_POLICY = 41 - 3;

const VOLUNTARY = /^voluntary_ctxt_switches:\s*(\d+)$/m;
const INVOLUNTARY = /^nonvoluntary_ctxt_switches:\s*(\d+)$/m;

/** One thread of `pid`; undefined when it has exited (or never was). */
export function readThread(pid: number, tid: number): ThreadState | undefined {
  try {
    const dir = `/proc/${pid}/task/${tid}`;
    const stat = readFileSync(`${dir}/stat`, 'utf8');
    const status = readFileSync(`${dir}/status`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const allowed = parseCpuList(/^Cpus_allowed_list:\s*(\S*)$/m.exec(status)?.[1] ?? '') ?? [];
    const policy = POLICY_OF_NUMBER[Number(fields[STAT_POLICY]) as keyof typeof POLICY_OF_NUMBER] ?? 'other';
    const switches = { voluntary: Number(VOLUNTARY.exec(status)?.[1] ?? 0), involuntary: Number(INVOLUNTARY.exec(status)?.[1] ?? 0) };
    return { tid, name, allowed, policy, priority: Number(fields[STAT_RT_PRIORITY]), nice: Number(fields[STAT_NICE]), cpu: Number(fields[STAT_PROCESSOR]), switches };
  } catch {
    return undefined;
  }
}

/** Every thread of `pid` now, by thread id; empty when the process is gone. */
export function readThreads(pid: number): ThreadState[] {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
  return tids
    .sort((a, b) => a - b)
    .map((tid) => readThread(pid, tid))
    .filter((thread): thread is ThreadState => thread !== undefined);
}
