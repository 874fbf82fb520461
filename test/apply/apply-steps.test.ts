// applySteps (in order, skipped steps logged, stops at the first failure with a StepFailure naming
// the step, abort signal) and undoEntries (reverse order, restores once, past failures, `keep`,
// entries removed from the journal as it goes so an interrupted teardown resumes, a refused write
// leaving nothing to undo), stepsOf and rolledBack. Hand-written steps on a temporary tree.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ApplyContext } from '../../lib/apply/actions.js';
import { applySteps, rolledBack, StepFailure, stepsOf, undoEntries } from '../../lib/apply/apply-steps.js';
import { nodeHostIo, type HostIo } from '../../lib/apply/host-io.js';
import { Journal, type JournalState } from '../../lib/apply/journal.js';
import { createLogger } from '../../lib/apply/log.js';
import { StepFailedError } from '../../lib/errors.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { setValue, type Phase, type Step, type StepAction } from '../../lib/plan/step.js';
import { rejection, tree } from '../fixtures/trees.js';

const stepOf = (n: number, id: string, actions: StepAction[], extra: { phase?: Phase; skip?: string } = {}): Step => ({
  n,
  id,
  phase: extra.phase ?? 'prepare',
  title: `title of ${id}`,
  from: [],
  notes: [],
  actions,
  ...(extra.skip ? { skip: extra.skip } : {}),
});

const trigger = (path: string, value: string, undoPath: string, undoValue: string): StepAction => ({
  do: { kind: 'trigger', path, value },
  undo: [{ kind: 'trigger', path: undoPath, value: undoValue }],
});

const FILES = { 'sys/a': 'a-old\n', 'sys/b': 'b-old\n', 'sys/c': 'c-old\n', 'sys/t': '', 'sys/t-undo': '' };

interface Harness {
  root: string;
  context: ApplyContext;
  journal: Journal;
  lines: string[];
  /** Writes under the sysroot, as `path=text` with the root cut off. */
  writes: string[];
  text: (path: string) => string;
}

function harness(t: Test, files: Record<string, string> = FILES, ioOverride: Partial<HostIo> = {}): Harness {
  const root = tree(t, files);
  const writes: string[] = [];
  const io: HostIo = {
    ...nodeHostIo,
    write(path, text) {
      writes.push(`${path.slice(root.length)}=${text}`);
      nodeHostIo.write(path, text);
    },
    ...ioOverride,
  };
  const state: JournalState = { version: 1, vm: 'vm', file: '/p/vm.yaml', sysroot: root, phases: [], prepared: [], createdDirs: [], entries: [] };
  const journal = new Journal(join(root, 'run/boot-vm/vm.journal'), state, io);
  const lines: string[] = [];
  const context: ApplyContext = { sysroot: new Sysroot(root), io, journal, log: createLogger({ mode: 'text', total: 4, write: (line) => lines.push(line), isTty: false }), runCommand: async () => {} };
  return { root, context, journal, lines, writes, text: (path) => readFileSync(join(root, path), 'utf8') };
}


/** Four steps: two sets, a trigger, a skipped step and a command. */
const fourSteps = () => [
  stepOf(1, 'one', [setValue('/sys/a', 'a-new')]),
  stepOf(2, 'two', [trigger('/sys/t', 'go', '/sys/t-undo', 'back'), setValue('/sys/b', 'b-new')]),
  stepOf(3, 'three', [setValue('/sys/c', 'c-new')], { skip: 'nothing to do here' }),
  stepOf(4, 'four', [{ do: { kind: 'run', argv: ['systemctl', 'start', 'x'] }, undo: [{ kind: 'run', argv: ['systemctl', 'stop', 'x'] }] }], { phase: 'launch' }),
];

t.test('applySteps applies the steps in order and logs each', async (t) => {
  const h = harness(t);
  await applySteps(fourSteps(), h.context);
  t.strictSame(h.writes, ['/sys/a=a-new\n', '/sys/t=go\n', '/sys/b=b-new\n']);
  t.equal(h.text('sys/c'), 'c-old\n', 'the skipped step changed nothing');
  t.strictSame(h.lines, [
    'boot-vm: [1/4] prepare: title of one: done',
    'boot-vm: [2/4] prepare: title of two: done',
    'boot-vm: [3/4] prepare: title of three: skipped (nothing to do here)',
    `boot-vm: [4/4] launch: title of four: done (logged, not run: systemctl start x (${h.root} is not the live host))`,
  ]);
  t.strictSame(
    h.journal.state.entries.map((e) => [e.n, e.step, e.phase, e.old ?? null]),
    [
      [1, 'one', 'prepare', 'a-old\n'],
      [2, 'two', 'prepare', null],
      [2, 'two', 'prepare', 'b-old\n'],
      [4, 'four', 'launch', null],
    ],
  );
});

t.test('applySteps stops at the first failing step and throws a StepFailure naming it', async (t) => {
  const h = harness(t);
  const steps = [
    stepOf(1, 'one', [setValue('/sys/a', 'a-new')]),
    stepOf(2, 'two', [trigger('/sys/t', 'go', '/sys/t-undo', 'back'), setValue('/sys/missing', 'x'), setValue('/sys/b', 'b-new')]),
    stepOf(3, 'three', [setValue('/sys/c', 'c-new')]),
  ];
  const error = await rejection(applySteps(steps, h.context));
  t.type(error, StepFailure);
  const failure = error as StepFailure;
  const reason = `cannot read ${join(h.root, 'sys/missing')}: ENOENT (no such file or directory)`;
  t.equal(failure.message, `step 2 (title of two) failed: ${reason}`);
  t.equal(failure.name, 'StepFailure');
  t.equal(failure.step, steps[1]);
  t.equal(failure.reason, reason);
  t.strictSame(h.writes, ['/sys/a=a-new\n', '/sys/t=go\n'], 'nothing after the failing action');
  t.strictSame(h.lines, ['boot-vm: [1/4] prepare: title of one: done', `boot-vm: [2/4] prepare: title of two: failed (${reason})`]);
  t.strictSame(h.journal.state.entries.map((e) => e.step), ['one', 'two'], 'what was done stays journaled for the rollback');
});

t.test('applySteps does not start a step once the signal has aborted', async (t) => {
  const h = harness(t);
  const stop = new AbortController();
  stop.abort();
  const error = await rejection(applySteps(fourSteps(), { ...h.context, signal: stop.signal }));
  t.type(error, StepFailure);
  t.equal(error.message, 'step 1 (title of one) failed: stopped by a signal before it started');
  t.strictSame(h.writes, []);
});

t.test('undoEntries undoes everything in reverse, restoring each old value once', async (t) => {
  const h = harness(t);
  await applySteps(fourSteps(), h.context);
  h.writes.length = 0;
  h.lines.length = 0;
  t.strictSame(await undoEntries(h.context), { failures: [] });
  t.strictSame(h.writes, ['/sys/b=b-old\n', '/sys/t-undo=back\n', '/sys/a=a-old\n']);
  t.equal(h.text('sys/a'), 'a-old\n');
  t.equal(h.text('sys/b'), 'b-old\n');
  t.strictSame(h.journal.state.entries, []);
  t.strictSame(JSON.parse(readFileSync(h.journal.file, 'utf8')).entries, [], 'saved');
  t.strictSame(h.lines, [
    `boot-vm: [4/4] launch: undo four: undone (logged, not run: systemctl stop x (${h.root} is not the live host))`,
    'boot-vm: [2/4] prepare: undo two: undone',
    'boot-vm: [1/4] prepare: undo one: undone',
  ]);
});

t.test('undoEntries restores a path named by several entries once, to the first old value', async (t) => {
  const override = '/sys/bus/pci/devices/0000:01:00.0/driver_override';
  const h = harness(t, { [override.slice(1)]: '(null)\n', 'sys/bus/pci/drivers_probe': '', 'sys/bus/pci/drivers/vfio-pci/unbind': '' });
  const bind = stepOf(3, 'bind-vfio 0000:01:00.0', [
    setValue(override, 'vfio-pci'),
    { do: { kind: 'trigger', path: '/sys/bus/pci/drivers_probe', value: '0000:01:00.0' }, undo: [{ kind: 'trigger', path: '/sys/bus/pci/drivers/vfio-pci/unbind', value: '0000:01:00.0' }, { kind: 'restore', path: override }] },
  ]);
  await applySteps([bind], h.context);
  h.writes.length = 0;
  await undoEntries(h.context);
  t.strictSame(h.writes, ['/sys/bus/pci/drivers/vfio-pci/unbind=0000:01:00.0\n', `${override}=(null)\n`]);
  t.strictSame(h.lines.slice(1), ['boot-vm: [3/4] prepare: undo bind-vfio 0000:01:00.0: undone'], 'one line for the step');
});

t.test('a value set by two steps goes back to the one before the first', async (t) => {
  const h = harness(t);
  await applySteps([stepOf(1, 'one', [setValue('/sys/a', 'by-one')]), stepOf(2, 'two', [setValue('/sys/a', 'by-two')])], h.context);
  h.writes.length = 0;
  t.strictSame(await undoEntries(h.context), { failures: [] });
  t.strictSame(h.writes, ['/sys/a=a-old\n'], 'written once');
});

t.test('a write the kernel refuses both ways: the rollback has nothing of it to undo, and says everything was undone', async (t) => {
  const h = harness(t, FILES, {
    write(path, text) {
      if (path.endsWith('/sys/b')) throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
      h.writes.push(`${path.slice(h.root.length)}=${text}`);
      nodeHostIo.write(path, text);
    },
  });
  const failure = await rejection(applySteps([stepOf(1, 'one', [setValue('/sys/a', 'a-new')]), stepOf(2, 'two', [setValue('/sys/b', 'b-new')])], h.context));
  t.type(failure, StepFailure);
  t.strictSame(h.journal.state.entries.map((e) => e.step), ['one'], 'the refused write is not journaled');
  const undo = await undoEntries(h.context);
  t.strictSame(undo, { failures: [] });
  t.equal(rolledBack(failure as StepFailure, undo).message, `step 2 (title of two) failed: writing "b-new" to ${join(h.root, 'sys/b')}: EINVAL (invalid argument); everything done before it was undone`);
  t.strictSame(h.writes, ['/sys/a=a-new\n', '/sys/a=a-old\n'], 'nothing written to the refusing file on the way back');
  t.equal(h.text('sys/b'), 'b-old\n');
  t.strictSame(h.lines.slice(1), [`boot-vm: [2/4] prepare: title of two: failed (writing "b-new" to ${join(h.root, 'sys/b')}: EINVAL (invalid argument))`, 'boot-vm: [1/4] prepare: undo one: undone']);
});

t.test('undoEntries goes on past a failure and reports it', async (t) => {
  const h = harness(t, FILES);
  await applySteps(fourSteps().slice(0, 2), h.context);
  h.lines.length = 0;
  h.writes.length = 0;
  const failing: HostIo = {
    ...h.context.io,
    write(path, text) {
      if (path.endsWith('/sys/t-undo')) throw Object.assign(new Error(`ENODEV: no such device, write`), { code: 'ENODEV' });
      h.context.io.write(path, text);
    },
  };
  const result = await undoEntries({ ...h.context, io: failing });
  const message = `writing "back" to ${join(h.root, 'sys/t-undo')}: ENODEV (no such device)`;
  t.strictSame(result, { failures: [`step 2 (two): ${message}`] });
  t.strictSame(h.writes, ['/sys/b=b-old\n', '/sys/a=a-old\n'], 'the other changes were put back');
  t.strictSame(h.journal.state.entries, [], 'the failed entry is not kept either');
  t.strictSame(h.lines, [`boot-vm: [2/4] prepare: undo two: undo-failed (${message})`, 'boot-vm: [1/4] prepare: undo one: undone']);
});

t.test('undoEntries with keep leaves the earlier entries', async (t) => {
  const h = harness(t);
  await applySteps(fourSteps().slice(0, 1), h.context);
  const keep = h.journal.state.entries.length;
  await applySteps(fourSteps().slice(1, 2), h.context);
  h.writes.length = 0;
  t.strictSame(await undoEntries(h.context, keep), { failures: [] });
  t.strictSame(h.writes, ['/sys/b=b-old\n', '/sys/t-undo=back\n']);
  t.equal(h.text('sys/a'), 'a-new\n', 'the kept step stays applied');
  t.strictSame(h.journal.state.entries.map((e) => e.step), ['one']);
  t.strictSame(JSON.parse(readFileSync(h.journal.file, 'utf8')).entries.map((e: { step: string }) => e.step), ['one']);
});

t.test('undoEntries with keep puts a path the kept steps also set back to their value', async (t) => {
  const h = harness(t);
  await applySteps([stepOf(1, 'prepare-a', [setValue('/sys/a', 'by-prepare')])], h.context);
  const keep = h.journal.state.entries.length;
  await applySteps([stepOf(2, 'launch-a', [setValue('/sys/a', 'by-launch')], { phase: 'launch' })], h.context);
  t.equal(h.text('sys/a'), 'by-launch\n');
  await undoEntries(h.context, keep);
  t.equal(h.text('sys/a'), 'by-prepare\n', 'the value the kept prepare step set');
});

t.test('an interrupted undo resumes where it stopped', async (t) => {
  const h = harness(t);
  await applySteps(fourSteps().slice(0, 2), h.context);
  const saved: number[] = [];
  let saves = 0;
  const crashing: HostIo = {
    ...h.context.io,
    replace(path, text) {
      if (++saves === 2) throw new Error('killed');
      saved.push(JSON.parse(text).entries.length);
      nodeHostIo.replace(path, text);
    },
  };
  const journal = new Journal(h.journal.file, h.journal.state, crashing);
  h.writes.length = 0;
  const error = await rejection(undoEntries({ ...h.context, journal }));
  t.equal(error.message, 'killed');
  t.strictSame(saved, [2], 'the first entry undone was removed from the file at once');
  t.strictSame(h.writes, ['/sys/b=b-old\n', '/sys/t-undo=back\n']);
  const resumed = Journal.load(h.journal.file, nodeHostIo)!;
  t.strictSame(resumed.state.entries.map((e) => [e.step, e.old ?? null]), [
    ['one', 'a-old\n'],
    ['two', null],
  ]);
  h.writes.length = 0;
  t.strictSame(await undoEntries({ ...h.context, journal: resumed }), { failures: [] });
  t.strictSame(h.writes, ['/sys/t-undo=back\n', '/sys/a=a-old\n'], 'the entry whose save was lost is undone again, then the rest');
  t.equal(h.text('sys/a'), 'a-old\n');
  t.equal(h.text('sys/b'), 'b-old\n');
  t.strictSame(Journal.load(h.journal.file, nodeHostIo)!.state.entries, []);
});

t.test('undoEntries on an empty journal does nothing', async (t) => {
  const h = harness(t);
  t.strictSame(await undoEntries(h.context), { failures: [] });
  t.strictSame(h.lines, []);
  t.strictSame(h.writes, []);
});

t.test('stepsOf keeps one phase in plan order', async (t) => {
  const steps = fourSteps();
  t.strictSame(stepsOf(steps, 'prepare').map((s) => s.n), [1, 2, 3]);
  t.strictSame(stepsOf(steps, 'launch').map((s) => s.n), [4]);
  t.strictSame(stepsOf(steps, 'running'), []);
});

t.test('rolledBack: the failure and what became of the rollback', async (t) => {
  const failure = new StepFailure(stepOf(2, 'two', []), 'EIO (i/o error)');
  const clean = rolledBack(failure, { failures: [] });
  t.type(clean, StepFailedError);
  t.equal(clean.exitCode, 1);
  t.equal(clean.message, 'step 2 (title of two) failed: EIO (i/o error); everything done before it was undone');
  t.equal(rolledBack(failure, { failures: ['step 1 (one): a', 'step 0 (zero): b'] }).message, 'step 2 (title of two) failed: EIO (i/o error); undoing what was done before it also failed: step 1 (one): a; step 0 (zero): b');
});
