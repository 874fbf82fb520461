/**
 * The tasks runnable (state R: on a CPU, or waiting for one) on some CPUs, from every task's
 * /proc/<pid>/task/<tid>/stat. Listing the tasks (a readdir per process) costs more than reading
 * them, so `refresh()` lists them and keeps each stat file open, and `scan()` re-reads those from
 * offset 0, one pread each. `runningNow()` (one pread of /proc/loadavg) tells first whether a scan
 * can find anything. Read from this machine's /proc, as lib/host/threads.ts is.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

export interface RunnableTask {
  /** The process (thread group) the task belongs to. */
  pid: number;
  tid: number;
  /** The thread's name (comm). */
  name: string;
  /** The CPU it runs or waits on. */
  cpu: number;
}

// After the last ')' (the name may hold any character), field 3 (state) comes first: field N is at N - 3.
const STAT_PROCESSOR = 39 - 3;
const [OPEN, CLOSE, R] = ['(', ')', 'R'].map((char) => char.charCodeAt(0)) as [number, number, number];

interface Task {
  pid: number;
  fd: number;
}

export class RunnableScanner {
  private readonly tasks = new Map<number, Task>();
  // A stat line is about 300 bytes; the name is at most 64.
  private readonly buffer = Buffer.alloc(1024);
  private loadavg: number | undefined;

  constructor(private readonly proc = '/proc') {}

  /**
   * Tasks runnable on the whole machine now, the caller included (the 4th field of /proc/loadavg,
   * "running/total"): when the caller's own threads account for them all, a scan finds nothing.
   */
  runningNow(): number {
    this.loadavg ??= openSync(`${this.proc}/loadavg`, 'r');
    const length = readSync(this.loadavg, this.buffer, 0, this.buffer.length, 0);
    return Number(/ (\d+)\//.exec(this.buffer.toString('latin1', 0, length))?.[1] ?? Infinity);
  }

  /** Lists the tasks now: opens the new ones' stat files, closes the gone ones'. Tasks of `skipPids` are not read. */
  refresh(skipPids: ReadonlySet<number>): void {
    const seen = new Set<number>();
    for (const entry of readdirSync(this.proc)) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || skipPids.has(pid)) continue;
      let tids: string[];
      try {
        tids = readdirSync(`${this.proc}/${pid}/task`);
      } catch {
        continue; // it exited since the listing
      }
      for (const name of tids) {
        const tid = Number(name);
        seen.add(tid);
        const known = this.tasks.get(tid);
        if (known?.pid === pid) continue;
        if (known) this.drop(tid, known);
        try {
          this.tasks.set(tid, { pid, fd: openSync(`${this.proc}/${pid}/task/${tid}/stat`, 'r') });
        } catch {
          // it exited since the listing
        }
      }
    }
    for (const [tid, task] of this.tasks) if (!seen.has(tid)) this.drop(tid, task);
  }

  /** The listed tasks that are runnable on one of `cpus` now. */
  scan(cpus: ReadonlySet<number>): RunnableTask[] {
    const found: RunnableTask[] = [];
    for (const [tid, task] of this.tasks) {
      let length: number;
      try {
        length = readSync(task.fd, this.buffer, 0, this.buffer.length, 0);
      } catch {
        this.drop(tid, task); // ESRCH: it exited
        continue;
      }
      const close = length > 0 ? this.buffer.lastIndexOf(CLOSE, length - 1) : -1;
      if (close < 0 || this.buffer[close + 2] !== R) continue;
      const cpu = Number(this.buffer.toString('latin1', close + 2, length).split(' ')[STAT_PROCESSOR]);
      if (cpus.has(cpu)) found.push({ pid: task.pid, tid, name: this.buffer.toString('utf8', this.buffer.indexOf(OPEN) + 1, close), cpu });
    }
    return found;
  }

  close(): void {
    for (const [tid, task] of this.tasks) this.drop(tid, task);
    if (this.loadavg !== undefined) closeSync(this.loadavg);
    this.loadavg = undefined;
  }

  private drop(tid: number, task: Task): void {
    closeSync(task.fd);
    this.tasks.delete(tid);
  }
}
