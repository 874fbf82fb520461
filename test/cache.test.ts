import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { cacheDir, fileStamp } from '../lib/cache.js';
import { writeTree } from './fixtures/helpers.js';

t.test('the cache lives under $XDG_CACHE_HOME, else ~/.cache', async (t) => {
  t.equal(cacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }), '/x/cache/boot-vm');
  t.equal(cacheDir({ HOME: '/home/u' }), '/home/u/.cache/boot-vm');
  t.equal(cacheDir({ XDG_CACHE_HOME: '', HOME: '/home/u' }), '/home/u/.cache/boot-vm', 'an empty XDG_CACHE_HOME counts as unset');
  t.equal(cacheDir({}), join(homedir(), '.cache/boot-vm'));
});

t.test('a file stamp changes when the file is rewritten', async (t) => {
  const dir = writeTree({ a: 'one' });
  const before = fileStamp(join(dir, 'a'));
  t.match(before, new RegExp(`^${join(dir, 'a')}:3:[0-9.]+:\\d+$`));
  writeFileSync(join(dir, 'a'), 'three');
  t.not(fileStamp(join(dir, 'a')), before);
  t.throws(() => fileStamp(join(dir, 'missing')), { code: 'ENOENT' });
});
