/**
 * QEMU's command line as data: the words after the binary grouped into options (`-m 8192`,
 * `-enable-kvm`), and the values QEMU reads in them (booleans, sizes, numbers). An option's
 * `driver,key=value,…` text is split by lib/qemu/props.ts.
 */

/** Options that take no value (QEMU's qemu-options.hx entries without HAS_ARG), as scripts use them. */
const FLAGS = new Set([
  'enable-kvm', 'no-hpet', 'mem-prealloc', 'nographic', 'daemonize', 'nodefaults', 'no-user-config', 'no-reboot', 'no-shutdown',
  'S', 's', 'usb', 'no-acpi', 'no-fd-bootchk', 'snapshot', 'full-screen', 'no-quit', 'win2k-hack', 'rtc-td-hack',
  'no-kvm-pit-reinjection', 'localtime', 'no-frame', 'alt-grab', 'ctrl-grab', 'preconfig', 'only-migratable', 'sdl', 'curses',
  'no-kvm', 'no-kvm-irqchip', 'enable-fips', 'old-param', 'semihosting', 'version', 'help',
]);

export interface QemuOption {
  /** `-m`, always with one dash (QEMU takes `--m` too). */
  name: string;
  /** The value word, for options that take one. */
  value?: string;
  /** 1-based line in the script of the option's name. */
  line: number;
  /** The words as written. */
  words: string[];
}

interface LineWord {
  text: string;
  line: number;
}

/** Groups argv words into options; a word that is no option (a stray value) becomes an option of its own with an empty name. */
export function groupOptions(words: readonly LineWord[]): QemuOption[] {
  const options: QemuOption[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!/^--?[A-Za-z]/.test(word.text)) {
      options.push({ name: '', value: word.text, line: word.line, words: [word.text] });
      continue;
    }
    const name = `-${word.text.replace(/^--?/, '')}`;
    const next = words[i + 1];
    // Known flags take nothing; anything else takes the next word unless that is another option.
    const takesValue = !FLAGS.has(name.slice(1)) && next !== undefined && (KNOWN_WITH_VALUE.has(name.slice(1)) || !/^--?[A-Za-z]/.test(next.text));
    if (takesValue) {
      options.push({ name, value: next!.text, line: word.line, words: [word.text, next!.text] });
      i++;
    } else {
      options.push({ name, line: word.line, words: [word.text] });
    }
  }
  return options;
}

/** Options that always take a value, even one starting with a dash. */
const KNOWN_WITH_VALUE = new Set(['append', 'D', 'd', 'set', 'global', 'k']);

/** The QemuOpts spellings of a true or false value; undefined when it is neither. */
export function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return true;
  if (/^(on|yes|true|y|1)$/i.test(value)) return true;
  if (/^(off|no|false|n|0)$/i.test(value)) return false;
  return undefined;
}

/** QEMU's size syntax: `8192` (MiB for -m), `8G`, `8g`, `16384M`, `2048k`, a plain byte count with `B`. */
export function parseQemuSize(text: string, defaultUnit: 'M' | 'B'): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?$/.exec(text.trim());
  if (!match) return undefined;
  const scale = { '': defaultUnit === 'M' ? 2 ** 20 : 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Number(match[1]) * scale;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** `4318`, `0x10de` or `0X10DE` → a number; undefined otherwise. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^\d+$/.test(text)) return Number(text);
  return undefined;
}
