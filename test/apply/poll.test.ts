// pollUntil: the first defined answer, WaitTimeout naming what and how long, onSlow once past a
// second, the abort signal, and no listeners left on the signal. Time is a stubbed Date.now that
// moves only when `check` runs, so the elapsed times in messages are exact; real waits are ≤100 ms.
import { getEventListeners } from 'node:events';
import t, { type Test } from 'tap';
import { BootVmError } from '../../lib/errors.js';
import { pollUntil, WaitTimeout } from '../../lib/apply/poll.js';
import { rejection } from '../fixtures/trees.js';

/** Replaces Date.now for this test with a clock that `advance` moves. */
function fakeClock(t: Test) {
  const real = Date.now;
  let now = 1_700_000_000_000;
  Date.now = () => now;
  t.teardown(() => {
    Date.now = real;
  });
  return { advance: (ms: number) => void (now += ms) };
}


t.test('returns the first defined answer, falsy ones included', async (t) => {
  let calls = 0;
  t.equal(await pollUntil(() => (++calls === 3 ? 0 : undefined), { what: 'x', timeoutMs: 5000, intervalMs: 1 }), 0);
  t.equal(calls, 3);
  t.equal(await pollUntil(() => false, { what: 'x', timeoutMs: 0 }), false, 'an answer at once wins even with no time');
  t.equal(await pollUntil(() => null, { what: 'x', timeoutMs: 0 }), null);
});

t.test('times out with WaitTimeout naming what and how long it waited', async (t) => {
  const clock = fakeClock(t);
  let calls = 0;
  const error = await rejection(
    pollUntil(
      () => {
        calls++;
        clock.advance(700);
        return undefined;
      },
      { what: '0000:01:00.0 to be on vfio-pci', timeoutMs: 2000, intervalMs: 1 },
    ),
  );
  t.type(error, WaitTimeout);
  t.type(error, BootVmError);
  t.equal(error.message, 'waited 2.1s for 0000:01:00.0 to be on vfio-pci');
  t.equal(calls, 3, 'checked at 0.7s, 1.4s and 2.1s');
});

t.test('onSlow is called once, when the wait passes a second', async (t) => {
  const clock = fakeClock(t);
  const slow: string[] = [];
  let calls = 0;
  const value = await pollUntil(
    () => {
      calls++;
      clock.advance(400);
      slow.push(`check ${calls}`);
      return calls === 6 ? 'done' : undefined;
    },
    { what: 'the pidfile', timeoutMs: 10_000, intervalMs: 1, onSlow: (what) => slow.push(`slow: ${what}`) },
  );
  t.equal(value, 'done');
  t.strictSame(slow, ['check 1', 'check 2', 'check 3', 'slow: the pidfile', 'check 4', 'check 5', 'check 6']);
});

t.test('no onSlow for a wait under a second', async (t) => {
  const clock = fakeClock(t);
  const slow: string[] = [];
  let calls = 0;
  const error = await rejection(
    pollUntil(
      () => {
        calls++;
        clock.advance(300);
        return undefined;
      },
      { what: 'x', timeoutMs: 900, intervalMs: 1, onSlow: (what) => slow.push(what) },
    ),
  );
  t.equal(error.message, 'waited 0.9s for x');
  t.strictSame(slow, []);
});

t.test('the real clock: a short timeout ends a short wait', async (t) => {
  const started = Date.now();
  const error = await rejection(pollUntil(() => undefined, { what: 'nothing', timeoutMs: 30, intervalMs: 5 }));
  t.match(error.message, /^waited 0\.\ds for nothing$/);
  t.ok(Date.now() - started < 1000, 'well before the default interval would matter');
});

t.test('an aborted signal stops the wait after one more check', async (t) => {
  const stop = new AbortController();
  stop.abort();
  let calls = 0;
  const error = await rejection(pollUntil(() => void calls++, { what: 'QEMU to exit', timeoutMs: 60_000, signal: stop.signal }));
  t.type(error, WaitTimeout);
  t.equal(error.message, 'stopped waiting for QEMU to exit');
  t.equal(calls, 1);
});

t.test('aborting during the wait ends it at once, not after the interval', async (t) => {
  const stop = new AbortController();
  let calls = 0;
  const started = Date.now();
  const waiting = pollUntil(
    () => {
      if (++calls === 2) setImmediate(() => stop.abort());
      return undefined;
    },
    { what: 'the IRQs', timeoutMs: 60_000, intervalMs: 10, signal: stop.signal },
  );
  const error = await rejection(waiting);
  t.equal(error.message, 'stopped waiting for the IRQs');
  t.ok(Date.now() - started < 5000);
});

t.test('an answer found while aborting still wins', async (t) => {
  const stop = new AbortController();
  stop.abort();
  t.equal(await pollUntil(() => 'here', { what: 'x', timeoutMs: 1000, signal: stop.signal }), 'here');
});

t.test('a long wait leaves no abort listeners on the signal', async (t) => {
  const stop = new AbortController();
  let calls = 0;
  await pollUntil(() => (++calls === 20 ? true : undefined), { what: 'x', timeoutMs: 10_000, intervalMs: 1, signal: stop.signal });
  t.equal(getEventListeners(stop.signal, 'abort').length, 0, 'every delay took its listener away');
});
