// createLogger with an injected `write`: step lines in text, quiet and json modes, info and warn,
// and `wait`, which shows progress (non-TTY) only once a wait passes a second. The one-second
// timer is stubbed to fire at once and Date.now is stubbed, so nothing here sleeps.
import t, { type Test } from 'tap';
import { createLogger, type LogMode } from '../../lib/apply/log.js';

const step = { n: 3, id: 'bind-vfio 0000:01:00.0', phase: 'prepare' as const, title: 'bind 0000:01:00.0 [10de:1b06] to vfio-pci' };

function logger(mode: LogMode) {
  const lines: string[] = [];
  return { lines, log: createLogger({ mode, total: 9, write: (line) => lines.push(line), isTty: false }) };
}

/** Makes log.wait's one-second timer fire at once, and Date.now move only with `advance`. */
function fastSecond(t: Test) {
  const realTimeout = globalThis.setTimeout;
  const realNow = Date.now;
  let now = 1_700_000_000_000;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (ms !== 1000) return realTimeout(fn, ms, ...args);
    setImmediate(fn, ...args);
    return { unref: () => undefined };
  }) as unknown as typeof setTimeout;
  Date.now = () => now;
  t.teardown(() => {
    globalThis.setTimeout = realTimeout;
    Date.now = realNow;
  });
  return { advance: (ms: number) => void (now += ms) };
}

/** Lets log.wait's (stubbed) second pass: a few turns of the event loop. */
async function turns(count = 3) {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A promise and its resolve/reject. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

t.test('text: one line per step with its position, phase, title, result and detail', async (t) => {
  const { lines, log } = logger('text');
  log.step(step, 'done');
  log.step(step, 'skipped', 'already on vfio-pci');
  log.step({ ...step, title: 'undo bind-vfio 0000:01:00.0' }, 'undo-failed', 'EIO (i/o error)');
  t.strictSame(lines, [
    'boot-vm: [3/9] prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci: done',
    'boot-vm: [3/9] prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci: skipped (already on vfio-pci)',
    'boot-vm: [3/9] prepare: undo bind-vfio 0000:01:00.0: undo-failed (EIO (i/o error))',
  ]);
});

t.test('text: info and warnings', async (t) => {
  const { lines, log } = logger('text');
  log.info('QEMU started (pid 42)');
  log.warn('the kernel refused IRQ 5');
  t.strictSame(lines, ['boot-vm: QEMU started (pid 42)', 'boot-vm: warning: the kernel refused IRQ 5']);
});

t.test('quiet: failures and warnings only', async (t) => {
  const { lines, log } = logger('quiet');
  for (const result of ['done', 'skipped', 'undone', 'failed', 'undo-failed'] as const) log.step(step, result, result === 'failed' ? 'why' : undefined);
  log.info('not shown');
  log.warn('shown');
  t.strictSame(lines, [
    'boot-vm: [3/9] prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci: failed (why)',
    'boot-vm: [3/9] prepare: bind 0000:01:00.0 [10de:1b06] to vfio-pci: undo-failed',
    'boot-vm: warning: shown',
  ]);
});

t.test('json: one object per line', async (t) => {
  const { lines, log } = logger('json');
  log.step(step, 'done');
  log.step(step, 'failed', 'EIO (i/o error)');
  log.info('hello');
  log.warn('careful');
  t.strictSame(
    lines.map((line) => JSON.parse(line)),
    [
      { event: 'step', n: 3, id: 'bind-vfio 0000:01:00.0', phase: 'prepare', title: 'bind 0000:01:00.0 [10de:1b06] to vfio-pci', result: 'done' },
      { event: 'step', n: 3, id: 'bind-vfio 0000:01:00.0', phase: 'prepare', title: 'bind 0000:01:00.0 [10de:1b06] to vfio-pci', result: 'failed', detail: 'EIO (i/o error)' },
      { event: 'info', message: 'hello' },
      { event: 'warning', message: 'careful' },
    ],
  );
  t.equal(lines[0], '{"event":"step","n":3,"id":"bind-vfio 0000:01:00.0","phase":"prepare","title":"bind 0000:01:00.0 [10de:1b06] to vfio-pci","result":"done"}', 'keys in this order');
});

t.test('wait: a quick wait shows nothing and passes the value through', async (t) => {
  for (const mode of ['text', 'quiet', 'json'] as const) {
    const { lines, log } = logger(mode);
    t.equal(await log.wait('x', Promise.resolve(7)), 7, mode);
    t.strictSame(lines, [], mode);
  }
});

t.test('wait: a quick failure is passed through without output', async (t) => {
  const { lines, log } = logger('text');
  await t.rejects(log.wait('x', Promise.reject(new Error('no'))), { message: 'no' });
  t.strictSame(lines, []);
});

t.test('wait, text, not a terminal: a line when it passes a second, and one when it ends', async (t) => {
  const clock = fastSecond(t);
  const { lines, log } = logger('text');
  const pending = deferred<string>();
  const waiting = log.wait('0000:01:00.0 to be on vfio-pci', pending.promise);
  await turns();
  t.strictSame(lines, ['boot-vm: waiting for 0000:01:00.0 to be on vfio-pci…']);
  clock.advance(1234);
  pending.resolve('bound');
  t.equal(await waiting, 'bound');
  t.strictSame(lines, ['boot-vm: waiting for 0000:01:00.0 to be on vfio-pci…', 'boot-vm: waited 1.2s for 0000:01:00.0 to be on vfio-pci']);
});

t.test('wait, text: a slow failure still says how long it waited, and rejects', async (t) => {
  const clock = fastSecond(t);
  const { lines, log } = logger('text');
  const pending = deferred<void>();
  const waiting = log.wait('QEMU to exit', pending.promise);
  await turns();
  clock.advance(30_050);
  pending.reject(new Error('waited 30.1s for QEMU to exit'));
  await t.rejects(waiting, { message: 'waited 30.1s for QEMU to exit' });
  t.strictSame(lines, ['boot-vm: waiting for QEMU to exit…', 'boot-vm: waited 30.1s for QEMU to exit']);
});

t.test('wait, json: one waiting event', async (t) => {
  fastSecond(t);
  const { lines, log } = logger('json');
  const pending = deferred<number>();
  const waiting = log.wait('the pidfile', pending.promise);
  await turns();
  pending.resolve(1);
  t.equal(await waiting, 1);
  t.strictSame(lines, ['{"event":"waiting","what":"the pidfile"}']);
});

t.test('wait, quiet: no progress at all', async (t) => {
  fastSecond(t);
  const { lines, log } = logger('quiet');
  const pending = deferred<number>();
  const waiting = log.wait('the pidfile', pending.promise);
  await turns();
  pending.resolve(2);
  t.equal(await waiting, 2);
  t.strictSame(lines, []);
});
