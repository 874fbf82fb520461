/**
 * `input`: host keyboards and mice given to the guest through evdev (`-object input-linux`).
 * QEMU grabs the device; the toggle keys hand it back to the host and forth again, and with
 * `grabAll` a keyboard's toggle switches every other input-linux device too.
 */
import type { InputDevice } from '../profile/schema.js';
import { arg, type Arg, type BuildInput } from './arg.js';
import { lacksMessage, supports } from './features.js';
import { formatProps, onOff } from './props.js';
import { formatQemuVersion } from './version.js';

export function buildInputDevices({ profile, version, diagnostics }: BuildInput): Arg[] {
  const seen = new Map<string, number>();
  const args: Arg[] = [];
  profile.input.forEach((device, i) => {
    const key = `input[${i}]`;
    const earlier = seen.get(device.evdev);
    if (earlier !== undefined) {
      diagnostics.error(`${key}.evdev`, `duplicate device: input[${earlier}] already grabs ${device.evdev}`);
      return;
    }
    seen.set(device.evdev, i);
    const notes: string[] = [];
    let toggle = device.toggle;
    if (toggle !== undefined && !supports(version, 'grabToggle')) {
      if (toggle === 'ctrl-ctrl') notes.push(`grab-toggle left out ← rule: QEMU ${formatQemuVersion(version)} is older than 4.0 and always toggles with both Ctrl keys`);
      else diagnostics.error(`${key}.toggle`, `${lacksMessage(version, 'grabToggle')}; it always toggles with both Ctrl keys (toggle: ctrl-ctrl)`);
      toggle = undefined;
    } else if (toggle === 'shift-shift' && !supports(version, 'grabToggleShiftShift')) {
      diagnostics.error(`${key}.toggle`, lacksMessage(version, 'grabToggleShiftShift'));
      toggle = undefined;
    }
    const props = formatProps('input-linux', [
      ['id', `input${i}`],
      ['evdev', device.evdev],
      ['grab_all', onOff(device.grabAll)],
      ['repeat', onOff(device.repeat)],
      ['grab-toggle', toggle],
    ]);
    const from = (['evdev', 'grabAll', 'repeat', 'toggle'] as const satisfies readonly (keyof InputDevice)[]).filter((name) => device[name] !== undefined).map((name) => `${key}.${name}`);
    args.push(arg(['-object', props], from, notes));
  });
  return args;
}
