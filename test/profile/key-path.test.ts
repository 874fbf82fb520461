import t from 'tap';
import { formatKeyPath, parentKeyPath } from '../../lib/profile/key-path.js';

t.test('formatKeyPath joins names with dots and indexes in brackets', async (t) => {
  t.equal(formatKeyPath(['passthrough', 0, 'host']), 'passthrough[0].host');
  t.equal(formatKeyPath(['memory', 'size']), 'memory.size');
  t.equal(formatKeyPath(['disks', 2]), 'disks[2]');
  t.equal(formatKeyPath(['a', 1, 2, 'b']), 'a[1][2].b');
  t.equal(formatKeyPath(['vga']), 'vga');
  t.equal(formatKeyPath([]), '');
});

t.test('parentKeyPath drops the last segment', async (t) => {
  t.equal(parentKeyPath('passthrough[0].host'), 'passthrough[0]');
  t.equal(parentKeyPath('passthrough[0]'), 'passthrough');
  t.equal(parentKeyPath('a.b[2]'), 'a.b');
  t.equal(parentKeyPath('cpu.hyperv.synic'), 'cpu.hyperv');
  t.equal(parentKeyPath('memory'), '');
  t.equal(parentKeyPath(''), '');
});
