// session.ts: createJournal (makes and remembers missing directories), journalFileOf, contextOf,
// assertNotRunning with a live launcher or QEMU, isPreparedOnly, leftoverError, preparedIds, and
// commandRunner with real commands (false, sh -c …) failing with their stderr's last line.
import { spawn } from 'node:child_process';
import { parse } from 'valibot';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ActionError } from '../../lib/apply/actions.js';
import { nodeHostIo } from '../../lib/apply/host-io.js';
import { Journal, type JournalState } from '../../lib/apply/journal.js';
import { createLogger } from '../../lib/apply/log.js';
import { refOf, type ProcessRef } from '../../lib/apply/processes.js';
import { assertNotRunning, commandRunner, contextOf, createJournal, isPreparedOnly, journalFileOf, leftoverError, preparedIds, type SessionOptions } from '../../lib/apply/session.js';
import { HostStateError } from '../../lib/errors.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import type { Plan } from '../../lib/plan/plan.js';
import { profileSchema } from '../../lib/profile/schema.js';
import type { Phase, Step } from '../../lib/plan/step.js';
import { rejection, tree } from '../fixtures/trees.js';

const stepOf = (n: number, id: string, phase: Phase, skip?: string): Step => ({ n, id, phase, title: id, from: [], notes: [], actions: [], ...(skip ? { skip } : {}) });

const planOf = (steps: Step[] = []): Plan => ({ profile: 'vm', file: '/profiles/vm.yaml', files: ['/profiles/vm.yaml'], qemuVersion: '7.2', argv: [], sysroot: '/', steps, args: [], control: { pidfile: '/run/boot-vm/vm.pid', qmp: '/run/boot-vm/vm.qmp' }, devices: [], wrappers: 0, keyOrigins: {}, warnings: [], resolved: { profile: parse(profileSchema, { memory: { size: '1G' } }) } });

function optionsOn(root: string): SessionOptions {
  return { sysroot: new Sysroot(root), io: nodeHostIo, log: createLogger({ mode: 'quiet', total: 0, write: () => {} }), env: { PATH: process.env.PATH } };
}

const journalWith = (state: Partial<JournalState>) =>
  new Journal('/fake/run/boot-vm/vm.journal', { version: 1, vm: 'vm', file: '/profiles/vm.yaml', sysroot: '/fake', phases: [], prepared: [], createdDirs: [], entries: [], ...state }, nodeHostIo);

function thrown(body: () => unknown): Error | undefined {
  try {
    body();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}


/** A live child process and its ref, killed when the test ends. */
async function liveChild(t: Test): Promise<ProcessRef> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  await once(child, 'spawn');
  return refOf(child.pid!)!;
}

/** A ref to a process that has exited. */
async function deadRef(): Promise<ProcessRef> {
  const child = spawn('true', { stdio: 'ignore' });
  await once(child, 'spawn');
  const ref = refOf(child.pid!) ?? { pid: child.pid!, start: '1' };
  await once(child, 'exit');
  return ref;
}

t.test('journalFileOf puts the journal under the sysroot', async (t) => {
  t.equal(journalFileOf(new Sysroot('/tmp/host'), 'gaming'), '/tmp/host/run/boot-vm/gaming.journal');
  t.equal(journalFileOf(new Sysroot('/'), 'gaming'), '/run/boot-vm/gaming.journal');
});

t.test('createJournal makes the missing directories and remembers them', async (t) => {
  const root = tree(t, {});
  const journal = createJournal(planOf(), optionsOn(root));
  const file = join(root, 'run/boot-vm/vm.journal');
  t.equal(journal.file, file);
  const expected: JournalState = { version: 1, vm: 'vm', file: '/profiles/vm.yaml', sysroot: root, phases: [], launcher: refOf(process.pid)!, control: { pidfile: '/run/boot-vm/vm.pid', qmp: '/run/boot-vm/vm.qmp' }, prepared: [], createdDirs: [join(root, 'run'), join(root, 'run/boot-vm')], entries: [] };
  t.strictSame(journal.state, expected);
  t.strictSame(JSON.parse(readFileSync(file, 'utf8')), expected, 'saved at once');
  journal.remove();
  t.equal(nodeHostIo.exists(join(root, 'run')), false, 'remove takes the directories it made away');
});

t.test('createJournal remembers only the directories it made', async (t) => {
  const root = tree(t, {});
  mkdirSync(join(root, 'run'));
  const journal = createJournal(planOf(), optionsOn(root));
  t.strictSame(journal.state.createdDirs, [join(root, 'run/boot-vm')]);
  mkdirSync(join(root, 'run/boot-vm'), { recursive: true });
  t.strictSame(createJournal({ ...planOf(), profile: 'other' }, optionsOn(root)).state.createdDirs, [], 'all there already');
  journal.remove();
  t.equal(nodeHostIo.exists(join(root, 'run')), true);
});

t.test('contextOf hands the options over, with the signal when there is one', async (t) => {
  const root = tree(t, {});
  const options = optionsOn(root);
  const journal = journalWith({});
  const context = contextOf(options, journal);
  t.equal(context.sysroot, options.sysroot);
  t.equal(context.io, options.io);
  t.equal(context.log, options.log);
  t.equal(context.journal, journal);
  t.equal('signal' in context, false);
  const stop = new AbortController();
  t.equal(contextOf(options, journal, stop.signal).signal, stop.signal);
  await context.runCommand(['true']);
  t.pass('runCommand runs commands');
});

t.test('assertNotRunning: nothing recorded, or only dead processes', async (t) => {
  t.equal(thrown(() => assertNotRunning(journalWith({}), 'vm')), undefined);
  const dead = await deadRef();
  t.equal(thrown(() => assertNotRunning(journalWith({ launcher: dead, qemu: dead }), 'vm')), undefined);
  t.equal(thrown(() => assertNotRunning(journalWith({ launcher: { pid: process.pid, start: '1' } }), 'vm')), undefined, 'this pid but another start: a reused pid');
});

t.test('assertNotRunning: a live launcher', async (t) => {
  const error = thrown(() => assertNotRunning(journalWith({ launcher: refOf(process.pid)! }), 'vm'));
  t.type(error, HostStateError);
  t.equal(error?.message, `vm is already running: boot-vm (pid ${process.pid}) holds /fake/run/boot-vm/vm.journal; it puts the host back when QEMU exits`);
});

t.test('assertNotRunning: a live QEMU whose launcher is gone', async (t) => {
  const qemu = await liveChild(t);
  const launcher = await deadRef();
  const error = thrown(() => assertNotRunning(journalWith({ launcher, qemu }), 'vm'));
  t.type(error, HostStateError);
  t.equal(error?.message, `vm's QEMU (pid ${qemu.pid}) is still running, and its launcher is gone; stop it, or run scripts/teardown.mjs vm --stop`);
});

t.test('isPreparedOnly: the prepare phase alone, no processes', async (t) => {
  t.equal(isPreparedOnly(journalWith({ phases: ['prepare'] })), true);
  t.equal(isPreparedOnly(journalWith({ phases: [] })), false);
  t.equal(isPreparedOnly(journalWith({ phases: ['prepare', 'launch'] })), false);
  t.equal(isPreparedOnly(journalWith({ phases: ['prepare'], launcher: { pid: 1, start: '1' } })), false, 'a launcher, even a dead one');
  t.equal(isPreparedOnly(journalWith({ phases: ['prepare'], qemu: { pid: 1, start: '1' } })), false);
});

t.test('leftoverError', async (t) => {
  const error = leftoverError(journalWith({}), 'vm');
  t.type(error, HostStateError);
  t.equal(error.message, 'a run of vm ended without putting the host back (/fake/run/boot-vm/vm.journal is left over); run scripts/teardown.mjs vm first');
});

t.test('preparedIds: the prepare steps not skipped that leave something to undo, in order', async (t) => {
  const undone = (step: Step): Step => ({ ...step, actions: [{ do: { kind: 'set', path: '/sys/x', value: '1' }, undo: [{ kind: 'restore', path: '/sys/x' }] }] });
  const kept = (step: Step): Step => ({ ...step, actions: [{ do: { kind: 'run', argv: ['modprobe', 'vfio'] }, undo: [] }] });
  const plan = planOf([
    kept(stepOf(1, 'load-modules', 'prepare')),
    undone(stepOf(2, 'unbind-consoles', 'prepare', 'no console on it')),
    undone(stepOf(3, 'bind-vfio 0000:01:00.0', 'prepare')),
    kept(stepOf(4, 'nvram', 'prepare')),
    undone(stepOf(5, 'reserve-hugepages 2M', 'prepare')),
    undone(stepOf(6, 'cpu-governor', 'launch')),
    stepOf(7, 'irq-affinity', 'running'),
  ]);
  t.strictSame(preparedIds(plan), ['bind-vfio 0000:01:00.0', 'reserve-hugepages 2M'], 'modprobe and the NVRAM copy leave nothing a later launch must match');
  t.strictSame(preparedIds(planOf()), []);
});

t.test('commandRunner: a command that succeeds', async (t) => {
  await commandRunner({ PATH: process.env.PATH })(['sh', '-c', 'echo noise >&2; exit 0']);
  t.pass('resolves');
});

t.test('commandRunner fails with the last line of stderr', async (t) => {
  const run = commandRunner({ PATH: process.env.PATH });
  let error = await rejection(run(['sh', '-c', 'echo oops >&2; exit 3']));
  t.type(error, ActionError);
  t.equal(error.message, 'sh -c echo oops >&2; exit 3: oops');
  error = await rejection(run(['sh', '-c', 'echo first >&2; echo "Failed to set unit properties" >&2; echo out; exit 1']));
  t.equal(error.message, 'sh -c echo first >&2; echo "Failed to set unit properties" >&2; echo out; exit 1: Failed to set unit properties');
});

t.test('commandRunner without stderr says how the command failed', async (t) => {
  const run = commandRunner({ PATH: process.env.PATH });
  t.equal((await rejection(run(['false']))).message, 'false: Command failed with exit code 1: false');
  t.equal((await rejection(run(['sh', '-c', 'kill -TERM $$']))).message, "sh -c kill -TERM $$: Command was killed with SIGTERM (Termination): sh -c 'kill -TERM $$'");
});

t.test('commandRunner: a command that is not there fails on one line', async (t) => {
  const error = await rejection(commandRunner({ PATH: process.env.PATH })(['boot-vm-no-such-command']));
  t.type(error, ActionError);
  t.match(error.message, /^boot-vm-no-such-command: Command failed with ENOENT: boot-vm-no-such-command/);
  t.notMatch(error.message, /\n/, 'one line');
});

t.test('commandRunner gives the command exactly the environment it was made with', async (t) => {
  process.env.BOOT_VM_TEST_LEAK = 'leaked';
  t.teardown(() => void delete process.env.BOOT_VM_TEST_LEAK);
  const run = commandRunner({ PATH: process.env.PATH, LC_ALL: 'C', ONLY: 'this' });
  await run(['sh', '-c', '[ "$ONLY" = this ] && [ -z "$BOOT_VM_TEST_LEAK" ] || { echo "ONLY=$ONLY LEAK=$BOOT_VM_TEST_LEAK" >&2; exit 1; }']);
  t.pass('ONLY set, nothing of this process leaked');
  const error = await rejection(run(['sh', '-c', '[ -z "$ONLY" ] || { echo "ONLY=$ONLY" >&2; exit 1; }']));
  t.equal(error.message, 'sh -c [ -z "$ONLY" ] || { echo "ONLY=$ONLY" >&2; exit 1; }: ONLY=this');
});
