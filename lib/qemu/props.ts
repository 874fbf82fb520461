/**
 * QEMU option strings: `driver,key=value,...`. Props whose value is undefined are left out,
 * so builders can list every property and let absent profile keys drop away.
 */
export type PropValue = string | number | undefined;
export type PropList = readonly (readonly [key: string, value: PropValue])[];

/** In QemuOpts and keyval strings a literal comma is written twice. */
export const escapeOptionValue = (value: string) => value.replaceAll(',', ',,');

/** `formatProps('vfio-pci', [['host', '0000:01:00.0'], ['romfile', undefined]])` → `vfio-pci,host=0000:01:00.0`. */
export function formatProps(head: string | undefined, props: PropList): string {
  const parts = head === undefined ? [] : [head];
  for (const [key, value] of props) {
    if (value !== undefined) parts.push(`${key}=${escapeOptionValue(String(value))}`);
  }
  return parts.join(',');
}

export const onOff = (value: boolean | undefined) => (value === undefined ? undefined : value ? 'on' : 'off');

/** `0x10de`: how PCI ids and other hex numbers are written on the command line. */
export const hex = (value: number | undefined) => (value === undefined ? undefined : `0x${value.toString(16)}`);

// Reading them back, as QEMU's QemuOpts parser does (`,,` is a literal comma, a bare `key` means `key=on`):
// the import reads scripts with it, the libvirt export boot-vm's own -cpu and -smp.

export interface Prop {
  key: string;
  /** undefined for a bare `key` (QemuOpts reads it as `key=on`). */
  value?: string;
}

/** Splits `a,b=c,,d,e` at single commas: `[{key: a}, {key: b, value: 'c,d'}, {key: e}]`. */
export function splitProps(text: string): Prop[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === ',' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (char === ',') {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.filter((part) => part !== '').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? { key: part } : { key: part.slice(0, eq), value: part.slice(eq + 1) };
  });
}

/**
 * An option's value as its implied first value (`vfio-pci`, `q35`, `8192`) and its properties.
 * `impliedKey` names what a leading bare word is (QEMU's implied_opt_name); without one, a bare
 * word is a property set to on.
 */
export function parseOptionValue(text: string, impliedKey?: string): { head?: string; props: Map<string, string | undefined>; order: string[] } {
  const props = new Map<string, string | undefined>();
  const order: string[] = [];
  let head: string | undefined;
  splitProps(text).forEach((prop, index) => {
    if (index === 0 && impliedKey !== undefined && prop.value === undefined) {
      head = prop.key;
      return;
    }
    if (index === 0 && impliedKey !== undefined && prop.key === impliedKey) {
      head = prop.value;
      return;
    }
    props.set(prop.key, prop.value);
    order.push(prop.key);
  });
  return { head, props, order };
}
