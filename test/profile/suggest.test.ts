import t from 'tap';
import { suggestKey } from '../../lib/profile/suggest.js';

const MACHINE = ['type', 'accel', 'vmport', 'dumpGuestCore', 'kernelIrqchip'];

t.test('snake_case, kebab-case and other capitalisations of a key', async (t) => {
  t.equal(suggestKey('dump_guest_core', MACHINE), 'dumpGuestCore');
  t.equal(suggestKey('dump-guest-core', MACHINE), 'dumpGuestCore');
  t.equal(suggestKey('DumpGuestCore', MACHINE), 'dumpGuestCore');
  t.equal(suggestKey('kernel_irqchip', MACHINE), 'kernelIrqchip');
});

t.test('typos within the allowed distance', async (t) => {
  t.equal(suggestKey('acel', MACHINE), 'accel', 'one deletion');
  t.equal(suggestKey('vmprot', MACHINE), 'vmport', 'a swap is two edits, allowed for 6 letters');
  t.equal(suggestKey('dumpGuestCores', MACHINE), 'dumpGuestCore');
  t.equal(suggestKey('kernelIrqchp', MACHINE), 'kernelIrqchip');
});

t.test('the allowance grows with the length, from 1 to 3 edits', async (t) => {
  t.equal(suggestKey('tpe', ['type']), 'type', 'short keys still get one edit');
  t.equal(suggestKey('tp', ['type']), undefined, 'but not two');
  t.equal(suggestKey('xxpe', ['type']), undefined);
  t.equal(suggestKey('kernlIrqhip', MACHINE), 'kernelIrqchip', 'two edits at 11 letters');
  t.equal(suggestKey('krnlIrqhp', MACHINE), undefined, 'four edits are too many even for long keys');
});

t.test('nothing close enough, or nothing to suggest from', async (t) => {
  t.equal(suggestKey('bogus', MACHINE), undefined);
  t.equal(suggestKey('accel', []), undefined);
});

t.test('the closest wins, the first on a tie', async (t) => {
  t.equal(suggestKey('s5', ['s3', 's4']), 's3');
  t.equal(suggestKey('cores', ['cores', 'core']), 'cores', 'an exact match');
  t.equal(suggestKey('pathh', ['paths', 'path']), 'paths', 'both one edit away: the first');
});
