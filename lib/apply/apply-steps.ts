/** Applies steps in order, journaling each change; undoes journaled changes in reverse. */
import { StepFailedError } from '../errors.js';
import type { Phase, Step } from '../plan/step.js';
import { doAction, undoAction, type ApplyContext } from './actions.js';
import { describeError } from './host-io.js';
import type { JournalEntry } from './journal.js';

/** The step that failed and why; `applySteps` throws it after undoing what it had done. */
export class StepFailure extends Error {
  override name = 'StepFailure';
  constructor(
    readonly step: Step,
    readonly reason: string,
  ) {
    super(`step ${step.n} (${step.title}) failed: ${reason}`);
  }
}

/** Applies the steps of one phase in order. Stops at the first failure (or when `signal` aborts) and throws StepFailure. */
export async function applySteps(steps: Step[], context: ApplyContext): Promise<void> {
  for (const step of steps) {
    if (step.skip) {
      context.log.step(step, 'skipped', step.skip);
      continue;
    }
    if (context.signal?.aborted) throw new StepFailure(step, 'stopped by a signal before it started');
    const notes: string[] = [];
    try {
      for (const action of step.actions) notes.push(...(await doAction(step, action, context)));
    } catch (error) {
      context.log.step(step, 'failed', error instanceof Error ? error.message : String(error));
      throw new StepFailure(step, error instanceof Error ? error.message : String(error));
    }
    context.log.step(step, 'done', notes.join('; ') || undefined);
  }
}

export interface UndoResult {
  /** Changes that could not be put back, one line each. */
  failures: string[];
}

/**
 * Undoes the journal's entries from the last back to `keep` (entries before it stay), removing each
 * from the journal as it goes, so that an interrupted teardown resumes where it stopped.
 */
export async function undoEntries(context: ApplyContext, keep = 0): Promise<UndoResult> {
  const { journal } = context;
  const oldValues = new Map<string, string>();
  // Old values of the entries undone here only: a kept entry's value is what they go back to.
  for (const entry of journal.state.entries.slice(keep)) if (entry.path !== undefined && entry.old !== undefined && !oldValues.has(entry.path)) oldValues.set(entry.path, entry.old);
  const restored = new Set<string>();
  const failures: string[] = [];
  const byStep = new Map<number, { entry: JournalEntry; notes: string[]; failed: boolean }>();
  while (journal.state.entries.length > keep) {
    const entry = journal.state.entries[journal.state.entries.length - 1]!;
    const report = byStep.get(entry.n) ?? { entry, notes: [], failed: false };
    byStep.set(entry.n, report);
    for (const action of entry.undo) {
      try {
        report.notes.push(...(await undoAction(action, entry, context, oldValues, restored)));
      } catch (error) {
        report.failed = true;
        const line = `step ${entry.n} (${entry.step}): ${error instanceof Error ? error.message : describeError(error)}`;
        report.notes.push(error instanceof Error ? error.message : describeError(error));
        failures.push(line);
      }
    }
    journal.state.entries.pop();
    journal.save();
  }
  for (const { entry, notes, failed } of byStep.values()) {
    context.log.step({ n: entry.n, id: entry.step, phase: entry.phase, title: `undo ${entry.step}` }, failed ? 'undo-failed' : 'undone', notes.join('; ') || undefined);
  }
  return { failures };
}

/** The steps of one phase, in plan order; hook steps are not among them (lib/apply/hooks.ts runs those). */
export const stepsOf = (steps: Step[], phase: Phase) => steps.filter((step) => step.phase === phase && !step.actions.some(({ do: action }) => action.kind === 'hook'));

/** A StepFailure after its rollback, as the error the CLI prints. */
export function rolledBack(failure: StepFailure, undo: UndoResult): StepFailedError {
  const after = undo.failures.length === 0 ? 'everything done before it was undone' : `undoing what was done before it also failed: ${undo.failures.join('; ')}`;
  return new StepFailedError(`${failure.message}; ${after}`);
}
