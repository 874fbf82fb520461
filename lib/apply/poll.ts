/** Waiting without fixed sleeps: check, and check again after a short interval, until done or timed out. */
import { BootVmError } from '../errors.js';

/** A wait that ran out of time, naming what it waited for. */
export class WaitTimeout extends BootVmError {}

export interface PollOptions {
  /** What is waited for, for messages: "0000:01:00.0 to be on vfio-pci". */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Called once when the wait passes a second, for progress output. */
  onSlow?: (what: string) => void;
  signal?: AbortSignal;
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no listener behind either way. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves with `check`'s first defined answer; throws WaitTimeout naming what was waited for. */
export async function pollUntil<T>(check: () => T | undefined, options: PollOptions): Promise<T> {
  const started = Date.now();
  let slow = false;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    const elapsed = Date.now() - started;
    if (options.signal?.aborted) throw new WaitTimeout(`stopped waiting for ${options.what}`);
    if (elapsed >= options.timeoutMs) throw new WaitTimeout(`waited ${(elapsed / 1000).toFixed(1)}s for ${options.what}`);
    if (!slow && elapsed >= 1000) {
      slow = true;
      options.onSlow?.(options.what);
    }
    await pause(Math.min(options.intervalMs ?? 100, options.timeoutMs - elapsed), options.signal);
  }
}
