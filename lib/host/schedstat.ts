/**
 * A thread's scheduling counters from /proc/<pid>/task/<tid>/schedstat: time on a CPU, time spent
 * runnable but waiting for one ("run delay"), and how many times it was put on a CPU. The kernel
 * adds a whole wait to the run delay at once, when the waiting thread gets its CPU, so a sampler
 * that reads every few milliseconds sees each wait as one step: that step is the wait's length.
 * Read from this machine's /proc, as lib/host/threads.ts is.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';

export interface Schedstat {
  onCpuNs: number;
  runDelayNs: number;
  /** Times the thread was put on a CPU (each ends a wait, if it waited). */
  slices: number;
}

export function parseSchedstat(text: string): Schedstat | undefined {
  const fields = text.trim().split(/\s+/).map(Number);
  if (fields.length < 3 || fields.some((field) => !Number.isFinite(field) || field < 0)) return undefined;
  return { onCpuNs: fields[0]!, runDelayNs: fields[1]!, slices: fields[2]! };
}

/** Every thread of `pid` now, by thread id: one read each, for threads watched at a coarser grain than the sampler's. */
export function readSchedstats(pid: number, proc = '/proc'): Map<number, Schedstat> {
  const counters = new Map<number, Schedstat>();
  let tids: string[];
  try {
    tids = readdirSync(`${proc}/${pid}/task`);
  } catch {
    return counters;
  }
  for (const tid of tids) {
    try {
      const schedstat = parseSchedstat(readFileSync(`${proc}/${pid}/task/${tid}/schedstat`, 'latin1'));
      if (schedstat) counters.set(Number(tid), schedstat);
    } catch {
      // it exited since the listing
    }
  }
  return counters;
}

/** What one thread did between two `take()`s. */
export interface ThreadWindow {
  tid: number;
  onCpuNs: number;
  runDelayNs: number;
  slices: number;
  /** The longest single wait that ended in the window, as the samples saw it. */
  longestWaitNs: number;
  /** The thread ended (or its counters went backwards: another thread now has its id) during the window. */
  exited: boolean;
}

interface Tracked {
  tid: number;
  fd?: number;
  last?: Schedstat;
  window: Omit<ThreadWindow, 'tid'>;
}

const [ZERO, NINE] = [48, 57];

const emptyWindow = () => ({ onCpuNs: 0, runDelayNs: 0, slices: 0, longestWaitNs: 0, exited: false });

/**
 * Samples threads' schedstat cheaply: each file is opened once and re-read from offset 0 (a fresh
 * snapshot for /proc's seq files), so a sample is one pread per thread.
 */
export class SchedstatSampler {
  private readonly threads: Tracked[];
  private readonly buffer = Buffer.alloc(128);

  constructor(
    pid: number,
    tids: readonly number[],
    proc = '/proc',
  ) {
    this.threads = tids.map((tid) => {
      const tracked: Tracked = { tid, window: emptyWindow() };
      try {
        tracked.fd = openSync(`${proc}/${pid}/task/${tid}/schedstat`, 'r');
      } catch {
        tracked.window.exited = true;
      }
      return tracked;
    });
    this.sample();
  }

  /** Reads every thread once and folds the change since the last read into its window. */
  sample(): void {
    for (const thread of this.threads) {
      if (thread.fd === undefined) continue;
      const now = this.read(thread.fd);
      if (!now) {
        this.forget(thread);
        continue;
      }
      const last = thread.last;
      thread.last = now;
      if (!last) continue;
      const onCpu = now.onCpuNs - last.onCpuNs;
      const delay = now.runDelayNs - last.runDelayNs;
      const slices = now.slices - last.slices;
      if (onCpu < 0 || delay < 0 || slices < 0) {
        // Counters never go back for one thread: the id now names a new thread, not the one we watched.
        this.forget(thread);
        continue;
      }
      const window = thread.window;
      window.onCpuNs += onCpu;
      window.runDelayNs += delay;
      window.slices += slices;
      // One slice: the step is exactly that wait. Several: they share the step; the mean is their least longest.
      const wait = slices <= 1 ? delay : delay / slices;
      if (wait > window.longestWaitNs) window.longestWaitNs = wait;
    }
  }

  /** Each thread's window since the last take (or since construction), then starts new windows. */
  take(): ThreadWindow[] {
    return this.threads.map((thread) => {
      const window = { tid: thread.tid, ...thread.window };
      thread.window = { ...emptyWindow(), exited: thread.fd === undefined };
      return window;
    });
  }

  /** Whether a watched thread has gone (or never was). */
  get exited(): boolean {
    return this.threads.some((thread) => thread.fd === undefined);
  }

  close(): void {
    for (const thread of this.threads) this.forget(thread, false);
  }

  /** Parsed from the bytes, without a string: this runs every few ms, and each allocation costs there. */
  private read(fd: number): Schedstat | undefined {
    let length: number;
    try {
      length = readSync(fd, this.buffer, 0, this.buffer.length, 0);
    } catch {
      return undefined; // ESRCH: the thread has exited
    }
    const fields = [0, 0, 0];
    let field = 0;
    let digits = 0;
    for (let i = 0; i < length && field < 3; i++) {
      const byte = this.buffer[i]!;
      if (byte >= ZERO && byte <= NINE) {
        fields[field] = fields[field]! * 10 + byte - ZERO;
        digits++;
      } else if (digits > 0) {
        field++;
        digits = 0;
      }
    }
    if (digits > 0) field++;
    return field === 3 ? { onCpuNs: fields[0]!, runDelayNs: fields[1]!, slices: fields[2]! } : undefined;
  }

  private forget(thread: Tracked, exited = true): void {
    if (thread.fd !== undefined) closeSync(thread.fd);
    thread.fd = undefined;
    if (exited) thread.window.exited = true;
  }
}
