import t from 'tap';
import { buildRunAs } from '../../lib/qemu/run-as.js';
import { buildInput } from '../fixtures/build-input.js';

const runAs = (version: string, user = 'qemu') => {
  const input = buildInput({ host: { runAs: user } }, { version });
  return { args: buildRunAs(input), errors: input.diagnostics.errors };
};

t.test('-runas up to 9.0, -run-with user= from 9.1 (where -runas is deprecated; 10.0 removed it)', async (t) => {
  t.strictSame(runAs('2.12'), { args: [{ words: ['-runas', 'qemu'], from: ['host.runAs'], notes: ['-runas ← rule: QEMU 2.12 is older than 9.1 (-run-with user= needs 9.1)'] }], errors: [] });
  t.strictSame(runAs('9.0').args[0]!.words, ['-runas', 'qemu']);
  t.strictSame(runAs('9.1'), { args: [{ words: ['-run-with', 'user=qemu'], from: ['host.runAs'], notes: ['-run-with user= ← rule: QEMU 9.1 ≥ 9.1 (-runas is deprecated since 9.1 and removed in 10.0)'] }], errors: [] });
  t.strictSame(runAs('10.1').args[0]!.notes, ['-run-with user= ← rule: QEMU 10.1 ≥ 9.1 (-runas was removed in 10.0)']);
});

t.test('no host.runAs: no option', async (t) => {
  t.strictSame(buildRunAs(buildInput({})), []);
});

t.test('a QEMU with neither option says so', async (t) => {
  t.strictSame(runAs('0.9'), { args: [], errors: [{ key: 'host.runAs', message: 'QEMU 0.9 has neither -runas (added in 0.10) nor -run-with user= (added in 9.1)' }] });
});
