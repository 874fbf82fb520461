import t from 'tap';
import { BootVmError, HostStateError, InputError, ProfileError, StepFailedError, UsageError, formatProblem } from '../lib/errors.js';

t.test('formatProblem', async (t) => {
  t.equal(formatProblem({ file: 'p.yaml', line: 12, column: 5, key: 'memory.size', message: 'expected a size like 8G' }), 'p.yaml:12:5: memory.size: expected a size like 8G');
  t.equal(formatProblem({ file: 'p.yaml', line: 12, message: 'm' }), 'p.yaml:12: m', 'no column');
  t.equal(formatProblem({ file: 'p.yaml', column: 5, message: 'm' }), 'p.yaml: m', 'a column without a line is not shown');
  t.equal(formatProblem({ file: 'p.yaml', key: 'vga', message: 'm' }), 'p.yaml: vga: m', 'a file without a line');
  t.equal(formatProblem({ key: 'passthrough[1].host', message: 'm' }), 'passthrough[1].host: m', 'a key without a file');
  t.equal(formatProblem({ key: '', message: 'm' }), 'm', 'an empty key is not shown');
  t.equal(formatProblem({ message: 'just this' }), 'just this');
});

t.test('InputError: exit code 2, one line per problem', async (t) => {
  const error = new InputError([
    { file: 'a.yaml', line: 1, column: 2, key: 'vga', message: 'first' },
    { message: 'second' },
  ]);
  t.ok(error instanceof BootVmError);
  t.equal(error.exitCode, 2);
  t.strictSame(error.lines(), ['a.yaml:1:2: vga: first', 'second']);
  t.equal(error.message, 'a.yaml:1:2: vga: first\nsecond');
});

t.test('the other errors', async (t) => {
  const profile = new ProfileError([{ message: 'bad' }]);
  t.ok(profile instanceof InputError);
  t.equal(profile.exitCode, 2);
  const usage = new UsageError('no profile given');
  t.equal(usage.exitCode, 2);
  t.strictSame(usage.lines(), ['no profile given']);
  for (const error of [new StepFailedError('step 3 failed'), new HostStateError('mediapc is already running')]) {
    t.ok(error instanceof BootVmError);
    t.equal(error.exitCode, 1, `${error.name} exits 1: the input was fine, the host was not`);
    t.strictSame(error.lines(), [error.message]);
  }
});
