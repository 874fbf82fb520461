import { arg, type Arg, type BuildInput } from './arg.js';

/** `-display none -vga none` for a passthrough GPU; a window or VNC while installing. */
export function buildDisplay({ profile }: BuildInput): Arg[] {
  const display = typeof profile.display === 'string' ? profile.display : `vnc=${profile.display.vnc}`;
  return [arg(['-display', display], ['display']), arg(['-vga', profile.vga], ['vga'])];
}
