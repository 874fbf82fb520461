/** prepare-host: the prepare phase alone (for @reboot or a systemd unit), its journal kept for the launch. */
import type { Plan } from '../plan/plan.js';
import { applySteps, rolledBack, stepsOf, StepFailure, undoEntries } from './apply-steps.js';
import { Journal } from './journal.js';
import { assertNotRunning, contextOf, createJournal, isPreparedOnly, journalFileOf, leftoverError, preparedBy, preparedIds, type SessionOptions } from './session.js';

/** Applies the prepare steps; returns a one-line summary. Already prepared by this plan: nothing to do. */
export async function prepareHost(plan: Plan, options: SessionOptions): Promise<string> {
  const existing = Journal.load(journalFileOf(options.sysroot, plan.profile), options.io);
  if (existing) {
    assertNotRunning(existing, plan.profile);
    if (!isPreparedOnly(existing)) throw leftoverError(existing, plan.profile);
    if (preparedBy(existing.state.prepared, plan)) return `${plan.profile}: the host is prepared already (${existing.file})\n`;
    throw leftoverError(existing, plan.profile);
  }
  const journal = createJournal(plan, options);
  const context = contextOf(options, journal);
  try {
    await applySteps(stepsOf(plan.steps, 'prepare'), context);
  } catch (error) {
    const undo = await undoEntries(context);
    journal.remove();
    if (error instanceof StepFailure) throw rolledBack(error, undo);
    throw error;
  }
  delete journal.state.launcher;
  journal.state.phases = ['prepare'];
  journal.state.prepared = preparedIds(plan);
  journal.save();
  return `${plan.profile}: the host is prepared; boot-vm ${plan.profile} keeps these steps, scripts/teardown.mjs ${plan.profile} undoes them (${journal.file})\n`;
}
