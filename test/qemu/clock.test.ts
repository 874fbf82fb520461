import t from 'tap';
import { buildClock } from '../../lib/qemu/clock.js';
import { buildInput, type ProfileData } from '../fixtures/build-input.js';

const clockOf = (clock: ProfileData['clock'], at = '10.1') => buildClock(buildInput({ clock }, { version: at }));

t.test('nothing for an empty clock section', async (t) => {
  t.strictSame(clockOf({}), []);
});

t.test('-rtc carries base, clock and driftfix in that order', async (t) => {
  t.strictSame(clockOf({ driftfix: 'slew', rtcClock: 'host', base: 'localtime' }), [{ words: ['-rtc', 'base=localtime,clock=host,driftfix=slew'], from: ['clock.base', 'clock.rtcClock', 'clock.driftfix'], notes: [] }]);
  t.strictSame(clockOf({ base: 'utc' }), [{ words: ['-rtc', 'base=utc'], from: ['clock.base'], notes: [] }]);
});

t.test('-no-hpet before 5.2 only', async (t) => {
  t.strictSame(clockOf({ hpet: false }, '5.1'), [{ words: ['-no-hpet'], from: ['clock.hpet'], notes: ['-no-hpet ← rule: QEMU 5.1 is older than 5.2 (-machine hpet=off needs 5.2)'] }]);
  t.strictSame(clockOf({ hpet: false }, '5.2'), [], '-machine hpet=off instead');
  t.strictSame(clockOf({ hpet: true }, '5.1'), [], 'the HPET is on by default');
});

t.test('the PIT lost-tick policy is a kvm-pit global', async (t) => {
  t.strictSame(clockOf({ pitLostTickPolicy: 'discard' }), [{ words: ['-global', 'kvm-pit.lost_tick_policy=discard'], from: ['clock.pitLostTickPolicy'], notes: [] }]);
});

t.test('order: -rtc, -no-hpet, -global', async (t) => {
  t.strictSame(clockOf({ base: 'utc', hpet: false, pitLostTickPolicy: 'delay' }, '4.2').map((arg) => arg.words.join(' ')), ['-rtc base=utc', '-no-hpet', '-global kvm-pit.lost_tick_policy=delay']);
});
