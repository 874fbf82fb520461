import t from 'tap';
import { buildPower } from '../../lib/qemu/power.js';
import { buildInput } from '../fixtures/build-input.js';

t.test('sleep states: false disables (1), true enables (0), absent leaves the default', async (t) => {
  t.strictSame(buildPower(buildInput({ power: { s3: false, s4: true } })), [
    { words: ['-global', 'ICH9-LPC.disable_s3=1'], from: ['power.s3'], notes: [] },
    { words: ['-global', 'ICH9-LPC.disable_s4=0'], from: ['power.s4'], notes: [] },
  ]);
  t.strictSame(buildPower(buildInput({ power: { s4: false } })), [{ words: ['-global', 'ICH9-LPC.disable_s4=1'], from: ['power.s4'], notes: [] }]);
  t.strictSame(buildPower(buildInput({})), []);
});
