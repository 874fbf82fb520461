// refOf and isAlive against this machine's /proc: this process, a child that has exited, a zombie,
// a pid whose start time does not match (a reused pid), and a command name with spaces and ')'.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isAlive, refOf } from '../../lib/apply/processes.js';
import { stateOf, zombie } from '../fixtures/processes.js';
import { tree } from '../fixtures/trees.js';

/** Field 22 of /proc/<pid>/stat, read independently of the code under test. */
const startField = (pid: number) => /^.*\) \S+(?: \S+){18} (\d+) /s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];

/** A child that sleeps, killed when the test ends. */
function sleeper(t: Test, command = 'sleep'): ChildProcess {
  const child = spawn(command, ['30'], { stdio: 'ignore' });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

t.test('refOf this process: its pid and start time', async (t) => {
  const ref = refOf(process.pid);
  t.strictSame(ref, { pid: process.pid, start: startField(process.pid) });
  t.match(ref?.start, /^\d+$/);
  t.equal(isAlive(ref), true);
});

t.test('isAlive of nothing is false', async (t) => {
  t.equal(isAlive(undefined), false);
});

t.test('a pid whose start time differs is another process (a reused pid)', async (t) => {
  const ref = refOf(process.pid)!;
  t.equal(isAlive({ pid: process.pid, start: String(Number(ref.start) + 1) }), false);
  t.equal(isAlive({ pid: process.pid, start: '' }), false);
});

t.test('a child that exited is not alive, and has no ref', async (t) => {
  const child = sleeper(t);
  await once(child, 'spawn');
  const ref = refOf(child.pid!);
  t.strictSame(ref, { pid: child.pid, start: startField(child.pid!) });
  t.equal(isAlive(ref), true);
  child.kill('SIGTERM');
  await once(child, 'exit');
  t.equal(isAlive(ref), false);
  t.equal(refOf(child.pid!), undefined);
});

t.test('a zombie (exited, not reaped by its parent) is not alive', async (t) => {
  const ref = await zombie(t);
  t.equal(stateOf(ref.pid), 'Z', 'still in the process table');
  t.strictSame(refOf(ref.pid), ref, 'with the start time it had');
  t.equal(isAlive(ref), false);
});

t.test('a pid that does not exist', async (t) => {
  t.equal(refOf(2 ** 22 + 1), undefined, 'above pid_max');
  t.equal(isAlive({ pid: 2 ** 22 + 1, start: '1' }), false);
});

t.test('a command name with spaces and a parenthesis', async (t) => {
  const dir = tree(t, {});
  const odd = join(dir, 'a) b (c');
  symlinkSync('/bin/sleep', odd);
  const child = sleeper(t, odd);
  await once(child, 'spawn');
  t.match(readFileSync(`/proc/${child.pid}/stat`, 'utf8'), `(a) b (c) `, 'the kernel shows the name as given');
  const ref = refOf(child.pid!);
  t.strictSame(ref, { pid: child.pid, start: startField(child.pid!) });
  t.equal(isAlive(ref), true);
});
