import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readDeviceHolders } from '../../lib/host/device-holders.js';
import { host } from '../fixtures/helpers.js';
import { tree } from '../fixtures/trees.js';
import { Sysroot } from '../../lib/host/sysroot.js';

t.test('processes holding matching device files, each file once per process', async (t) => {
  const holders = readDeviceHolders(host('inspur-nf5212m5'), (path) => path.startsWith('/dev/nvidia'));
  t.strictSame(holders.map((holder) => holder.path), ['/dev/nvidia-modeset', '/dev/nvidia0', '/dev/nvidiactl']);
  t.ok(holders.every((holder) => holder.pid === 1734 && holder.command === 'Xorg'));
  t.strictSame(readDeviceHolders(host('z77-i5-2500'), () => true), []);
});

t.test('an fd opened twice counts once; a process without comm is ?', async (t) => {
  const dir = tree(t, { 'proc/self/status': '' });
  mkdirSync(join(dir, 'proc/42/fd'), { recursive: true });
  symlinkSync('/dev/dri/card0', join(dir, 'proc/42/fd/3'));
  symlinkSync('/dev/dri/card0', join(dir, 'proc/42/fd/4'));
  symlinkSync('/dev/null', join(dir, 'proc/42/fd/0'));
  t.strictSame(readDeviceHolders(new Sysroot(dir), (path) => path.startsWith('/dev/dri/')), [{ pid: 42, command: '?', path: '/dev/dri/card0' }]);
});
