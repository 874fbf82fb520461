// lib/plan/step.ts: numberSteps (n from 1, defaults, one key order for --json), setValue
// (a set undone by a restore) and wrapperWords (the launch steps' words before QEMU).
import t from 'tap';
import { numberSteps, setValue, wrapperWords, type StepDraft } from '../../lib/plan/step.js';

const draft = (id: string, extra: Partial<StepDraft> = {}): StepDraft => ({ id, phase: 'prepare', title: `do ${id}`, from: ['host.x'], ...extra });

t.test('numberSteps: n from 1 in order, notes and actions default to empty', async (t) => {
  t.strictSame(numberSteps([draft('a'), draft('b', { skip: 'done', notes: ['a note'] })]), [
    { n: 1, id: 'a', phase: 'prepare', title: 'do a', from: ['host.x'], notes: [], actions: [] },
    { n: 2, id: 'b', phase: 'prepare', title: 'do b', from: ['host.x'], skip: 'done', notes: ['a note'], actions: [] },
  ]);
  t.strictSame(numberSteps([]), []);
});

t.test('numberSteps: the same key order whatever the draft’s, and no skip key when not skipped', async (t) => {
  const messy = { actions: [setValue('/p', 'v')], notes: ['n'], skip: 'why', from: ['k'], title: 't', phase: 'launch', id: 'x' } as StepDraft;
  t.strictSame(Object.keys(numberSteps([messy])[0]!), ['n', 'id', 'phase', 'title', 'from', 'skip', 'notes', 'actions']);
  t.strictSame(Object.keys(numberSteps([draft('y')])[0]!), ['n', 'id', 'phase', 'title', 'from', 'notes', 'actions']);
  t.equal(JSON.stringify(numberSteps([draft('z', { skip: '' })])[0]!.skip), '""', 'an empty skip reason is kept as given');
});

t.test('setValue: a set undone by restoring the same path', async (t) => {
  t.strictSame(setValue('/proc/sys/vm/stat_interval', '120'), { do: { kind: 'set', path: '/proc/sys/vm/stat_interval', value: '120' }, undo: [{ kind: 'restore', path: '/proc/sys/vm/stat_interval' }] });
});

t.test('wrapperWords: wrap words of every step not skipped, outermost first', async (t) => {
  const wrap = (...argv: string[]) => ({ do: { kind: 'wrap' as const, argv }, undo: [] });
  const steps = numberSteps([
    draft('shield', { phase: 'launch', actions: [{ do: { kind: 'run', argv: ['systemctl', 'x'] }, undo: [] }, wrap('systemd-run', '--scope')] }),
    draft('skipped', { phase: 'launch', skip: 'not needed', actions: [wrap('nice')] }),
    draft('memlock', { phase: 'launch', actions: [wrap('prlimit', '--memlock=1:1')] }),
    draft('other', { actions: [setValue('/p', 'v')] }),
  ]);
  t.strictSame(wrapperWords(steps), ['systemd-run', '--scope', 'prlimit', '--memlock=1:1']);
  t.strictSame(wrapperWords([]), []);
});
