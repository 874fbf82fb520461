import t from 'tap';
import { buildDisplay } from '../../lib/qemu/display.js';
import { buildInput, words } from '../fixtures/build-input.js';

t.test('display and vga', async (t) => {
  t.strictSame(buildDisplay(buildInput({})), [
    { words: ['-display', 'none'], from: ['display'], notes: [] },
    { words: ['-vga', 'none'], from: ['vga'], notes: [] },
  ], 'no display and no emulated VGA by default');
  t.strictSame(words(buildDisplay(buildInput({ display: 'gtk', vga: 'std' }))), ['-display', 'gtk', '-vga', 'std']);
  t.strictSame(words(buildDisplay(buildInput({ display: { vnc: '127.0.0.1:0' }, vga: 'virtio' }))), ['-display', 'vnc=127.0.0.1:0', '-vga', 'virtio']);
});
