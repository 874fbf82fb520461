import t from 'tap';
import { escapeOptionValue, formatProps, hex, onOff } from '../../lib/qemu/props.js';

t.test('formatProps leaves out props whose value is undefined', async (t) => {
  t.equal(formatProps('vfio-pci', [['host', '0000:01:00.0'], ['romfile', undefined], ['rombar', 0]]), 'vfio-pci,host=0000:01:00.0,rombar=0', '0 is a value, not absent');
  t.equal(formatProps(undefined, [['mem-lock', 'on']]), 'mem-lock=on', 'no head: just the props');
  t.equal(formatProps('q35', [['accel', undefined]]), 'q35', 'only the head when every prop is absent');
  t.equal(formatProps(undefined, []), '');
});

t.test('a comma in a value is written twice', async (t) => {
  t.equal(escapeOptionValue('a,b'), 'a,,b');
  t.equal(escapeOptionValue(',,'), ',,,,');
  t.equal(formatProps(undefined, [['file', '/vm/a,b.img'], ['if', 'none']]), 'file=/vm/a,,b.img,if=none');
  t.equal(formatProps('socket', [['path', '/run/q=m,p']]), 'socket,path=/run/q=m,,p', 'only commas are escaped, not =');
});

t.test('onOff', async (t) => {
  t.equal(onOff(true), 'on');
  t.equal(onOff(false), 'off');
  t.equal(onOff(undefined), undefined);
});

t.test('hex', async (t) => {
  t.equal(hex(0x10de), '0x10de');
  t.equal(hex(0), '0x0');
  t.equal(hex(0x1fff), '0x1fff');
  t.equal(hex(undefined), undefined);
});
