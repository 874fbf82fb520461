// lib/host/consoles.ts: the virtual consoles with their bind state, and the platform framebuffer
// devices bound to efi-, simple- or vesa-framebuffer, which the console step unbinds.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FRAMEBUFFER_DRIVERS, readFramebuffers, readVtconsoles } from '../../lib/host/consoles.js';
import { Sysroot } from '../../lib/host/sysroot.js';
import { host } from '../fixtures/helpers.js';
import { sysrootOf, tree } from '../fixtures/trees.js';

t.test('readVtconsoles: a fresh host’s dummy console and framebuffer console', async (t) => {
  t.strictSame(readVtconsoles(host('z77-i5-2500')), [
    { dir: '/sys/class/vtconsole/vtcon0', name: '(S) dummy device', bound: false },
    { dir: '/sys/class/vtconsole/vtcon1', name: '(M) frame buffer device', bound: true },
  ]);
});

t.test('readVtconsoles: only vtconN entries; a missing name is the entry’s; bound means bind reads 1', async (t) => {
  const sysroot = sysrootOf(t, {
    'sys/class/vtconsole/vtcon2/bind': ' 1 \n',
    'sys/class/vtconsole/vtcon10/name': '(M) frame buffer device\n',
    'sys/class/vtconsole/vtcon10/bind': '0\n',
    'sys/class/vtconsole/vtcon3/name': 'no bind file\n',
    'sys/class/vtconsole/power/bind': '1\n',
    'sys/class/vtconsole/vtconsole/bind': '1\n',
  });
  t.strictSame(readVtconsoles(sysroot), [
    { dir: '/sys/class/vtconsole/vtcon10', name: '(M) frame buffer device', bound: false },
    { dir: '/sys/class/vtconsole/vtcon2', name: 'vtcon2', bound: true },
    { dir: '/sys/class/vtconsole/vtcon3', name: 'no bind file', bound: false },
  ], 'in directory order');
});

t.test('readVtconsoles: none on a tree without /sys/class/vtconsole', async (t) => {
  t.strictSame(readVtconsoles(sysrootOf(t, {})), []);
});

t.test('readFramebuffers: the efi-framebuffer device of the fake hosts', async (t) => {
  t.strictSame(readFramebuffers(host('lab')), [{ driver: 'efi-framebuffer', device: 'efi-framebuffer.0' }]);
});

t.test('readFramebuffers: devices of each known driver, in driver order, without the bind/unbind files', async (t) => {
  const root = tree(t, {
    'sys/bus/platform/drivers/vesa-framebuffer/bind': '',
    'sys/bus/platform/drivers/vesa-framebuffer/vesa-framebuffer.0/x': '',
    'sys/bus/platform/drivers/simple-framebuffer/unbind': '',
    'sys/bus/platform/drivers/simple-framebuffer/uevent': '',
    'sys/bus/platform/drivers/simple-framebuffer/simple-framebuffer.1/x': '',
    'sys/bus/platform/drivers/simple-framebuffer/simple-framebuffer.0/x': '',
    'sys/bus/platform/drivers/efifb/efifb.0/x': '',
  });
  mkdirSync(join(root, 'sys/bus/platform/drivers/efi-framebuffer'), { recursive: true });
  t.strictSame(readFramebuffers(new Sysroot(root)), [
    { driver: 'simple-framebuffer', device: 'simple-framebuffer.0' },
    { driver: 'simple-framebuffer', device: 'simple-framebuffer.1' },
    { driver: 'vesa-framebuffer', device: 'vesa-framebuffer.0' },
  ]);
  t.strictSame(FRAMEBUFFER_DRIVERS, ['efi-framebuffer', 'simple-framebuffer', 'vesa-framebuffer']);
});

t.test('readFramebuffers: none when no driver directory exists', async (t) => {
  t.strictSame(readFramebuffers(sysrootOf(t, {})), []);
});
