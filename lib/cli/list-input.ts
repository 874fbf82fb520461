/** `list-input`: the keyboards and mice in /dev/input/by-id, and the `input` lines that give them to a guest. */
import { BY_ID, readInputDevices, type InputDeviceInfo } from '../host/input-devices.js';
import { openSysroot, type CliOutput } from './inspect-options.js';

// What scripts/list-input.mjs needs besides listInput, in this one bundled module.
export { default as minimist } from 'minimist';
export { runCli, unknownOption } from './run.js';
export { UsageError } from '../errors.js';

export const LIST_INPUT_USAGE = `Usage: list-input [--json] [--sysroot DIR]

Lists the evdev devices in ${BY_ID}: each link, the event node it points to now,
the device's name and whether it is a keyboard or a mouse (from the link's name, or the
device's capabilities in /sys/class/input), then an \`input:\` list to paste into a profile.
Reads the host; changes nothing.

      --json          a list of {"path", "event", "name", "kind"}
      --sysroot DIR   read /dev and /sys under DIR instead of /
  -h, --help          show this help

Exit status: 0 listed (an empty list included), 2 bad input.
`;

export interface ListInputOptions {
  json: boolean;
  sysroot?: string;
}

// A YAML plain scalar when it is one, a quoted string otherwise.
const yamlString = (text: string) => (/^[\w./+-]+$/.test(text) ? text : JSON.stringify(text));

/** The profile lines: a keyboard grabs everything and repeats keys, both Ctrl keys switch host and guest. */
export function inputSnippet(devices: InputDeviceInfo[]): string {
  const lines = ['input:'];
  for (const device of devices) {
    lines.push(`  - evdev: ${yamlString(device.path)}${device.name ? `  # ${device.name}` : ''}`);
    if (device.kind === 'keyboard') lines.push('    grabAll: true', '    repeat: true', '    toggle: ctrl-ctrl');
  }
  return lines.join('\n');
}

export function renderInputText(devices: InputDeviceInfo[]): string {
  if (devices.length === 0) return `No evdev devices in ${BY_ID}: udev makes these links for USB keyboards and mice, and there are none here (a built-in PS/2 keyboard is only in /dev/input/by-path).\n`;
  const kindWidth = Math.max(...devices.map((device) => device.kind.length));
  const pathWidth = Math.max(...devices.map((device) => device.path.length));
  const rows = devices.map((device) => `${device.kind.padEnd(kindWidth)}  ${device.path.padEnd(pathWidth)}  → ${device.event}${device.name ? `  ${device.name}` : ''}`);
  const chosen = devices.filter((device) => device.kind !== 'other');
  const snippet = chosen.length === 0 ? 'No keyboard or mouse among them.' : `In a profile (both Ctrl keys switch them between host and guest):\n\n${inputSnippet(chosen)}`;
  return `${rows.join('\n')}\n\n${snippet}\n`;
}

export function listInput(options: ListInputOptions): CliOutput {
  const devices = readInputDevices(openSysroot(options.sysroot));
  return { stdout: options.json ? `${JSON.stringify(devices, null, 2)}\n` : renderInputText(devices), stderr: [], exitCode: 0 };
}
