import t from 'tap';
import { Collector } from '../../lib/plan/diagnostics.js';
import { loadProfile } from '../../lib/profile/load.js';
import { tree } from '../fixtures/trees.js';

t.test("errors and warnings are located at the profile key they are about, in the order told", async (t) => {
  const dir = tree(t, { 'vm.yaml': 'memory:\n  size: 1G\nvga: std\n' });
  const collector = new Collector(loadProfile('vm.yaml', { cwd: dir, env: {} }).locate);
  collector.error('vga', 'second error first');
  collector.warn('memory.size', 'a warning');
  collector.error('memory.lock', 'an error about a default');
  t.strictSame(collector.errors, [
    { file: 'vm.yaml', line: 3, column: 6, key: 'vga', message: 'second error first' },
    { file: 'vm.yaml', line: 1, column: 1, key: 'memory.lock', message: 'an error about a default' },
  ]);
  t.strictSame(collector.warnings, [{ file: 'vm.yaml', line: 2, column: 9, key: 'memory.size', message: 'a warning' }]);
});
