import t from 'tap';
import { lacksMessage, ruleNote, supports, type FeatureName } from '../../lib/qemu/features.js';
import { version } from '../fixtures/build-input.js';

t.test('supports() at the first version with and the last without each feature', async (t) => {
  const boundaries: [FeatureName, string, boolean][] = [
    ['overcommitMemLock', '2.12', false],
    ['overcommitMemLock', '3.0', true],
    ['realtimeMlock', '2.12', true],
    ['realtimeMlock', '5.2', true],
    ['realtimeMlock', '6.0', false],
    ['machineHpet', '5.1', false],
    ['machineHpet', '5.2', true],
    ['noHpet', '8.2', true],
    ['noHpet', '9.0', false],
    ['machineMemoryBackend', '4.2', false],
    ['machineMemoryBackend', '5.0', true],
    ['aioIoUring', '4.2', false],
    ['aioIoUring', '5.0', true],
    ['hv-stimer-direct', '4.0', false],
    ['hv-stimer-direct', '4.1', true],
    ['hv-avic', '6.1', false],
    ['hv-avic', '6.2', true],
    ['hv-xmm-input', '7.0', false],
    ['hv-xmm-input', '7.1', true],
  ];
  for (const [name, shown, expected] of boundaries) t.equal(supports(version(shown), name), expected, `${name} on ${shown}`);
});

t.test('lacksMessage says when a feature came or went', async (t) => {
  t.equal(lacksMessage(version('4.0'), 'hv-stimer-direct'), 'QEMU 4.0 lacks hv-stimer-direct (added in 4.1)');
  t.equal(lacksMessage(version('4.2'), 'aioIoUring'), 'QEMU 4.2 lacks aio=io_uring (added in 5.0)');
  t.equal(lacksMessage(version('9.0'), 'noHpet'), 'QEMU 9.0 no longer has -no-hpet (removed in 9.0)');
  t.equal(lacksMessage(version('6.0'), 'realtimeMlock'), 'QEMU 6.0 no longer has -realtime mlock=on (removed in 6.0)');
});

t.test('ruleNote explains a version-dependent choice', async (t) => {
  t.equal(ruleNote(version('7.2'), 'machineHpet', 'noHpet'), '-machine hpet=off ← rule: QEMU 7.2 ≥ 5.2 (-no-hpet was removed in 9.0)');
  t.equal(ruleNote(version('5.1'), 'noHpet', 'machineHpet'), '-no-hpet ← rule: QEMU 5.1 is older than 5.2 (-machine hpet=off needs 5.2)');
  t.equal(ruleNote(version('7.2'), 'overcommitMemLock', 'realtimeMlock'), '-overcommit mem-lock=on ← rule: QEMU 7.2 ≥ 3.0 (-realtime mlock=on was removed in 6.0)');
  t.equal(ruleNote(version('2.12'), 'realtimeMlock', 'overcommitMemLock'), '-realtime mlock=on ← rule: QEMU 2.12 is older than 3.0 (-overcommit mem-lock=on needs 3.0)');
  t.equal(ruleNote(version('5.0'), 'machineMemoryBackend'), '-machine memory-backend= ← rule: QEMU 5.0 ≥ 5.0', 'no alternative named');
});
