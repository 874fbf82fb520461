/** One QEMU option with its value split into properties, and how the import keeps what it cannot map. */
import type { Draft, Source } from './draft.js';
import { parseOptionValue } from '../qemu/props.js';
import type { QemuOption } from './qemu-props.js';

export interface ParsedOption extends QemuOption {
  head?: string;
  props: Map<string, string | undefined>;
  order: string[];
}

/** What a leading bare word of each option's value means (QEMU's implied_opt_name). */
const IMPLIED: Record<string, string> = {
  '-machine': 'type', '-M': 'type', '-cpu': 'model', '-smp': 'cpus', '-m': 'size', '-device': 'driver', '-object': 'qom-type',
  '-netdev': 'type', '-net': 'type', '-nic': 'type', '-numa': 'type', '-chardev': 'backend', '-tpmdev': 'type', '-display': 'type',
  '-accel': 'accel', '-boot': 'order', '-overcommit': '', '-realtime': '', '-rtc': '', '-drive': '', '-name': 'guest', '-audiodev': 'driver',
};

export const parseOption = (option: QemuOption): ParsedOption => {
  const implied = IMPLIED[option.name];
  return { ...option, ...(option.value === undefined ? { props: new Map(), order: [] } : parseOptionValue(option.value, implied === '' ? undefined : implied)) };
};

export const sourceOf = (option: QemuOption): Source => ({ text: option.words.join(' '), line: option.line });

/** Keeps the whole option verbatim. */
export function keep(draft: Draft, option: QemuOption): void {
  draft.keep(option.words, option.line);
}

/** Keeps some properties of an option as an option of their own: QEMU merges `-machine`, `-smp`, `-m`… given twice. */
export function keepProps(draft: Draft, option: ParsedOption, name: string, keys: string[], head?: string): void {
  const text = [...(head === undefined ? [] : [head]), ...keys.map((key) => (option.props.get(key) === undefined ? key : `${key}=${option.props.get(key)!.replaceAll(',', ',,')}`))].join(',');
  draft.keep([name, text], option.line);
}

/** A hugetlbfs mount is named for it in every guide (/dev/hugepages, /dev/hugepages1G, /mnt/huge). */
export function hugepagesOfPath(path: string): '2M' | '1G' | undefined {
  if (!/huge/i.test(path)) return undefined;
  return /1G/i.test(path) ? '1G' : '2M';
}

