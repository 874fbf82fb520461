// lib/host/runnable.ts: tasks runnable on some CPUs, from a fake /proc (names with spaces and
// parentheses, tasks that come, go, or change process) and from this machine's.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import t from 'tap';
import { RunnableScanner } from '../../lib/host/runnable.js';
import { writeTree } from '../fixtures/helpers.js';

/** A stat line as the kernel writes it: fields 3 (state) to 52, the CPU in field 39. */
const stat = (tid: number, name: string, state: string, cpu: number) => `${tid} (${name}) ${state} ${Array.from({ length: 49 }, (_, i) => (i === 35 ? cpu : 0)).join(' ')}\n`;

function fakeProc() {
  const proc = writeTree({ loadavg: '0.50 0.40 0.30 3/120 4242\n' });
  const task = (pid: number, tid: number, name: string, state: string, cpu: number) => {
    mkdirSync(`${proc}/${pid}/task/${tid}`, { recursive: true });
    writeFileSync(`${proc}/${pid}/task/${tid}/stat`, stat(tid, name, state, cpu));
  };
  return { proc, task };
}

t.test('the listed tasks in state R on the given CPUs, with their process and name', async (t) => {
  const { proc, task } = fakeProc();
  task(10, 10, 'sh', 'R', 1);
  task(10, 11, 'a (b) c', 'R', 1);
  task(20, 20, 'sleepy', 'S', 1);
  task(30, 30, 'elsewhere', 'R', 0);
  task(40, 40, 'qemu', 'R', 1);
  mkdirSync(`${proc}/self`); // not a process: skipped
  const scanner = new RunnableScanner(proc);
  t.equal(scanner.runningNow(), 3, '/proc/loadavg: 3 running');
  scanner.refresh(new Set([40]));
  t.strictSame(scanner.scan(new Set([1])), [
    { pid: 10, tid: 10, name: 'sh', cpu: 1 },
    { pid: 10, tid: 11, name: 'a (b) c', cpu: 1 },
  ], 'not the sleeping, not the one on CPU 0, not the skipped process');

  task(10, 11, 'a (b) c', 'S', 1);
  t.strictSame(scanner.scan(new Set([1])).map((found) => found.tid), [10], 'each scan reads the state afresh');

  rmSync(`${proc}/10`, { recursive: true });
  task(50, 11, 'reused', 'R', 1);
  task(60, 60, 'newcomer', 'R', 1);
  t.strictSame(scanner.scan(new Set([1])).map((found) => found.tid), [10], 'new tasks wait for the next listing');
  scanner.refresh(new Set([40]));
  t.strictSame(scanner.scan(new Set([0, 1])), [
    { pid: 30, tid: 30, name: 'elsewhere', cpu: 0 },
    { pid: 50, tid: 11, name: 'reused', cpu: 1 },
    { pid: 60, tid: 60, name: 'newcomer', cpu: 1 },
  ], 'gone tasks dropped, a reused id read from its new process');
  scanner.close();
});

t.test('this machine: a process spinning is found runnable on its CPU, itself as the caller counts too', async (t) => {
  const spinner = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  t.teardown(() => spinner.kill('SIGKILL'));
  const scanner = new RunnableScanner();
  t.ok(scanner.runningNow() >= 1, 'at least this process runs');
  scanner.refresh(new Set([process.pid]));
  let found;
  for (let tries = 0; tries < 50 && !found; tries++) {
    found = scanner.scan(new Set(cpus().map((_, cpu) => cpu))).find((task) => task.pid === spinner.pid);
    if (!found) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.match(found, { pid: spinner.pid, tid: spinner.pid, name: 'sh' });
  scanner.close();
});
