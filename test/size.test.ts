import t from 'tap';
import { formatSize, parseSize } from '../lib/size.js';

t.test('parseSize', async (t) => {
  t.equal(parseSize('8G'), 8 * 2 ** 30);
  t.equal(parseSize('8192M'), 8 * 2 ** 30);
  t.equal(parseSize('16GiB'), 16 * 2 ** 30);
  t.equal(parseSize('2M'), 2 * 2 ** 20);
  t.equal(parseSize('8'), undefined, 'a unit is required');
  t.equal(parseSize('0G'), undefined);
  t.equal(parseSize('1.5G'), undefined);
  t.equal(parseSize('99999999999T'), undefined, 'beyond 2^53 bytes');
});

t.test('formatSize', async (t) => {
  t.equal(formatSize(8 * 2 ** 30), '8G');
  t.equal(formatSize(1536 * 2 ** 20), '1536M');
  t.equal(formatSize(2 ** 40), '1T');
  t.equal(formatSize(1000), '1000');
});
