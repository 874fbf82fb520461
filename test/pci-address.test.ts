import t from 'tap';
import { formatPciAddress, parsePciAddress, pciCardOf } from '../lib/pci-address.js';

t.test('parsePciAddress reads the short form with domain 0', async (t) => {
  t.strictSame(parsePciAddress('01:00.0'), { domain: 0, bus: 1, slot: 0, function: 0 });
});

t.test('parsePciAddress reads the full form', async (t) => {
  t.strictSame(parsePciAddress('0001:65:1f.7'), { domain: 1, bus: 0x65, slot: 0x1f, function: 7 });
});

t.test('parsePciAddress reads hex in either case', async (t) => {
  t.strictSame(parsePciAddress('ABCD:B3:1A.2'), { domain: 0xabcd, bus: 0xb3, slot: 0x1a, function: 2 });
  t.strictSame(parsePciAddress('abcd:b3:1a.2'), parsePciAddress('ABCD:B3:1A.2'));
});

t.test('parsePciAddress rejects a slot above 0x1f', async (t) => {
  t.equal(parsePciAddress('01:20.0'), undefined);
});

t.test('parsePciAddress rejects a function above 7', async (t) => {
  t.equal(parsePciAddress('01:00.8'), undefined);
});

t.test('parsePciAddress rejects what is not hex or not the right shape', async (t) => {
  for (const text of ['0g:00.0', '01:0g.0', 'x001:01:00.0', '1:00.0', '01:0.0', '001:01:00.0', '01:00', '01:00.0 ', '01-00.0', '']) {
    t.equal(parsePciAddress(text), undefined, JSON.stringify(text));
  }
});

t.test('formatPciAddress writes the sysfs form', async (t) => {
  t.equal(formatPciAddress({ domain: 0, bus: 1, slot: 0, function: 0 }), '0000:01:00.0');
  t.equal(formatPciAddress({ domain: 0xabcd, bus: 0xb3, slot: 0x1f, function: 7 }), 'abcd:b3:1f.7', 'lower-case hex');
});

t.test('pciCardOf drops the function', async (t) => {
  t.equal(pciCardOf({ domain: 0, bus: 0x65, slot: 0, function: 1 }), '0000:65:00');
});
