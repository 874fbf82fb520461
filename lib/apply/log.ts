/**
 * What applying prints: one line per step (what, where, result) on stderr, `--quiet` for
 * failures and warnings only, `--json` for one JSON object per line. A wait that passes a second
 * shows progress: zx's spinner on a terminal, a plain line otherwise.
 */
import type { Step } from '../plan/step.js';

export type LogMode = 'text' | 'quiet' | 'json';

export type StepResult = 'done' | 'skipped' | 'failed' | 'undone' | 'undo-failed';

export interface Logger {
  step(step: Pick<Step, 'n' | 'id' | 'phase' | 'title'>, result: StepResult, detail?: string): void;
  info(message: string): void;
  warn(message: string): void;
  /** Shows progress for `promise` once it has taken over a second. */
  wait<T>(what: string, promise: Promise<T>): Promise<T>;
}

export interface LoggerOptions {
  mode: LogMode;
  total: number;
  write?: (line: string) => void;
  isTty?: boolean;
}

export function createLogger({ mode, total, write = (line) => process.stderr.write(`${line}\n`), isTty = process.stderr.isTTY === true }: LoggerOptions): Logger {
  const json = (event: Record<string, unknown>) => write(JSON.stringify(event));
  return {
    step(step, result, detail) {
      if (mode === 'json') return json({ event: 'step', n: step.n, id: step.id, phase: step.phase, title: step.title, result, ...(detail ? { detail } : {}) });
      if (mode === 'quiet' && result !== 'failed' && result !== 'undo-failed') return;
      write(`boot-vm: [${step.n}/${total}] ${step.phase}: ${step.title}: ${result}${detail ? ` (${detail})` : ''}`);
    },
    info(message) {
      if (mode === 'json') json({ event: 'info', message });
      else if (mode === 'text') write(`boot-vm: ${message}`);
    },
    warn(message) {
      if (mode === 'json') json({ event: 'warning', message });
      else write(`boot-vm: warning: ${message}`);
    },
    async wait(what, promise) {
      let settled = false;
      const done = promise.finally(() => (settled = true));
      const started = Date.now();
      await Promise.race([done.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      if (settled || mode === 'quiet') return done;
      if (mode === 'json') {
        json({ event: 'waiting', what });
        return done;
      }
      if (isTty) {
        const { spinner } = await import('zx');
        return spinner(`waiting for ${what}`, () => done);
      }
      write(`boot-vm: waiting for ${what}…`);
      return done.finally(() => write(`boot-vm: waited ${((Date.now() - started) / 1000).toFixed(1)}s for ${what}`));
    },
  };
}
