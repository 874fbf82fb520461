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
